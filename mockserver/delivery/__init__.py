"""Delivery: how a reply goes out, the same for every source.

``deliver(reply, faults, state, owner)`` applies the faults that end a reply
as failed, stores a Response the mock built as the caller's (what
``previous_response_id`` and ``GET`` read back, ``state/owners.py``), and
sends it: plain JSON, or server-sent events through the one pacer
(``pacer.py``: delay, pings, latency, dropped connections, disconnect
logging) and the one SSE writer (``sse.py``).

What each fault acts on is listed in ``faults.py`` and in README ("Faults");
canned answers (a scenario's error, recorded replies) are not stored: they
are not Responses the mock made.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from flask import Response, current_app

from schemas.behaviour import Behaviour
from schemas.recording import is_event

from ..faultspec import Faults
from ..reply import CannedReply, Reply, ResponseReply
from ..reply.response import failed_response
from ..state.owners import put_owned
from . import faults as injected
from . import sse
from .pacer import Chunk, paced

if TYPE_CHECKING:
    from ..state import MockState


def deliver(reply: Reply, faults: Faults, state: MockState, owner: str) -> Response:
    """The HTTP response that sends ``reply`` with ``faults``, after storing what is to be stored as ``owner``'s."""
    if isinstance(reply, ResponseReply):
        return _deliver_response(reply, faults, state, owner)
    return _deliver_canned(reply, faults, state)


def _deliver_response(reply: ResponseReply, faults: Faults, state: MockState, owner: str) -> Response:
    message = injected.failure_message(faults, streamed=reply.streamed)
    final = reply.response
    if not reply.streamed:
        if message is not None:
            final = failed_response(final, message, reply.behaviour)
        _store(reply, final, state, owner)
        return _plain(200, {}, _json(final), faults, state)
    events = reply.events()
    if message is not None:
        fail = functools.partial(_failed, message, reply.behaviour)
        events, final = injected.cut_events(final, events, faults, fail, reply.behaviour.failed_response_code)
    _store(reply, final, state, owner)
    delay = state.config.stream_delay
    chunks = (Chunk(sse.encode_event(event), wait=delay if index else 0.0) for index, event in enumerate(events))
    return _stream(200, {}, chunks, faults, state, label=final["id"])


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


def _failed(
    message: str, behaviour: Behaviour, response: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """``response`` failed with ``message``, keeping ``items`` (``reply/`` builds it)."""
    return failed_response(response, message, behaviour, items)


def _store(reply: ResponseReply, final: dict[str, Any], state: MockState, owner: str) -> None:
    """Keep ``final`` (the Response the client ends with) as ``owner``'s, for ``previous_response_id`` and ``GET``."""
    if reply.record is None:
        return
    conversation = reply.record["conversation"] + final["output"]
    record = {"response": final, "input_items": reply.record["input_items"], "conversation": conversation}
    put_owned(state.store, final["id"], record, owner)


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
