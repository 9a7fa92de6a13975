"""The stateful lifecycle: background polling, cancel, stream resume, input token counting, conversations.

These run only where the target serves OpenAI's stateful Responses API:
one cheap request (``POST /responses/input_tokens``) finds out, once per run
(``lifecycle.probe``). Where it does not (the gateway today: new-api routes
none of these, and its upstream answers ``background`` synchronously),
every check skips, saying so.

- background: created ``queued`` or ``in_progress``, polled with ``GET``
  until it finishes, the finished reply checked like any reply;
- cancel: a background response cancelled at once is ``cancelled``, and
  ``GET`` agrees; cancelling it again changes nothing; a response that was
  not created in the background cannot be cancelled (a 4xx);
- stream resume: ``GET /responses/{id}?stream=true&starting_after=3`` sends
  the stored events from sequence number 4 on, checked by the stream
  validator in resumed mode against the stored reply, and equal to the
  original stream's events from there;
- input tokens: ``POST /responses/input_tokens`` counts a positive integer,
  the ``usage.input_tokens`` of the same request (a difference is an
  observation: counts are estimates);
- conversations: created, used by two responses, listing their items (at
  least four), deleted, then unknown.
"""

from __future__ import annotations

import pytest

import schemas
from schemas import events as event_types
from schemas.stream import TERMINAL, parse_sse, validate_sse

from . import checks, lifecycle
from .session import ContractSession

QUESTION = "In one sentence, what is a lighthouse for?"


@pytest.fixture(scope="module", autouse=True)
def served(contract: ContractSession) -> None:
    """Skip the module where the target does not serve the stateful lifecycle (probed once per run)."""
    reason = lifecycle.probe(contract)
    if reason is not None:
        pytest.skip(reason)


def _created(contract: ContractSession, request: dict, what: str) -> dict:
    reply = contract.target.create(request)
    if lifecycle.unserved(reply):
        pytest.skip(f"the target does not serve {what}: HTTP {reply.status}")
    contract.expect(checks.reply_status(reply), reply, what)
    return reply.json


def test_a_background_response_is_polled_until_it_finishes(contract: ContractSession) -> None:
    request = {"model": contract.model, "input": QUESTION, "background": True, "store": True}
    body = _created(contract, request, "create (background: true)")
    contract.expect(checks.reply_schema(body, contract.profile), None, "create (background: true)")
    found = []
    if body.get("background") is not True:
        found.append(
            checks.finding("background", "/background", f"background: true echoed as {body.get('background')!r}")
        )
    if body.get("status") not in ("queued", "in_progress", "completed"):
        found.append(checks.finding("background", "/status", f"a new background response is {body.get('status')!r}"))
    contract.expect(found, None, "create (background: true)")
    reply, polls = lifecycle.poll(contract, body["id"], lambda b: b.get("status") not in ("queued", "in_progress"))
    final = contract.expect_reply(request, reply, f"GET after {polls} polls")
    if final.get("status") in ("queued", "in_progress"):
        contract.expect(
            [checks.finding("background", "/status", f"still {final['status']} after {polls} polls")], reply, "poll"
        )


def test_a_background_response_can_be_cancelled(contract: ContractSession) -> None:
    request = {"model": contract.model, "input": QUESTION, "background": True, "store": True}
    body = _created(contract, request, "create (background: true)")
    cancelled = contract.target.post(f"/responses/{body['id']}/cancel")
    if cancelled.status >= 400:
        retrieved = contract.target.get(f"/responses/{body['id']}")
        if isinstance(retrieved.json, dict) and retrieved.json.get("status") not in ("queued", "in_progress"):
            pytest.skip("the background response finished before it could be cancelled")
    contract.expect(checks.reply_status(cancelled), cancelled, "POST /responses/{id}/cancel")
    contract.expect(checks.reply_schema(cancelled.json, contract.profile), cancelled, "cancel")
    found = []
    if cancelled.json.get("status") != "cancelled":
        found.append(checks.finding("cancel", "/status", f"cancel answered status {cancelled.json.get('status')!r}"))
    retrieved = contract.target.get(f"/responses/{body['id']}")
    if not isinstance(retrieved.json, dict) or retrieved.json.get("status") != "cancelled":
        status = retrieved.json.get("status") if isinstance(retrieved.json, dict) else retrieved.status
        found.append(checks.finding("cancel", "/status", f"GET after cancel says {status!r}, not 'cancelled'"))
    again = contract.target.post(f"/responses/{body['id']}/cancel")
    if again.status != 200 or not isinstance(again.json, dict) or again.json.get("status") != "cancelled":
        found.append(checks.finding("cancel", "", f"cancelling again answered HTTP {again.status}: {again.text[:160]}"))
    contract.expect(found, retrieved, "cancel, then GET and cancel again")
    plain = _created(contract, {"model": contract.model, "input": QUESTION}, "create")
    refused = contract.target.post(f"/responses/{plain['id']}/cancel")
    contract.expect_error(refused, "cancel of a response not created in the background")


def test_a_streamed_response_resumes_after_a_sequence_number(contract: ContractSession) -> None:
    request = {"model": contract.model, "input": QUESTION, "stream": True, "store": True}
    streamed = contract.target.create(request)
    final = contract.expect_stream(request, streamed, "streamed request")
    original = [e.json for e in parse_sse(streamed.text).events if isinstance(e.json, dict)]
    if final is None or len(original) < 5:
        pytest.skip("the stream is too short to resume after event 3")
    resumed = contract.target.get(f"/responses/{final['id']}?stream=true&starting_after=3")
    if lifecycle.unserved(resumed):
        pytest.skip(f"the target does not resume streams: HTTP {resumed.status}")
    stored = contract.target.get(f"/responses/{final['id']}")
    found = [
        checks.finding(f"stream.{v.rule}", f"event #{v.index} ({v.event_type}){v.path}", v.message)
        for v in validate_sse(resumed.text, contract.profile, starting_after=3, stored=stored.json)
    ]
    events = [e.json for e in parse_sse(resumed.text).events if isinstance(e.json, dict)]
    if not events or events[0].get("sequence_number") != 4:
        first = events[0].get("sequence_number") if events else None
        found.append(
            checks.finding("stream_resume", "", f"the resumed stream starts at sequence number {first!r}, not 4")
        )
    if events and events[-1].get("type") not in TERMINAL:
        found.append(checks.finding("stream_resume", "", f"the resumed stream ends with {events[-1].get('type')!r}"))
    if [_comparable(e) for e in events] != [_comparable(e) for e in original[4:]]:
        found.append(
            checks.finding("stream_resume", "", "the resumed events differ from the original stream's from #4")
        )
    contract.expect(found, resumed, "GET /responses/{id}?stream=true&starting_after=3")


def _comparable(event: dict) -> dict:
    """An event without ``obfuscation``: OpenAI pads deltas with random characters, new on every send."""
    return {key: value for key, value in event.items() if key != "obfuscation"}


def test_input_tokens_are_counted_as_usage_would_charge_them(contract: ContractSession) -> None:
    request = {"model": contract.model, "input": QUESTION, "instructions": "Answer briefly."}
    counted = contract.target.post("/responses/input_tokens", request)
    contract.expect(checks.reply_status(counted), counted, "POST /responses/input_tokens")
    found = [
        checks.finding("input_tokens", v.path, v.message)
        for v in schemas.validate(counted.json, "input_tokens", "openai")
    ]
    count = counted.json.get("input_tokens")
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        found.append(checks.finding("input_tokens", "/input_tokens", f"{count!r} is not a positive integer"))
    contract.expect(found, counted, "POST /responses/input_tokens")
    created = contract.expect_reply(request, contract.target.create(request), "create")
    charged = checks.object_or_empty(created.get("usage")).get("input_tokens")
    if charged != count:
        contract.expect(
            [checks.finding("input_tokens_match", "/input_tokens", f"counted {count}, the reply charged {charged}")],
            counted,
            "input_tokens against usage",
        )


def test_a_conversation_keeps_the_items_of_its_responses(contract: ContractSession) -> None:
    target = contract.target
    created = target.post("/conversations", {"metadata": {"suite": "contract"}})
    if lifecycle.unserved(created):
        pytest.skip(f"the target does not serve the Conversations API: HTTP {created.status}")
    contract.expect(checks.reply_status(created), created, "POST /conversations")
    conversation = created.json
    found = [
        checks.finding("conversation", v.path, v.message)
        for v in schemas.validate(conversation, "conversation", "openai")
    ]
    contract.expect(found, created, "POST /conversations")
    cid = conversation["id"]
    for text in ("My name is Ada.", "What is my name?"):
        request = {"model": contract.model, "input": text, "conversation": cid}
        contract.expect_reply(request, target.create(request), "create with conversation")
    listed = target.get(f"/conversations/{cid}/items?order=asc&limit=100")
    contract.expect(checks.reply_status(listed), listed, "GET /conversations/{id}/items")
    found = [
        checks.finding("conversation", v.path, v.message)
        for v in schemas.validate(listed.json, "conversation_item_list", "openai")
    ]
    items = listed.json.get("data") if isinstance(listed.json.get("data"), list) else []
    if len(items) < 4:
        found.append(
            checks.finding("conversation", "/data", f"{len(items)} items after two turns, at least 4 expected")
        )
    deleted = target.delete(f"/conversations/{cid}")
    contract.expect(checks.reply_status(deleted), deleted, "DELETE /conversations/{id}")
    found += [
        checks.finding("conversation", v.path, v.message)
        for v in schemas.validate(deleted.json, "conversation_deleted", "openai")
    ]
    contract.expect(found, listed, "conversation items and delete")
    gone = target.get(f"/conversations/{cid}")
    contract.expect_error(gone, "GET after DELETE /conversations/{id}", "conversation_not_found")


def test_the_output_text_deltas_of_a_resumed_stream_end_the_reply_text(contract: ContractSession) -> None:
    """A resumed stream's text deltas are the end of the stored reply's text (what a client appends)."""
    request = {"model": contract.model, "input": QUESTION, "stream": True, "store": True}
    final = contract.expect_stream(request, contract.target.create(request), "streamed request")
    if final is None:
        pytest.skip("no final response")
    resumed = contract.target.get(f"/responses/{final['id']}?stream=true&starting_after=5")
    deltas = "".join(
        str(e.json.get("delta", ""))
        for e in parse_sse(resumed.text).events
        if isinstance(e.json, dict) and e.json.get("type") == event_types.OUTPUT_TEXT_DELTA
    )
    text = checks.output_text(final)
    if not text.endswith(deltas):
        contract.expect(
            [checks.finding("stream_resume", "", f"the resumed deltas ({deltas[:40]!r}) do not end the reply text")],
            resumed,
            "resumed text",
        )
