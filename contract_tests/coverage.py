"""Coverage of the contract: what a run exercised, against what the profile allows.

A green run should also say what it did *not* try. Seven dimensions, each a
list of values the profile allows and a count of how often the run sent or
saw each one:

- request fields: the request schema's top-level properties, sent in a request body;
- request enum values: every ``enum``/``const`` of the request schema, by JSON
  path (``/reasoning/effort``, ``/input/*/role``, ``/tools/*/type``...), sent;
- output item types and content part types: the ``type`` variants of a
  Response's ``/output/*`` and of a message's ``content/*``, seen in replies
  (plain, and the final response of a stream);
- stream event types: the ``type`` variants of the ``event`` schema, seen;
- status codes and error codes: 200 and every failure's status and code in
  ``schemas/profiles.json`` (with the code of a failed reply), seen.

What the profile allows is read from the schemas themselves (walked with the
drift report's schema view, ``compare.view``, which flattens ``$ref``,
``allOf`` and tagged unions), never from a list written here. The counts are
plain data (:class:`Observed`), so pytest-xdist workers send theirs to the
controller, which adds them up.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from schemas.behaviour import behaviour
from schemas.stream import TERMINAL, parse_sse

from .compare import DISCRIMINATOR, Docs, View, view
from .drift import known_event_types
from .target import Reply

#: How deep the request schema is walked for enum values (the openai profile's schemas are recursive).
MAX_DEPTH = 6

REQUEST_FIELDS = "request fields"
REQUEST_VALUES = "request enum values"
OUTPUT_ITEMS = "output item types"
CONTENT_PARTS = "content part types"
EVENT_TYPES = "stream event types"
STATUS_CODES = "status codes"
ERROR_CODES = "error codes"
DIMENSIONS = (REQUEST_FIELDS, REQUEST_VALUES, OUTPUT_ITEMS, CONTENT_PARTS, EVENT_TYPES, STATUS_CODES, ERROR_CODES)
#: What each dimension counts, in words.
COUNTED = {
    REQUEST_FIELDS: "sent",
    REQUEST_VALUES: "sent",
    OUTPUT_ITEMS: "seen",
    CONTENT_PARTS: "seen",
    EVENT_TYPES: "seen",
    STATUS_CODES: "seen",
    ERROR_CODES: "seen",
}


# --- what the profile allows --------------------------------------------------------------------


@functools.cache
def allowed(profile: str) -> dict[str, tuple[str, ...]]:
    """Per dimension, the values the profile's schemas (and ``profiles.json``) allow, in a stable order."""
    docs = Docs(profile)
    request = view([docs.root("request")], docs)
    values: dict[str, set[str]] = {}
    _enum_values(request, "", docs, values, 0)
    output = _at(view([docs.root("response")], docs), ["output", "*"], docs)
    message = view(output.variants.get("message", []), docs)
    parts = _at(message, ["content", "*"], docs)
    rules = behaviour(profile)
    statuses = {200, *(failure.status for failure in rules.failures.values())}
    if rules.unrouted is not None:
        statuses.add(rules.unrouted.status)
    codes = {failure.code for failure in rules.failures.values() if failure.code}
    if rules.failed_response_code:
        codes.add(rules.failed_response_code)
    return {
        REQUEST_FIELDS: tuple(sorted(request.props)),
        REQUEST_VALUES: tuple(sorted(value_key(path, value) for path, found in values.items() for value in found)),
        OUTPUT_ITEMS: tuple(sorted(output.variants)),
        CONTENT_PARTS: tuple(sorted(parts.variants)),
        EVENT_TYPES: tuple(sorted(known_event_types(profile))),
        STATUS_CODES: tuple(str(status) for status in sorted(statuses)),
        ERROR_CODES: tuple(sorted(codes)),
    }


def value_key(path: str, value: Any) -> str:
    """How an enum value is named in the matrix: ``/reasoning/effort = low``."""
    return f"{path} = {value if isinstance(value, str) else json.dumps(value)}"


def _at(start: View, steps: list[str], docs: Docs) -> View:
    """The view at a path below ``start`` (``*``: array items)."""
    current = start
    for step in steps:
        locs = current.items if step == "*" else current.props.get(step, [])
        current = view(locs, docs)
    return current


def _enum_values(at: View, path: str, docs: Docs, into: dict[str, set[str]], depth: int) -> None:
    """Collect every enum value below ``at`` by generic path; tagged variants count as ``.../type`` values."""
    if depth > MAX_DEPTH:
        return
    if at.enum:
        into.setdefault(path, set()).update(v for v in at.enum if v is not None and not isinstance(v, (dict, list)))
    if at.variants:
        into.setdefault(f"{path}/{DISCRIMINATOR}", set()).update(at.variants)
        for locs in at.variants.values():
            _enum_values_below(view(locs, docs), path, docs, into, depth, skip=DISCRIMINATOR)
    _enum_values_below(at, path, docs, into, depth)


def _enum_values_below(at: View, path: str, docs: Docs, into: dict[str, set[str]], depth: int, skip: str = "") -> None:
    for name, locs in at.props.items():
        if name != skip:
            _enum_values(view(locs, docs), f"{path}/{name}", docs, into, depth + 1)
    if at.items:
        _enum_values(view(at.items, docs), f"{path}/*", docs, into, depth + 1)


# --- what a run sent and saw --------------------------------------------------------------------


@dataclass
class Observed:
    """How often each value was sent or seen, per dimension (plain data: it travels between processes)."""

    counts: dict[str, Counter[str]] = field(default_factory=lambda: {name: Counter() for name in DIMENSIONS})

    def observe(self, reply: Reply) -> None:
        """Count what one exchange sent (its request body) and got back (status, error, items, parts, events)."""
        sent = reply.sent
        if sent is not None and sent.body:
            self.request(sent.body)
        self.counts[STATUS_CODES][str(reply.status)] += 1
        if reply.content_type == "text/event-stream":
            self.stream(reply.text)
        elif isinstance(reply.json, dict):
            self.body(reply.json)

    def request(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return
        if not isinstance(body, dict):
            return
        self.counts[REQUEST_FIELDS].update(str(name) for name in body)
        self.counts[REQUEST_VALUES].update(value_key(path, value) for path, value in leaves(body))

    def body(self, body: dict[str, Any]) -> None:
        """A reply body: an error's code, or a Response's items and parts (a failed Response's code too)."""
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]:
            self.counts[ERROR_CODES][error["code"]] += 1
        if body.get("object") == "response" or isinstance(body.get("output"), list):
            self.response(body)

    def response(self, response: dict[str, Any]) -> None:
        output = response.get("output")
        for item in output if isinstance(output, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                continue
            self.counts[OUTPUT_ITEMS][item["type"]] += 1
            content = item.get("content") if item["type"] == "message" else None
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and isinstance(part.get("type"), str):
                    self.counts[CONTENT_PARTS][part["type"]] += 1

    def stream(self, text: str) -> None:
        """Every event's type; the final response like a plain reply; an ``error`` event's code."""
        for event in parse_sse(text).events:
            payload = event.json
            if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                continue
            self.counts[EVENT_TYPES][payload["type"]] += 1
            if payload["type"] in TERMINAL and isinstance(payload.get("response"), dict):
                self.body(payload["response"])
            elif isinstance(payload.get("code"), str) and payload["code"]:
                self.counts[ERROR_CODES][payload["code"]] += 1

    # --- between processes ---

    def to_json(self) -> dict[str, dict[str, int]]:
        return {name: dict(counter) for name, counter in self.counts.items()}

    def add(self, other: dict[str, dict[str, int]]) -> None:
        """Add the counts of another process (``to_json``)."""
        for name, counts in other.items():
            self.counts.setdefault(name, Counter()).update(counts)


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every scalar in a JSON value with its generic path (``*`` for array items)."""
    if isinstance(value, dict):
        return [leaf for key, sub in value.items() for leaf in leaves(sub, f"{path}/{key}")]
    if isinstance(value, list):
        return [leaf for sub in value for leaf in leaves(sub, f"{path}/*")]
    return [(path, value)]


# --- the matrix -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One allowed value and how often the run sent or saw it (0: a gap)."""

    value: str
    count: int

    @property
    def gap(self) -> bool:
        return self.count == 0


@dataclass(frozen=True)
class Dimension:
    """One dimension of the matrix: every allowed value, and what was sent or seen outside them."""

    name: str
    counted: str
    cells: tuple[Cell, ...]
    outside: tuple[Cell, ...] = ()

    @property
    def covered(self) -> int:
        return sum(1 for cell in self.cells if not cell.gap)

    @property
    def gaps(self) -> tuple[Cell, ...]:
        return tuple(cell for cell in self.cells if cell.gap)

    @property
    def share(self) -> str:
        return f"{self.covered} of {len(self.cells)}"


def matrix(profile: str, observed: Observed) -> list[Dimension]:
    """Every dimension: the allowed values with their counts (gaps at 0), and values seen outside them."""
    dimensions = []
    for name, values in allowed(profile).items():
        counts = observed.counts.get(name, Counter())
        outside = (
            ()
            if name in (REQUEST_FIELDS, REQUEST_VALUES)
            else tuple(Cell(value, count) for value, count in sorted(counts.items()) if value not in values)
        )
        dimensions.append(
            Dimension(name, COUNTED[name], tuple(Cell(value, counts.get(value, 0)) for value in values), outside)
        )
    return dimensions


def short_lines(dimensions: list[Dimension], *, gaps_shown: int = 6) -> list[str]:
    """The matrix in short, one line per dimension: ``status codes: 5 of 12 seen; not seen: 403, 405, ...``."""
    lines = []
    for dimension in dimensions:
        line = f"{dimension.name}: {dimension.share} {dimension.counted}"
        gaps = [cell.value for cell in dimension.gaps]
        if gaps:
            more = f" and {len(gaps) - gaps_shown} more" if len(gaps) > gaps_shown else ""
            line += f"; not {dimension.counted}: {', '.join(gaps[:gaps_shown])}{more}"
        lines.append(line)
    return lines
