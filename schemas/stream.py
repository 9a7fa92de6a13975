"""Streams: parse raw ``text/event-stream`` and check a sequence of events.

Each event must satisfy the profile's ``event`` schema; the sequence must
follow the rules of the Responses API stream. Rules are named (``rule``) so a
report says which one broke, at which event. The event names the rules need
come from the ``event`` schema and the small tables below; code elsewhere asks
this module instead of restating them.

A resumed stream (``GET /v1/responses/{id}?stream=true&starting_after=N``)
is checked in resumed mode (``starting_after=N``, and the stored reply as
``stored``): numbering continues from N+1, no ``response.created`` is
expected first, items and parts opened before N are taken from the stored
reply, deltas must end the text they belong to, and the items streamed and
the terminal event's output must be the stored reply's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .findings import Finding, stream_finding
from .loader import DEFAULT_PROFILE, _load, registry, schema_uri

if TYPE_CHECKING:
    from .levels import Levels
from .validation import validate

LIFECYCLE = (
    "response.created",
    "response.in_progress",
    "response.queued",
    "response.completed",
    "response.incomplete",
    "response.failed",
)
TERMINAL = {
    "response.completed": "completed",
    "response.incomplete": "incomplete",
    "response.failed": "failed",
    "error": None,
}
#: Delta and done events whose text reassembles, with the key of the part they belong to.
TEXT_EVENTS = {
    "response.output_text.delta": ("text", "content_index"),
    "response.output_text.done": ("text", "content_index"),
    "response.reasoning_summary_text.delta": ("summary", "summary_index"),
    "response.reasoning_summary_text.done": ("summary", "summary_index"),
    "response.reasoning_text.delta": ("reasoning", None),
    "response.reasoning_text.done": ("reasoning", None),
    "response.function_call_arguments.delta": ("arguments", None),
    "response.function_call_arguments.done": ("arguments", None),
    "response.code_interpreter_call_code.delta": ("code", None),
    "response.code_interpreter_call_code.done": ("code", None),
}
#: The field of a ``.done`` event that holds the whole text of its family (``text`` otherwise).
DONE_FIELDS = {"arguments": "arguments", "code": "code"}
PART_ADDED = {"response.content_part.added": "content_index", "response.reasoning_summary_part.added": "summary_index"}


@dataclass
class SSEEvent:
    """One dispatched event of a raw stream."""

    index: int
    line: int
    event: str | None
    data: str
    json: Any = None
    error: str | None = None


#: Stream findings are :class:`~schemas.findings.Finding` objects with ``index`` and ``event_type`` set.
StreamViolation = Finding


@dataclass
class ParsedStream:
    events: list[SSEEvent] = field(default_factory=list)
    done_marker: bool = False
    unterminated: str | None = None


def parse_sse(text: str | bytes | Iterable[str | bytes]) -> ParsedStream:
    """Parse ``text/event-stream`` per the WHATWG rules: comments skipped, data lines joined."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    elif not isinstance(text, str):
        text = "".join(t.decode("utf-8") if isinstance(t, bytes) else t for t in text)
    parsed = ParsedStream()
    name: str | None = None
    data: list[str] = []
    start = 0
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ends_clean = text.endswith(("\n\n", "\r\n\r\n")) or not text.strip()
    for number, line in enumerate(lines, 1):
        if line == "":
            if data:
                _dispatch(parsed, name, data, start)
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field_name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if not data and name is None:
            start = number
        if field_name == "event":
            name = value
        elif field_name == "data":
            data.append(value)
    if data and not ends_clean:
        parsed.unterminated = "\n".join(data)
    return parsed


def _dispatch(parsed: ParsedStream, name: str | None, data: list[str], line: int) -> None:
    text = "\n".join(data)
    if text.strip() == "[DONE]":
        parsed.done_marker = True
        return
    event = SSEEvent(index=len(parsed.events), line=line, event=name, data=text)
    try:
        event.json = json.loads(text)
    except json.JSONDecodeError as exc:
        event.error = f"data is not JSON: {exc.msg}"
    except RecursionError:
        event.error = "data is JSON nested too deeply to read"
    parsed.events.append(event)


def validate_sse(
    text: str | bytes,
    profile: str = DEFAULT_PROFILE,
    levels: Levels | None = None,
    *,
    starting_after: int | None = None,
    stored: dict[str, Any] | None = None,
) -> list[Finding]:
    """Parse a raw stream and check it; parse problems are findings too (each with its level).

    ``starting_after`` (and the stored reply, ``stored``) check a resumed stream (module docstring).
    """
    parsed = parse_sse(text)
    problems = [stream_finding(e.index, e.event, "json", e.error) for e in parsed.events if e.error]
    if parsed.unterminated is not None:
        problems.append(
            stream_finding(
                len(parsed.events), None, "unterminated", "the last event has no blank line after it; clients drop it"
            )
        )
    for event in parsed.events:
        if (
            event.json is not None
            and event.event is not None
            and isinstance(event.json, dict)
            and event.event != event.json.get("type")
        ):
            problems.append(
                stream_finding(
                    event.index,
                    _type_of(event.json),
                    "event_name",
                    f"'event: {event.event}' does not match the JSON type",
                )
            )
    events = [e.json for e in parsed.events if e.error is None]
    return _levelled(problems + _checked(events, profile, starting_after, stored), levels)


def first_violation(events: list[dict[str, Any]], profile: str = DEFAULT_PROFILE) -> Finding | None:
    found = [f for f in validate_stream(events, profile) if f.fails]
    return found[0] if found else None


def validate_stream(
    events: Iterable[dict[str, Any] | SSEEvent],
    profile: str = DEFAULT_PROFILE,
    levels: Levels | None = None,
    *,
    starting_after: int | None = None,
    stored: dict[str, Any] | None = None,
) -> list[Finding]:
    """Every broken rule in a sequence of parsed events (the first per event), each with its level.

    The level of a stream rule is that of ``stream.<rule>`` in the levels
    file (default ``schemas/levels.json``). ``starting_after`` checks the
    events as the suffix of a stream resumed after that sequence number,
    ``stored`` being the stored reply (module docstring).
    """
    return _levelled(_checked(events, profile, starting_after, stored), levels)


def _checked(
    events: Iterable[Any], profile: str, starting_after: int | None = None, stored: dict[str, Any] | None = None
) -> list[Finding]:
    checker = _StreamChecker(profile, starting_after, stored)
    for index, event in enumerate(events):
        payload = event.json if isinstance(event, SSEEvent) else event
        problem = checker.check(index, payload)
        if problem is not None:
            checker.violations.append(problem)
    checker.finish()
    return checker.violations


def _levelled(found: list[Finding], levels: Levels | None) -> list[Finding]:
    from .levels import default_levels

    return (levels or default_levels()).apply_all(found, rule_prefix="stream.")


def _type_of(event: Any) -> str | None:
    kind = event.get("type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


@functools.cache
def event_types(profile: str = DEFAULT_PROFILE) -> frozenset[str]:
    """The event types the profile's ``event`` schema describes (the ``type`` constants of its branches)."""
    resolver = registry().resolver(base_uri=schema_uri("event", profile))
    found: set[str] = set()

    def walk(node: Any, resolver: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 12:
            return
        declared = node.get("properties", {}).get("type") if isinstance(node.get("properties"), dict) else None
        if isinstance(declared, dict):
            values = [declared["const"]] if "const" in declared else declared.get("enum", [])
            found.update(v for v in values if isinstance(v, str))
        if isinstance(node.get("$ref"), str):
            resolved = resolver.lookup(node["$ref"])
            walk(resolved.contents, resolved.resolver, depth + 1)
        for keyword in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(keyword, []):
                walk(branch, resolver, depth + 1)
        walk(node.get("if"), resolver, depth + 1)

    walk(_load("event", profile), resolver, 0)
    return frozenset(found)


class _StreamChecker:
    def __init__(self, profile: str, starting_after: int | None = None, stored: dict[str, Any] | None = None):
        self.profile = profile
        self.violations: list[Finding] = []
        self.count = 0
        self.resumed = starting_after is not None
        self.next_sequence = starting_after + 1 if starting_after is not None else 0
        #: The stored reply a resumed stream continues (its output: the items opened before the suffix).
        self.stored = stored if isinstance(stored, dict) else None
        stored_output = (self.stored or {}).get("output")
        self.stored_output: list[Any] = stored_output if isinstance(stored_output, list) else []
        #: Texts whose start was sent before the suffix: their deltas only end them.
        self.resumed_texts: set[tuple[int, str, Any]] = set()
        stored_id = (self.stored or {}).get("id")
        self.response_id: str | None = stored_id if isinstance(stored_id, str) else None
        self.terminal_at: int | None = None
        self.items: dict[int, dict[str, Any]] = {}
        self.open_items: set[int] = set()
        self.done_items: list[tuple[int, dict[str, Any]]] = []
        self.texts: dict[tuple[int, str, Any], str] = {}
        self.parts: set[tuple[int, str, Any]] = set()
        self.final: dict[str, Any] | None = None
        self.final_type: str | None = None

    def check(self, index: int, event: Any) -> Finding | None:
        self.count += 1
        kind = _type_of(event)
        fail = lambda rule, message, path="": stream_finding(index, kind, rule, message, path)  # noqa: E731
        if not isinstance(event, dict):
            return fail("schema", "an event is a JSON object")
        number = event.get("sequence_number")
        expected = self.next_sequence
        if isinstance(number, int) and not isinstance(number, bool):  # follow the numbering past a bad event
            self.next_sequence = number + 1
        known = event_types(self.profile)
        if kind is not None and known and kind not in known:  # clients (the openai SDK) skip unknown types
            return fail("unknown_event", f"event type {kind!r} is not in the {self.profile} profile")
        schema_problems = validate(event, "event", self.profile)
        if schema_problems:
            if (
                kind in TERMINAL or kind == "error"
            ):  # a malformed terminal event still ends the stream: one report, not two
                self.terminal_at, self.final_type = index, kind
            first = schema_problems[0]
            return fail("schema", first.message, first.path)
        if self.terminal_at is not None:
            return fail("terminal_not_last", f"event after the terminal event #{self.terminal_at}")
        if isinstance(number, int) and number != expected:
            return fail("sequence_number", f"expected {expected}, got {number}", "/sequence_number")
        if index == 0 and kind != "response.created" and not self.resumed:
            return fail("first_event", "the first event must be response.created")
        if kind in LIFECYCLE:
            return self._lifecycle(index, event, fail)
        if kind == "error":
            self.terminal_at, self.final_type = index, kind
            return None
        if kind == "response.output_item.added":
            return self._item_added(event, fail)
        if kind == "response.output_item.done":
            return self._item_done(event, fail)
        return self._inside_item(kind, event, fail)

    def _lifecycle(self, index: int, event: dict[str, Any], fail: Any) -> Finding | None:
        response_id = event["response"].get("id")
        if self.response_id is None:
            self.response_id = response_id
        elif response_id != self.response_id:
            return fail(
                "lifecycle_id", f"response.id {response_id!r} differs from {self.response_id!r}", "/response/id"
            )
        if event["type"] in TERMINAL:
            self.terminal_at, self.final, self.final_type = index, event["response"], event["type"]
            expected = TERMINAL[event["type"]]
            if event["response"].get("status") != expected:
                return fail(
                    "terminal_status",
                    f"{event['type']} carries status {event['response'].get('status')!r}",
                    "/response/status",
                )
        return None

    def _item_added(self, event: dict[str, Any], fail: Any) -> Finding | None:
        position = event["output_index"]
        expected = max(self.items, default=-1) + 1
        if self.resumed and not self.items:
            expected = position  # the items before it were finished before the suffix
        if position != expected:
            return fail("output_index", f"expected output_index {expected}, got {position}", "/output_index")
        self.items[position] = event["item"]
        self.open_items.add(position)
        return None

    def _item_done(self, event: dict[str, Any], fail: Any) -> Finding | None:
        position = event["output_index"]
        self._resume_item(position)
        if position not in self.open_items:
            return fail(
                "item_order", f"output item {position} is done but was not added or is already done", "/output_index"
            )
        self.open_items.discard(position)
        item = event["item"]
        self.done_items.append((position, item))
        return self._reassembled(item, position, fail)

    def _resume_item(self, position: Any) -> None:
        """In a resumed stream, an item the suffix did not add was opened before it: take it from the stored reply."""
        if not self.resumed or position in self.items or not isinstance(position, int) or isinstance(position, bool):
            return
        if not 0 <= position < len(self.stored_output) or any(p > position for p in self.items):
            return
        item = self.stored_output[position]
        self.items[position] = item
        self.open_items.add(position)
        for family, part in _text_keys(item):
            self.resumed_texts.add((position, family, part))
            if part is not None:
                self.parts.add((position, _part_added_for(family), part))

    def _inside_item(self, kind: str, event: dict[str, Any], fail: Any) -> Finding | None:
        position = event.get("output_index")
        if not isinstance(position, int) or isinstance(position, bool):
            return None
        self._resume_item(position)
        if position not in self.open_items:
            return fail(
                "item_order", f"{kind} refers to output_index {position}, which is not an open item", "/output_index"
            )
        item = self.items[position]
        item_id = item.get("id") if isinstance(item, dict) else None
        if "item_id" in event and item_id is not None and event["item_id"] != item_id:
            return fail(
                "item_id", f"item_id {event['item_id']!r} is not the id of item {position} ({item_id!r})", "/item_id"
            )
        if kind in PART_ADDED:
            self.parts.add((position, kind, event[PART_ADDED[kind]]))
            return None
        if kind not in TEXT_EVENTS:
            return None
        family, index_key = TEXT_EVENTS[kind]
        part = event.get(index_key) if index_key else None
        key = (position, family, part)
        if index_key and (position, _part_added_for(family), part) not in self.parts:
            return fail("part_order", f"{kind} before its part was added ({index_key} {part})", f"/{index_key}")
        if kind.endswith(".delta"):
            self.texts[key] = self.texts.get(key, "") + event["delta"]
            return None
        done_text = event[DONE_FIELDS.get(family, "text")]
        if not self._joins(key, self.texts.get(key, ""), done_text):
            return fail(
                "text_reassembly",
                f"the deltas ({_clip(self.texts.get(key, ''))}) do not join into the done text ({_clip(done_text)})",
            )
        self.texts[key] = done_text
        return None

    def _reassembled(self, item: dict[str, Any], position: int, fail: Any) -> Finding | None:
        """The finished item's texts equal what the deltas built."""
        expected: dict[tuple[int, str, Any], str] = {}
        if item.get("type") == "message":
            for i, part in enumerate(item.get("content", [])):
                if part.get("type") == "output_text":
                    expected[(position, "text", i)] = part.get("text", "")
        elif item.get("type") == "reasoning":
            for i, part in enumerate(item.get("summary", [])):
                if (position, "summary", i) in self.texts:
                    expected[(position, "summary", i)] = part.get("text", "")
            if (position, "reasoning", None) in self.texts:
                joined = "".join(p.get("text", "") for p in item.get("summary") or item.get("content") or [])
                expected[(position, "reasoning", None)] = joined
        elif item.get("type") == "function_call" and (position, "arguments", None) in self.texts:
            expected[(position, "arguments", None)] = item.get("arguments", "")
        elif item.get("type") == "code_interpreter_call" and (position, "code", None) in self.texts:
            expected[(position, "code", None)] = item.get("code") or ""
        if self.resumed and 0 <= position < len(self.stored_output) and item != self.stored_output[position]:
            return fail("final_output", f"item {position} differs from the stored reply's", "/item")
        for key, text in expected.items():
            if not self._joins(key, self.texts.get(key, ""), text):
                return fail(
                    "text_reassembly",
                    f"item {position}'s text ({_clip(text)}) "
                    f"is not what its deltas built ({_clip(self.texts.get(key, ''))})",
                    "/item",
                )
        return None

    def _joins(self, key: tuple[int, str, Any], deltas: str, text: Any) -> bool:
        """Whether the deltas make ``text``: all of it, or its end for a text begun before a resumed stream."""
        if not isinstance(text, str):
            return False
        return text.endswith(deltas) if key in self.resumed_texts else deltas == text

    def finish(self) -> None:
        if self.count == 0:
            if not self.resumed:  # resumed after the last event: nothing is left to send
                self.violations.append(stream_finding(-1, None, "empty", "the stream has no events"))
            return
        if self.terminal_at is None:
            self.violations.append(
                stream_finding(
                    -1,
                    None,
                    "terminal_missing",
                    "the stream ends without response.completed, response.incomplete, response.failed or error",
                )
            )
            return
        if self.final is None or self.final_type == "error":
            return
        if self.open_items and self.final_type != "response.failed":  # a failure may cut an item short
            self.violations.append(
                stream_finding(
                    self.terminal_at,
                    self.final_type,
                    "item_order",
                    f"output items {sorted(self.open_items)} never finished",
                )
            )
        done = [item for _, item in sorted(self.done_items, key=lambda pair: pair[0])]
        if self.resumed:  # items finished before the suffix are the stored reply's
            final_output = self.final.get("output") or []
            done = final_output if self.stored is None else self.stored_output
            if final_output != done:
                self.violations.append(
                    stream_finding(
                        self.terminal_at,
                        self.final_type,
                        "final_output",
                        "the final response's output differs from the stored reply's",
                        "/response/output",
                    )
                )
            return
        if done != (self.final.get("output") or []):
            self.violations.append(
                stream_finding(
                    self.terminal_at,
                    self.final_type,
                    "final_output",
                    "the final response's output differs from the items streamed",
                    "/response/output",
                )
            )


def _text_keys(item: Any) -> list[tuple[str, Any]]:
    """The (family, part) of every streamed text an item holds: its content parts, summary parts, arguments, code."""
    if not isinstance(item, dict):
        return []
    kind = item.get("type")
    if kind == "message":
        return [("text", i) for i in range(len(item.get("content") or []))]
    if kind == "reasoning":
        return [("summary", i) for i in range(len(item.get("summary") or []))] + [("reasoning", None)]
    if kind == "function_call":
        return [("arguments", None)]
    if kind == "code_interpreter_call":
        return [("code", None)]
    return []


def _part_added_for(family: str) -> str:
    return "response.content_part.added" if family == "text" else "response.reasoning_summary_part.added"


def _clip(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
