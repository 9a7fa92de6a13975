"""Stored responses: create, retrieve, list input items, chain, delete, then 404.

One test walks the whole life of a stored response, because each step needs
the one before (and live, each step is a paid request). When the target does
not store responses (``GET`` right after create is a 404), the test is
skipped with that reason rather than failed.
"""

from __future__ import annotations

import pytest

from . import checks
from .session import ContractSession

FIRST = "My name is Ada. Please remember it."
SECOND = "What is my name?"


def test_a_stored_response_can_be_retrieved_listed_chained_and_deleted(contract: ContractSession) -> None:
    target = contract.target
    first_request = {"model": contract.model, "input": FIRST, "store": True}
    created = target.create(first_request)
    first = contract.expect_reply(first_request, created, "create (store: true)")
    response_id = first["id"]

    fetched = target.get(f"/responses/{response_id}")
    if fetched.status == 404:
        pytest.skip("the target does not store responses: GET right after create is a 404")
    contract.expect(
        checks.reply_status(fetched) or checks.same_json(first, fetched.json), fetched, "GET the created response"
    )

    items = target.get(f"/responses/{response_id}/input_items")
    contract.expect(checks.input_items(items, contract.profile, [FIRST]), items, "GET input_items")

    second_request = {"model": contract.model, "input": SECOND, "previous_response_id": response_id}
    chained = target.create(second_request)
    second = contract.expect_reply(second_request, chained, "create with previous_response_id")
    before, after = (first.get("usage") or {}).get("input_tokens"), (second.get("usage") or {}).get("input_tokens")
    if isinstance(before, int) and isinstance(after, int) and after <= before:
        contract.expect(
            [
                checks.Finding(
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
    findings = checks.reply_status(deleted) if deleted.status != 200 or deleted.text.strip() else []
    if deleted.status == 200 and isinstance(deleted.json, dict):
        findings = checks.deleted(deleted.json, contract.profile, response_id)
    contract.expect([checks.Finding("delete", f.path, f.message) for f in findings], deleted, "DELETE the response")

    gone = target.get(f"/responses/{response_id}")
    contract.expect_error(gone, "GET after DELETE", "not_found")
