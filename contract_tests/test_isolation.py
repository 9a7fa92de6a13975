"""Isolation: a response stored with one key is refused to another key, exactly as an id that never existed.

OpenAI scopes stored responses to the project that created them. A gateway
that serves many customers from one upstream account may not: its keys all
reach the same upstream store, so one customer could continue, read or
delete another's responses. This check can find that leak on a live target.

With a second key (``--contract-second-api-key``, env ``CONTRACT_SECOND_API_KEY``,
ideally another customer's; the in-process mock has one of its own), one test:

1. the first key creates a stored response;
2. the second key tries it through the stored-response routes the target
   serves (not cancel, stream resume or the Conversations API, which the
   mock isolates and tests in its own tests, but this check does not yet
   try on a live target): a follow-up with ``previous_response_id`` (always, beside one with an id
   that never existed), then, where served, ``GET``, ``input_items`` and
   ``DELETE``, beside a ``GET`` of an id that never existed. Any success is
   a leak (``[isolation]``, a violation); a refusal that differs from the
   unknown id's tells that the response exists (``[isolation_existence]``,
   an observation);
3. the first key still continues its response, and where the routes are
   served retrieves it (before the second key's attempts too: a target
   whose ``GET`` finds nothing keeps nothing to leak), then deletes it.

Every request counts against the run's budget: 5 where the stored routes
are not served (the gateway's NoRoute), 11 where they are. Without a second
key the test skips, saying how to enable it.

A second test does the same for the stateful lifecycle where the target
serves it (probed once, as ``test_lifecycle.py`` does; the gateway does not):
the second key may not cancel the first key's background response, resume
its stream, nor read, list or delete its conversation (14 requests).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import pytest

from . import checks, lifecycle
from .options import SECOND_KEY_OPTION, SECOND_KEY_VARIABLE
from .session import ContractSession
from .target import Target

FIRST = "My name is Ada. Please remember it."
FOLLOW_UP = "What is my name?"

#: Why the check skips against a live target given one key, and how to turn it on.
NO_SECOND_KEY = (
    f"isolation between keys not checked: no second key. Set {SECOND_KEY_VARIABLE} (or pass {SECOND_KEY_OPTION}) "
    "to a second key of the target, ideally another customer's, to check that it cannot reach the first key's "
    "stored responses"
)


def test_a_second_key_cannot_reach_what_the_first_key_stored(contract: ContractSession) -> None:
    second = contract.second_target()
    if second is None:
        pytest.skip(NO_SECOND_KEY)
    first = contract.target
    created_request = {"model": contract.model, "input": FIRST, "store": True}
    created = contract.expect_reply(created_request, first.create(created_request), "create (store: true), first key")
    response_id = created["id"]
    follow_up = {"model": contract.model, "input": FOLLOW_UP, "previous_response_id": response_id}

    _second_key_cannot_continue_it(contract, second, follow_up, response_id)
    served = _second_key_cannot_reach_it_by_route(contract, second, response_id)

    _first_key_still_has_it(contract, follow_up, created, served)


def _first_key_still_has_it(contract: ContractSession, follow_up: dict, created: dict, served: bool) -> None:
    """After the second key's attempts the first key continues its response (and retrieves, then deletes it)."""
    first, response_id = contract.target, created["id"]
    what = "create with previous_response_id, first key, after the second key's attempts"
    mine = first.create(follow_up)
    if mine.status != 200:
        message = f"the first key's own follow-up of {response_id} got HTTP {mine.status}: {mine.text[:200]}"
        contract.expect([checks.finding("chain", "", message)], mine, what)
    contract.expect_reply(follow_up, mine, what)
    if served:
        fetched = first.get(f"/responses/{response_id}")
        found = checks.reply_status(fetched) or checks.same_json(created, fetched.json)
        contract.expect(found, fetched, "GET, first key, after the second key's attempts")
        first.delete(f"/responses/{response_id}")  # leave nothing behind on the target


def _second_key_cannot_continue_it(
    contract: ContractSession, second: Target, follow_up: dict, response_id: str
) -> None:
    """``previous_response_id`` with the second key: refused, and refused as an id that never existed."""
    what = "create with the first key's previous_response_id, second key"
    theirs = second.create(follow_up)
    unknown_id = _unknown_like(response_id)
    unknown = second.create({**follow_up, "previous_response_id": unknown_id})
    contract.expect(checks.leaked_follow_up(theirs, unknown, response_id), theirs, what)
    unknown_error = unknown.json.get("error") if isinstance(unknown.json, dict) else None
    if unknown.status != 200:
        contract.expect(checks.refused_alike(theirs, unknown.status, unknown_error, what), theirs, what)


def _second_key_cannot_reach_it_by_route(contract: ContractSession, second: Target, response_id: str) -> bool:
    """``GET``, ``input_items`` and ``DELETE`` with the second key, where served; whether they are served.

    In the gateway profile the routes are served only when ``GET`` is not
    new-api's NoRoute 404 (a target that serves them anyway must isolate
    them too); a target whose ``GET`` does not find the first key's own
    response either keeps none to leak. Each refusal must be what the second
    key gets for an id that never existed (``GET`` of one, asked once).
    """
    path = f"/responses/{response_id}"
    theirs = second.get(path)
    if checks.is_no_route(theirs, contract.profile, "GET", urlsplit(second.base_url).path.rstrip("/") + path):
        return False
    contract.expect(checks.leaked_route(theirs, f"GET {path}", response_id), theirs, f"GET {path}, second key")
    if contract.target.get(path).status == 404:
        return False  # the first key's own GET is a 404 too: this target keeps no responses to GET
    unknown = second.get(f"/responses/{_unknown_like(response_id)}")
    unknown_error = unknown.json.get("error") if isinstance(unknown.json, dict) else None
    for method, route in (("GET", path), ("GET", f"{path}/input_items"), ("DELETE", path)):
        reply = theirs if route == path and method == "GET" else second.request(method, route)
        what = f"{method} {route}, second key"
        contract.expect(checks.leaked_route(reply, f"{method} {route}", response_id), reply, what)
        contract.expect(checks.refused_alike(reply, unknown.status, unknown_error, what), reply, what)
    return True


def test_background_streams_and_conversations_stay_with_their_key(contract: ContractSession) -> None:
    """Cancel, stream resume and the Conversations API: the second key gets what an unknown id gets."""
    second = contract.second_target()
    if second is None:
        pytest.skip(NO_SECOND_KEY)
    reason = lifecycle.probe(contract)
    if reason is not None:
        pytest.skip(reason)
    first = contract.target
    request = {"model": contract.model, "input": FIRST, "background": True, "store": True}
    created = first.create(request)
    contract.expect(checks.reply_status(created), created, "create (background: true), first key")
    response_id = created.json.get("id") if isinstance(created.json, dict) else None
    if not isinstance(response_id, str):
        return
    _refused_as_unknown(
        contract,
        second,
        response_id,
        "response",
        [("POST", "/responses/{}/cancel"), ("GET", "/responses/{}?stream=true&starting_after=0")],
    )
    made = first.post("/conversations", {"metadata": {"suite": "isolation"}})
    contract.expect(checks.reply_status(made), made, "POST /conversations, first key")
    conversation_id = made.json.get("id") if isinstance(made.json, dict) else None
    if not isinstance(conversation_id, str):
        return
    routes = [("GET", "/conversations/{}"), ("GET", "/conversations/{}/items"), ("DELETE", "/conversations/{}")]
    _refused_as_unknown(contract, second, conversation_id, "conversation", routes)
    mine = first.get(f"/conversations/{conversation_id}")
    contract.expect(checks.reply_status(mine), mine, "GET /conversations, first key, after the second key's attempts")
    first.delete(f"/conversations/{conversation_id}")  # leave nothing behind on the target


def _refused_as_unknown(
    contract: ContractSession, second: Target, record_id: str, kind: str, routes: list[tuple[str, str]]
) -> None:
    """Each ``(method, route)`` with the first key's ``record_id``, second key: no 2xx, refused as an unknown id."""
    for method, route in routes:
        theirs = second.request(method, route.format(record_id))
        unknown = second.request(method, route.format(_unknown_like(record_id)))
        unknown_error = unknown.json.get("error") if isinstance(unknown.json, dict) else None
        what = f"{method} {route.format(record_id)}, second key"
        contract.expect(
            checks.leaked_route(theirs, f"{method} {route.format(record_id)}", record_id, kind), theirs, what
        )
        contract.expect(checks.refused_alike(theirs, unknown.status, unknown_error, what), theirs, what)


def _unknown_like(response_id: str) -> str:
    """An id shaped like ``response_id`` (its prefix, a random rest of its length) that was never created."""
    prefix, _, rest = response_id.rpartition("_")
    return (prefix + "_" if prefix else "") + secrets.token_hex(max(len(rest), 16))[: max(len(rest), 16)]
