"""Injected faults, applied: for testing how clients survive a bad day upstream.

Which faults a request gets is decided here (``for_request``): the
``X-Mock-Fault`` header's, else the configured ``--fault`` ones for a
``--fault-rate`` share of create requests; ``times=N`` is counted in the
store, so every worker sharing it shares the count. The spec itself is
parsed by ``faultspec.py``.

What they do, on every reply a source makes (README, "Faults"):

- ``first-byte`` and ``status`` act before any source is asked (the view);
- ``rate-limit-200``, ``stream-error`` and ``stream-failed`` end the reply as
  failed: a generated stream, a recorded stream (cut after N events, then an
  ``error`` event or ``response.failed``), a plain Response (``status:
  "failed"``); the failed Response itself is built by ``reply/``;
- ``latency`` and ``drop-after`` act on the wire (``pacer.py`` for streams,
  ``plain_body`` here for plain bodies).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from schemas.recording import is_event
from schemas.stream import parse_sse

from ..faultspec import NO_FAULTS, Faults, checked, parse
from ..reply.events import done_items, error_event, failed_event, is_terminal
from ..state.store import FAULT_GENERATION, Store
from .sse import encode_event

log = logging.getLogger("mockserver")

RATE_LIMIT_MESSAGE = "Requests rate limit exceeded, please try again later. (injected by the mock)"
STREAM_FAILURE_MESSAGE = "The model failed while generating the response. (injected by the mock)"


class ConnectionDropped(Exception):
    """Raised inside a reply's body to make the WSGI server cut the connection."""


def for_request(header: str | None, configured: Faults, rate: float, store: Store, rng: random.Random) -> Faults:
    """The faults this request gets: the header's, else the configured ones for a ``rate`` share of requests.

    A header that cannot be read raises ``faultspec.FaultSpecError``.
    """
    if header is not None:
        faults = checked(parse(header))
    elif configured is NO_FAULTS or rng.random() >= rate:
        return NO_FAULTS
    else:
        faults = configured
    if faults.times is not None and not _within_times(faults, store):
        return NO_FAULTS
    return faults


def _within_times(faults: Faults, store: Store) -> bool:
    """Count this use of the spec (in the store, so all workers share it) and say if it is one of the first N."""
    generation = store.get_value(FAULT_GENERATION, 0)
    return store.incr(f"fault:{generation}:{faults.spec}") <= (faults.times or 0)


def wait_first_byte(faults: Faults) -> None:
    """``first-byte``: nothing at all is sent for S seconds."""
    if faults.first_byte:
        time.sleep(faults.first_byte)


def latency_seconds(faults: Faults, rng: random.Random) -> float:
    """This time's ``latency``: fixed, or drawn from its range."""
    if faults.latency is None:
        return 0.0
    low, high = faults.latency
    return low if low == high else rng.uniform(low, high)


def status_headers(faults: Faults) -> dict[str, str]:
    """Headers of an injected error status: ``Retry-After`` (default 1 s) on a 429."""
    if faults.status != 429:
        return {}
    return {"Retry-After": str(faults.retry_after if faults.retry_after is not None else 1)}


def failure_message(faults: Faults, *, streamed: bool) -> str | None:
    """Why the reply ends failed under ``faults`` (the error message), or None when they leave it alone.

    ``rate-limit-200`` fails any reply; ``stream-error`` and ``stream-failed`` only a streamed one.
    """
    if faults.rate_limit_200:
        return RATE_LIMIT_MESSAGE
    if streamed and (faults.stream_failed is not None or faults.stream_error is not None):
        return STREAM_FAILURE_MESSAGE
    return None


#: Makes the failed Response from a snapshot of the reply and the items finished before the cut (``reply/``).
Fail = Callable[[dict[str, Any], list[dict[str, Any]]], dict[str, Any]]


def cut_events(
    response: dict[str, Any], events: list[dict[str, Any]], faults: Faults, fail: Fail, error_code: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The stream of ``response`` cut short by ``faults``, and the failed Response it ends with.

    After N events comes an ``error`` event or ``response.failed`` and no
    more, so the stream and ``GET /v1/responses/{id}`` agree.
    """
    kept = events[: _cut_at(faults, events)]
    failed = fail(response, done_items(kept))
    return [*kept, _last_event(faults, failed, len(kept), error_code)], failed


def cut_blocks(
    blocks: tuple[bytes, ...], waits: tuple[float, ...], faults: Faults, fail: Fail, error_code: str
) -> tuple[tuple[bytes, ...], tuple[float, ...], dict[str, Any]]:
    """A recorded stream cut short by ``faults`` (comments kept), and the last event, encoded, and failed Response.

    The failed Response is made from the stream's first snapshot
    (``response.created``) and the items it finished before the cut.
    """
    parsed = [block_event(block) for block in blocks]
    events = [event for event in parsed if event is not None]
    cut = _cut_at(faults, events)
    kept_blocks: list[bytes] = []
    kept_waits: list[float] = []
    count = 0
    for block, wait, event in zip(blocks, waits, parsed, strict=True):
        if event is not None and count == cut:
            break
        count += event is not None
        kept_blocks.append(block)
        kept_waits.append(wait)
    snapshot = next((e["response"] for e in events if isinstance(e.get("response"), dict)), {})
    failed = fail(snapshot, done_items(events[:count]))
    last = encode_event(_last_event(faults, failed, count, error_code))
    return (*kept_blocks, last), (*kept_waits, 0.0), failed


def block_event(block: bytes) -> dict[str, Any] | None:
    """The JSON of one recorded block's event (``{}`` when it is not a JSON object), or None for a comment."""
    if not is_event(block):
        return None
    parsed = parse_sse(block.decode("utf-8", "replace") + "\n\n")  # a cut-off tail is dispatched too
    payload = parsed.events[0].json if parsed.events else None
    return payload if isinstance(payload, dict) else {}


def _cut_at(faults: Faults, events: list[dict[str, Any]]) -> int:
    """How many events are sent before the failure: N, or all but the terminal one when N is past the end."""
    if faults.rate_limit_200:
        wanted = 2  # response.created, response.in_progress, then response.failed
    elif faults.stream_error is not None:
        wanted = faults.stream_error
    else:
        wanted = faults.stream_failed or 0
    end = next((i for i, event in enumerate(events) if is_terminal(event)), len(events))
    return min(wanted, end)


def _last_event(faults: Faults, failed: dict[str, Any], number: int, error_code: str) -> dict[str, Any]:
    if faults.stream_error is not None and not faults.rate_limit_200:
        return error_event(error_code, STREAM_FAILURE_MESSAGE, number)
    return failed_event(failed, number)


def plain_body(body: bytes, faults: Faults, rng: random.Random) -> Iterator[bytes] | bytes:
    """A plain body with the wire faults: after ``latency``, and cut after N bytes by ``drop-after``."""
    if faults.latency:
        time.sleep(latency_seconds(faults, rng))
    if faults.drop_after is None:
        return body
    return _cut_body(body, min(faults.drop_after, len(body) - 1))  # never the whole body


def _cut_body(body: bytes, limit: int) -> Iterator[bytes]:
    if limit:
        yield body[:limit]
    raise ConnectionDropped(f"drop-after={limit}")


def json_response_body(body: bytes) -> dict[str, Any] | None:
    """A plain canned body that is a Response object (which ``rate-limit-200`` can fail), else None."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("object") == "response" else None


class DroppedConnectionFilter(logging.Filter):
    """waitress logs an app exception after the headers went out with a traceback; an injected drop is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Turn waitress's traceback for an injected drop into one INFO line."""
        if record.exc_info and isinstance(record.exc_info[1], ConnectionDropped):
            record.msg, record.args = "fault: connection dropped as asked (%s)", (record.exc_info[1],)
            record.exc_info = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


DROPPED_CONNECTION_FILTER = DroppedConnectionFilter()
