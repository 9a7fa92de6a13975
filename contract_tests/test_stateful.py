"""Stored responses: a chain through ``previous_response_id``, and the stored-response routes as the profile has them.

One test walks the whole life of a stored response, because each step needs
the one before (and live, each step is a paid request).

- gateway profile: new-api relays only ``POST /v1/responses``, so the chain
  goes through ``previous_response_id`` (which it relays) and ``GET``/``DELETE
  /v1/responses/{id}`` and ``input_items`` must answer its NoRoute 404; a
  target that serves them anyway is reported (an observation), not failed.
- openai profile: create, retrieve, list input items, chain, delete, then 404.
  A target that does not store responses (``GET`` right after create is a 404)
  skips the test with that reason.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from . import checks
from .session import ContractSession

FIRST = "My name is Ada. Please remember it."
SECOND = "What is my name?"


def test_a_stored_response_can_be_chained_and_its_routes_answer_as_the_profile_says(contract: ContractSession) -> None:
    target = contract.target
    first_request = {"model": contract.model, "input": FIRST, "store": True}
    created = target.create(first_request)
    first = contract.expect_reply(first_request, created, "create (store: true)")
    response_id = first["id"]
    routed = contract.behaviour.unrouted is None

    fetched = target.get(f"/responses/{response_id}")
    if routed and fetched.status == 404:
        pytest.skip("the target does not store responses: GET right after create is a 404")
    _stored_route(contract, fetched, "GET", f"/responses/{response_id}", checks.same_json(first, fetched.json))

    items = target.get(f"/responses/{response_id}/input_items")
    _stored_route(
        contract,
        items,
        "GET",
        f"/responses/{response_id}/input_items",
        checks.input_items(items, contract.profile, [FIRST]),
    )

    second_request = {"model": contract.model, "input": SECOND, "previous_response_id": response_id}
    chained = target.create(second_request)
    second = contract.expect_reply(second_request, chained, "create with previous_response_id")
    before = (checks.object_or_empty(first.get("usage"))).get("input_tokens")
    after = (checks.object_or_empty(second.get("usage"))).get("input_tokens")
    if isinstance(before, int) and isinstance(after, int) and after <= before:
        contract.expect(
            [
                checks.finding(
                    "chain",
                    "/usage/input_tokens",
                    f"{after} input tokens for the second turn, not more than the first turn's {before}: "
                    "the earlier turn was not included",
                )
            ],
            chained,
            "create with previous_response_id",
        )

    deleted = target.delete(f"/responses/{response_id}")
    found = checks.reply_status(deleted) if deleted.status != 200 or deleted.text.strip() else []
    if deleted.status == 200 and isinstance(deleted.json, dict):
        found = checks.deleted(deleted.json, contract.profile, response_id)
    _stored_route(
        contract,
        deleted,
        "DELETE",
        f"/responses/{response_id}",
        [checks.finding("delete", f.path, f.message) for f in found],
    )
    if routed:
        gone = target.get(f"/responses/{response_id}")
        contract.expect_error(gone, "GET after DELETE", "not_found")


def _stored_route(contract: ContractSession, reply, method: str, path: str, served_findings: list) -> None:
    """A stored-response route: the gateway's NoRoute 404 (an observation if served), else the route's own checks."""
    what = f"{method} {path}"
    full_path = urlsplit(contract.target.base_url).path.rstrip("/") + path
    if contract.behaviour.unrouted is None:
        contract.expect(served_findings, reply, what)
        return
    found = checks.unrouted(reply, contract.profile, method, full_path)
    if any(f.rule == "retrieval_route" for f in found):
        found += served_findings  # served after all: it must at least be right
    contract.expect(found, reply, what)
