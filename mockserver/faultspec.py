"""Fault specs: what ``X-Mock-Fault: SPEC`` and ``--fault SPEC`` ask for, parsed and checked.

Parsing a spec is configuration (``config.py`` checks ``--fault`` with it
when the mock starts); applying the faults is delivery's job
(``delivery/faults.py``). A spec is a comma-separated list (docs/faults.md)::

    latency=0.5 | latency=0.1-0.8   plain: reply after S seconds; stream: S before each event
    first-byte=2                     nothing at all is sent for S seconds
    status=429 [, retry-after=N]     429/500/502/503 in the profile's error envelope
    drop-after=N                     connection cut after N stream events (plain: N body bytes)
    stream-error=N                   an ``error`` event after N events, then the end
    stream-failed=N                  ``response.failed`` after N events
    rate-limit-200                   HTTP 200, ``status: "failed"``, empty output (the gateway's way)
    times=N                          only the first N requests with this spec get it
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

HEADER = "X-Mock-Fault"

#: The injected status codes and the profile failure each one renders.
STATUS_FAILURES = {429: "rate_limited", 500: "server_error", 502: "bad_gateway", 503: "service_unavailable"}


class FaultSpecError(ValueError):
    """A fault spec that cannot be read; the message says which part and why."""


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

    @property
    def fails_reply(self) -> bool:
        """Whether these faults end a reply as failed (``rate-limit-200``, ``stream-error``, ``stream-failed``)."""
        return self.rate_limit_200 or self.stream_error is not None or self.stream_failed is not None


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
            raise FaultSpecError(f"unknown fault {name[:40]!r}; the known faults are: {KNOWN}")
        wants_value = name != "rate-limit-200"
        if wants_value != bool(has_value):
            raise FaultSpecError(f"{name}: {'needs a value, as ' + FORMS[name] if wants_value else 'takes no value'}")
        field, value = _PARSERS[name](name, raw)
        values[field] = value
    return Faults(**values)


def checked(faults: Faults) -> Faults:
    """``faults`` if they make sense together (several ``--fault`` specs are checked once combined)."""
    if faults.retry_after is not None and faults.status != 429:
        raise FaultSpecError("retry-after: goes with status=429")
    return faults


def parse_all(specs: Iterable[str]) -> Faults:
    """One set of faults from several specs (``--fault`` repeated), later ones winning."""
    result = NO_FAULTS
    for spec in specs:
        result = result.combined(parse(spec))
    return checked(result)


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
        raise FaultSpecError(f"{name}: the range {raw[:32]!r} runs backwards")
    return "latency", bounds


def _status(name: str, raw: str) -> tuple[str, int]:
    code = _count(name, raw)
    if code not in STATUS_FAILURES:
        raise FaultSpecError(f"{name}: {code} is not one of {', '.join(map(str, STATUS_FAILURES))}")
    return "status", code


_PARSERS: dict[str, Callable[[str, str], tuple[str, Any]]] = {
    "latency": _latency,
    "first-byte": lambda name, raw: ("first_byte", _seconds(name, raw)),
    "status": _status,
    "retry-after": lambda name, raw: ("retry_after", _count(name, raw)),
    # at least 1: with no byte out, waitress would answer a 500
    "drop-after": lambda name, raw: ("drop_after", _count(name, raw, low=1)),
    "stream-error": lambda name, raw: ("stream_error", _count(name, raw)),
    "stream-failed": lambda name, raw: ("stream_failed", _count(name, raw)),
    "rate-limit-200": lambda name, raw: ("rate_limit_200", True),
    "times": lambda name, raw: ("times", _count(name, raw, low=1)),
}

#: Each fault as it is written, for messages that list them.
FORMS = {
    "latency": "latency=S or latency=MIN-MAX",
    "first-byte": "first-byte=S",
    "status": f"status={'|'.join(map(str, STATUS_FAILURES))}",
    "retry-after": "retry-after=N (with status=429)",
    "drop-after": "drop-after=N",
    "stream-error": "stream-error=N",
    "stream-failed": "stream-failed=N",
    "rate-limit-200": "rate-limit-200",
    "times": "times=N",
}
#: Every known fault, in full (what a refused spec is told).
KNOWN = ", ".join(FORMS[name] for name in _PARSERS)
