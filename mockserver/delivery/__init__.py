"""Delivery: how a reply goes out, the same for every source.

``deliver(reply, faults, state, owner)`` applies the faults that end a reply
as failed, stores a Response the mock built as the caller's
(``state/owners.py``: what ``previous_response_id``,
``GET``, cancel and stream resume read back; its items added to the
conversation it continues), and sends it: plain JSON, or server-sent events
through the one pacer (``pacer.py``: delay, streaming physics, pings,
latency, dropped connections, disconnect logging) and the one SSE writer
(``sse.py``). A background response is stored with its clock and answered
at once with its ``queued`` snapshot (streamed, it streams as usual).
``deliver_events`` sends stored events again (stream resume) the same way.

What each fault acts on is listed in ``faults.py`` and in README ("Faults");
canned answers (a scenario's error, recorded replies) are not stored: they
are not Responses the mock made.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Response, current_app

from schemas.behaviour import Behaviour
from schemas.recording import is_event

from ..config import Pacing
from ..faultspec import NO_FAULTS, Faults
from ..jsontext import EncodedJSON
from ..reply import CannedReply, RelayedStream, Reply, ResponseReply
from ..reply.response import failed_response
from ..state import records
from ..state.owners import put_owned, update_owned
from ..state.store import CONVERSATIONS
from . import faults as injected
from . import sse
from .pacer import Chunk, event_chunks, paced

if TYPE_CHECKING:
    from ..state import MockState


def deliver(reply: Reply, faults: Faults, state: MockState, owner: str) -> Response:
    """The HTTP response that sends ``reply`` with ``faults``, after storing what is to be stored as ``owner``'s."""
    if isinstance(reply, ResponseReply):
        return _deliver_response(reply, faults, state, owner)
    if isinstance(reply, RelayedStream):
        return _deliver_relayed(reply, faults, state)
    return _deliver_canned(reply, faults, state)


def _deliver_response(reply: ResponseReply, faults: Faults, state: MockState, owner: str) -> Response:
    message = injected.failure_message(faults, streamed=reply.streamed)
    final = reply.response
    if not reply.streamed:
        if message is not None:
            final = failed_response(final, message, reply.behaviour)
        body = None if reply.background else _json(final)  # encoded once: the HTTP body and the stored record
        created = _store(reply, final, state, owner, encoded=body)
        if body is None:
            body = _json(records.response_now(created, created["background"]["created"]) if created else final)
        return _plain(200, {}, body, faults, state)
    events: Iterable[dict[str, Any]] = reply.events()  # cut as they are sent, unless a fault needs them all
    cut = message is not None
    if cut:
        fail = functools.partial(_failed, message, reply.behaviour)
        events, final = injected.cut_events(final, list(events), faults, fail, reply.behaviour.failed_response_code)
    _store(reply, final, state, owner, events=events if cut else None)
    return deliver_events(events, state, label=final["id"], faults=faults, pacing=reply.pacing, seed=reply.chunk_seed)


def deliver_events(
    events: Iterable[dict[str, Any]],
    state: MockState,
    *,
    label: str,
    faults: Faults | None = None,
    pacing: Pacing | None = None,
    seed: int | None = None,
) -> Response:
    """Send generated (or stored) events as SSE: ``--stream-delay``, the streaming physics, pings, wire faults.

    ``seed`` is the server seed the reply was made with (read once per
    request, so its text and its pacing agree); else it is read now.
    """
    chunks = event_chunks(
        events,
        delay=state.config.stream_delay,
        pacing=pacing or state.config.pacing,
        seed=state.seed if seed is None else seed,
    )
    return _stream(200, {}, chunks, faults or NO_FAULTS, state, label=label)


def _deliver_canned(reply: CannedReply, faults: Faults, state: MockState) -> Response:
    behaviour = state.behaviour
    message = injected.failure_message(faults, streamed=reply.streamed)
    if reply.blocks is None:
        body = reply.body
        recorded = injected.json_response_body(body) if message is not None and reply.status == 200 else None
        if recorded is not None and message is not None:
            body = _json(failed_response(recorded, message, behaviour))
        if reply.wait > 0:
            time.sleep(reply.wait)  # the recorded reply's time
        return _plain(reply.status, reply.headers, body, faults, state)
    blocks, waits = reply.blocks, reply.waits or (0.0,) * len(reply.blocks)
    if message is not None:
        fail = functools.partial(_failed, message, behaviour)
        blocks, waits, _ = injected.cut_blocks(blocks, waits, faults, fail, behaviour.failed_response_code)
    chunks = (Chunk(block, wait=wait, event=is_event(block)) for block, wait in zip(blocks, waits, strict=True))
    return _stream(reply.status, reply.headers, chunks, faults, state, label="(canned)")


def _deliver_relayed(reply: RelayedStream, faults: Faults, state: MockState) -> Response:
    """A stream relayed block by block as it arrives: its length is unknown, so only the wire faults apply
    (latency, ``drop-after``); the upstream is closed when the client's response ends, finished or not."""
    chunks = (Chunk(block, event=is_event(block)) for block in reply.blocks)
    response = _stream(reply.status, reply.headers, chunks, faults, state, label="(relayed)")
    response.call_on_close(reply.close)
    return response


def _failed(
    message: str, behaviour: Behaviour, response: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """``response`` failed with ``message``, keeping ``items`` (``reply/`` builds it)."""
    return failed_response(response, message, behaviour, items)


def _store(
    reply: ResponseReply,
    final: dict[str, Any],
    state: MockState,
    owner: str,
    *,
    events: list[dict[str, Any]] | None = None,
    encoded: bytes | None = None,
) -> dict[str, Any] | None:
    """Keep ``final`` (the Response the client ends with) as ``owner``'s, for ``previous_response_id``, ``GET``,
    cancel and resume.

    The record says how its stream is cut (``stream``), keeps the events
    only when they cannot be cut again (``events``: a fault cut them), and
    a background response's clock. The turn's input and output are added
    to the conversation it continues. Returns the record stored, if any.
    ``encoded``: ``final`` as the HTTP body has it, bytes the record takes
    as they are instead of encoding the Response a second time.
    """
    if reply.conversation_id is not None:
        _add_to_conversation(state, owner, reply.conversation_id, [*reply.conversation_input, *final["output"]])
    if reply.record is None:
        return None
    record: dict[str, Any] = {
        "response": final,
        "input_items": reply.record["input_items"],
        "conversation": reply.record["conversation"] + final["output"],
        "stream": {"seed": reply.chunk_seed, "family": reply.reasoning_family},
    }
    if events is not None:
        record["events"] = events
    if reply.background:
        record["background"] = records.background_clock(records.now(), state.config.background_pace)
    kept = record if encoded is None else {**record, "response": EncodedJSON(encoded)}  # no second encoding
    put_owned(state.store, final["id"], kept, owner)
    return record


def _add_to_conversation(state: MockState, owner: str, conversation_id: str, new_items: list[dict[str, Any]]) -> None:
    """Append this turn's input and output items to ``owner``'s conversation (atomically: concurrent turns keep
    theirs)."""

    def change(conversation: dict[str, Any]) -> dict[str, Any]:
        return {**conversation, "items": conversation["items"] + new_items}

    update_owned(state.store, conversation_id, change, owner, kind=CONVERSATIONS)


def _json(value: Any) -> bytes:
    """A JSON body as the app encodes it (key order per profile, UTF-8 as is)."""
    return current_app.json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"


def _plain(status: int, headers: dict[str, str], body: bytes, faults: Faults, state: MockState) -> Response:
    response = Response(injected.plain_body(body, faults, state.rng), status=status, mimetype="application/json")
    response.headers.update(headers)
    if faults.drop_after is not None:
        response.headers["Content-Length"] = str(len(body))  # promised in full, cut short on the wire
    return response


def _stream(
    status: int, headers: dict[str, str], chunks: Any, faults: Faults, state: MockState, *, label: str
) -> Response:
    body = paced(chunks, ping_every=state.config.ping_every, faults=faults, rng=state.rng, label=label)
    response = Response(body, status=status, mimetype=sse.MIMETYPE, headers=sse.HEADERS)
    response.headers.update(headers)
    return response
