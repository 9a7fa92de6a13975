"""Injected faults, for testing how clients survive a bad day upstream.

A fault is chosen per request by the ``X-Mock-Fault`` header or, for every
create request, by ``--fault`` (with ``--fault-rate`` for a share of them);
the header wins, and ``X-Mock-Fault: none`` turns the global faults off for
one request. A spec is a comma-separated list (docs/faults.md)::

    latency=0.5 | latency=0.1-0.8   plain: reply after S seconds; stream: S before each event
    first-byte=2                     nothing at all is sent for S seconds
    status=429 [retry-after=N]       429/500/502/503 in the profile's error envelope
    drop-after=N                     connection cut after N stream events (plain: N body bytes)
    stream-error=N                   an ``error`` event after N events, then the end
    stream-failed=N                  ``response.failed`` after N events
    rate-limit-200                   HTTP 200, ``status: "failed"``, empty output (the gateway's way)
    times=N                          only the first N requests with this spec get it

Statuses and messages come from ``schemas/profiles.json`` like every other
error, so an injected 429 looks like the profile's real one.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Any

from flask import Response

from . import sse
from .store import Store

log = logging.getLogger("mockserver")

HEADER = "X-Mock-Fault"

#: The injected status codes and the profile failure each one renders.
STATUS_FAILURES = {429: "rate_limited", 500: "server_error", 502: "bad_gateway", 503: "service_unavailable"}

#: Store counter that ``times=N`` counts under; bumped by a reset, which starts every count again.
GENERATION_VALUE = "fault-generation"

RATE_LIMIT_MESSAGE = "Requests rate limit exceeded, please try again later. (injected by the mock)"
STREAM_FAILURE_MESSAGE = "The model failed while generating the response. (injected by the mock)"

_rng = random.Random()


class FaultSpecError(ValueError):
    """A fault spec that cannot be read; the message says which part and why."""


class ConnectionDropped(Exception):
    """Raised inside a reply's body to make the WSGI server cut the connection."""


@dataclass(frozen=True)
class Faults:
    """The faults for one request, parsed from a spec."""

    spec: str = ""
    latency: tuple[float, float] | None = None
    first_byte: float = 0.0
    status: int | None = None
    retry_after: int | None = None
    drop_after: int | None = None
    stream_error: int | None = None
    stream_failed: int | None = None
    rate_limit_200: bool = False
    times: int | None = None

    def combined(self, other: Faults) -> Faults:
        """These faults with ``other``'s set fields on top (several ``--fault`` options)."""
        changes = {f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) != f.default}
        changes["spec"] = ", ".join(s for s in (self.spec, other.spec) if s)
        return replace(self, **changes)

    def latency_seconds(self) -> float:
        if self.latency is None:
            return 0.0
        low, high = self.latency
        return low if low == high else _rng.uniform(low, high)


NO_FAULTS = Faults()


def parse(spec: str) -> Faults:
    """The faults a spec names; ``FaultSpecError`` for anything unknown or out of range."""
    spec = spec.strip()
    if spec.lower() in ("", "none"):
        return NO_FAULTS
    values: dict[str, Any] = {"spec": spec}
    for part in (p.strip() for p in spec.split(",")):
        name, has_value, raw = (s.strip() for s in part.partition("="))
        name = name.lower()
        if name not in _PARSERS:
            raise FaultSpecError(f"unknown fault {name!r} (known: {', '.join(_PARSERS)})")
        wants_value = name != "rate-limit-200"
        if wants_value != bool(has_value):
            raise FaultSpecError(f"{name}: {'needs a value, as ' + name + '=N' if wants_value else 'takes no value'}")
        field, value = _PARSERS[name](name, raw)
        values[field] = value
    return Faults(**values)


def checked(faults: Faults) -> Faults:
    """``faults`` if they make sense together (several ``--fault`` specs are checked once combined)."""
    if faults.retry_after is not None and faults.status != 429:
        raise FaultSpecError("retry-after: goes with status=429")
    return faults


def _seconds(name: str, raw: str, *, upper: float = 600.0) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FaultSpecError(f"{name}: {raw[:32]!r} is not a number of seconds") from None
    if not 0 <= value <= upper:  # also refuses nan and inf
        raise FaultSpecError(f"{name}: must be between 0 and {upper:g} seconds")
    return value


def _count(name: str, raw: str, *, low: int = 0) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # "²".isdigit() is True, int("²") fails
        raise FaultSpecError(f"{name}: {raw[:32]!r} is not a whole number")
    value = int(raw)
    if value < low:
        raise FaultSpecError(f"{name}: must be at least {low}")
    return value


def _latency(name: str, raw: str) -> tuple[str, tuple[float, float]]:
    low, dash, high = raw.partition("-")
    bounds = (_seconds(name, low), _seconds(name, high) if dash else _seconds(name, low))
    if bounds[0] > bounds[1]:
        raise FaultSpecError(f"{name}: the range {raw!r} runs backwards")
    return "latency", bounds


def _status(name: str, raw: str) -> tuple[str, int]:
    code = _count(name, raw)
    if code not in STATUS_FAILURES:
        raise FaultSpecError(f"{name}: {code} is not one of {', '.join(map(str, STATUS_FAILURES))}")
    return "status", code


_PARSERS = {
    "latency": _latency,
    "first-byte": lambda name, raw: ("first_byte", _seconds(name, raw)),
    "status": _status,
    "retry-after": lambda name, raw: ("retry_after", _count(name, raw)),
    "drop-after": lambda name, raw: (
        "drop_after",
        _count(name, raw, low=1),
    ),  # 0: no byte out, waitress would answer a 500
    "stream-error": lambda name, raw: ("stream_error", _count(name, raw)),
    "stream-failed": lambda name, raw: ("stream_failed", _count(name, raw)),
    "rate-limit-200": lambda name, raw: ("rate_limit_200", True),
    "times": lambda name, raw: ("times", _count(name, raw, low=1)),
}


def parse_all(specs: Iterable[str]) -> Faults:
    """One set of faults from several specs (``--fault`` repeated), later ones winning."""
    result = NO_FAULTS
    for spec in specs:
        result = result.combined(parse(spec))
    return checked(result)


def for_request(header: str | None, configured: Faults, rate: float, store: Store) -> Faults:
    """The faults this request gets: the header's, else the configured ones for a ``rate`` share of requests."""
    if header is not None:
        faults = checked(parse(header))
    elif configured is NO_FAULTS or _rng.random() >= rate:
        return NO_FAULTS
    else:
        faults = configured
    if faults.times is not None and not _within_times(faults, store):
        return NO_FAULTS
    return faults


def _within_times(faults: Faults, store: Store) -> bool:
    """Count this use of the spec (in the store, so all workers share it) and say if it is one of the first N."""
    generation = store.get_value(GENERATION_VALUE, 0)
    return store.incr(f"fault:{generation}:{faults.spec}") <= (faults.times or 0)


def forget_counts(store: Store) -> None:
    """Start every ``times=N`` count again (an admin reset)."""
    store.incr(GENERATION_VALUE)


def delay_reply(faults: Faults) -> None:
    """The waits that come before anything is sent: the slow first byte, and latency of a plain reply."""
    if faults.first_byte:
        time.sleep(faults.first_byte)


def failure_message(faults: Faults, *, streamed: bool) -> str | None:
    """Why the reply ends failed under ``faults`` (the error message), or None when they leave it alone.

    ``rate-limit-200`` fails any reply; ``stream-error`` and ``stream-failed`` only a streamed one.
    """
    if faults.rate_limit_200:
        return RATE_LIMIT_MESSAGE
    if streamed and (faults.stream_failed is not None or faults.stream_error is not None):
        return STREAM_FAILURE_MESSAGE
    return None


def status_headers(faults: Faults) -> dict[str, str]:
    """Headers of an injected error status: ``Retry-After`` (default 1 s) on a 429."""
    if faults.status != 429:
        return {}
    return {"Retry-After": str(faults.retry_after if faults.retry_after is not None else 1)}


def cut_stream(
    events: Iterable[dict[str, Any]], faults: Faults, fail: Callable[[list[dict[str, Any]]], dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The stream cut short by ``faults``, and the failed reply it ends with.

    After N events comes an ``error`` event or ``response.failed`` and no
    more. ``fail(items)`` makes the failed reply from the output items the
    client saw finished before the cut, so the stream and ``GET
    /v1/responses/{id}`` agree.
    """
    cut = _stream_cut(faults)
    kept: list[dict[str, Any]] = []
    for event in events:
        if len(kept) == cut or event["type"] in sse.TERMINAL_EVENTS.values():  # N past the end: fail at the end
            break
        kept.append(event)
    failed = fail([e["item"] for e in kept if e["type"] == "response.output_item.done"])
    if faults.stream_error is not None and not faults.rate_limit_200:
        kept.append(sse.error_event("server_error", STREAM_FAILURE_MESSAGE, len(kept)))
    else:
        kept.append({"type": "response.failed", "sequence_number": len(kept), "response": failed})
    return kept, failed


def _stream_cut(faults: Faults) -> int:
    if faults.rate_limit_200:
        return 2  # response.created, response.in_progress, then response.failed
    if faults.stream_error is not None:
        return faults.stream_error
    return faults.stream_failed or 0


def delivered(response: Response, faults: Faults) -> Response:
    """``response`` with the faults that act on the wire: latency and a cut connection."""
    if response.is_streamed:
        response.response = _streamed_body(response.response, faults)
        return response
    if faults.drop_after is not None:
        body = response.get_data()
        response.response = _cut_body(body, min(faults.drop_after, len(body) - 1))  # never the whole body
        response.headers["Content-Length"] = str(len(body))
    if faults.latency:
        time.sleep(faults.latency_seconds())
    return response


def _streamed_body(chunks: Iterable[bytes], faults: Faults) -> Iterator[bytes]:
    events = 0
    for chunk in chunks:
        is_event = not chunk.startswith(b":")  # a ': PING' comment is not an event
        if is_event and faults.drop_after is not None and events >= faults.drop_after:
            raise ConnectionDropped(f"drop-after={faults.drop_after}")
        if is_event and faults.latency:
            time.sleep(faults.latency_seconds())
        yield chunk
        events += is_event
    if faults.drop_after is not None and events >= faults.drop_after:
        raise ConnectionDropped(f"drop-after={faults.drop_after}")  # N at or past the end: still no clean end


def _cut_body(body: bytes, limit: int) -> Iterator[bytes]:
    if limit:
        yield body[:limit]
    raise ConnectionDropped(f"drop-after={limit}")


class DroppedConnectionFilter(logging.Filter):
    """waitress logs an app exception after the headers went out with a traceback; an injected drop is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ConnectionDropped):
            record.msg, record.args = "fault: connection dropped as asked (%s)", (record.exc_info[1],)
            record.exc_info = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


DROPPED_CONNECTION_FILTER = DroppedConnectionFilter()
