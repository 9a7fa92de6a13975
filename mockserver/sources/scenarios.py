"""Canned answers from files: ``python -m mockserver --scenarios DIR``.

A scenario pairs a request pattern (model, last user message, metadata,
stream flag) with a fixed reply: text, output items, an error, or a
recorded event stream; text and output replies may stream with physics of
their own (``pacing``: ttft, tokens per second, jitter). The format is documented in
``fixtures/scenarios/README.md`` and checked by ``schemas/scenario.schema.json``.

Everything that can be wrong with a folder is found when the mock starts,
not when the first request happens to reach the broken scenario: each error
is a ``ConfigError`` naming the file and the JSON pointer of the field. A
scenario that could never answer (a model the mock does not serve, a stream
scenario restricted to plain requests) is an error too, because a silent
dead scenario is the hardest kind of test bug to find.

Text and output replies are built by the generator (``generator.py``), so
they get ids, usage, storing and streaming exactly as a generated reply
would; error and stream replies are canned answers, sent as written. How
often a ``times``-limited scenario has answered is counted in the store, so
that worker processes sharing one store share the count.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

import schemas
from schemas.behaviour import behaviour
from schemas.loader import SCHEMA_ROOT, read_json
from schemas.recording import split_blocks
from schemas.stream import validate_sse
from schemas.validation import to_pointer, violations_from

from ..config import ConfigError, MockConfig, Pacing
from ..reply import CannedReply, Reply, ResponseReply
from ..reply.ids import ids_for
from ..reply.response import normalise_input, with_ids
from ..reply.text import last_user_text
from ..state.store import Store
from . import CreateRequest, Source
from .generator import GeneratorSource

log = logging.getLogger("mockserver")

SCHEMA_PATH = SCHEMA_ROOT / "scenario.schema.json"


def counter_name(scenario_name: str) -> str:
    """The store value counting the answers of a ``times``-limited scenario."""
    return f"scenario:{scenario_name}"


@dataclass(frozen=True)
class Place:
    """Where a scenario was read: its file and, for a file holding a list, its index."""

    path: Path
    index: int | None = None

    def error(self, pointer: str, message: str) -> ConfigError:
        """A ``ConfigError`` as ``FILE: [INDEX]/POINTER: MESSAGE``."""
        where = f"[{self.index}]{pointer}" if self.index is not None else (pointer or "/")
        return ConfigError(f"{self.path}: {where}: {message}")

    def __str__(self) -> str:
        return f"{self.path} [{self.index}]" if self.index is not None else str(self.path)


class Answer(Protocol):
    """What a scenario answers with, given the request and the generator."""

    def reply(self, request: CreateRequest, generator: GeneratorSource) -> Reply:
        """The reply to ``request``."""
        ...


@dataclass(frozen=True)
class TextReply:
    """Fixed assistant text; everything else (ids, usage, reasoning, storing, streaming) as generated."""

    text: str

    def reply(self, request: CreateRequest, generator: GeneratorSource) -> Reply:
        """A generated reply whose text is this one."""
        return generator.reply(request, text=self.text)


@dataclass(frozen=True)
class OutputReply:
    """Fixed output items (their ids left out: each reply gets new ones)."""

    items: tuple[dict[str, Any], ...]

    def reply(self, request: CreateRequest, generator: GeneratorSource) -> Reply:
        """A completed reply whose output is these items."""
        return generator.reply(request, output=[dict(item) for item in self.items])


@dataclass(frozen=True)
class ErrorReply:
    """A status, a JSON body and headers, sent as written (not in the profile's error envelope)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def reply(self, request: CreateRequest, generator: GeneratorSource) -> Reply:
        """The canned answer; the scenario's headers replace the JSON content type, whatever their case."""
        payload = json.dumps(self.body, ensure_ascii=False).encode("utf-8")
        return CannedReply(self.status, {"Content-Type": "application/json", **self.headers}, body=payload)


@dataclass(frozen=True)
class StreamReply:
    """A recorded event stream, sent block by block as read from the file (not stored)."""

    file: Path
    blocks: tuple[bytes, ...]
    delay_ms: float = 0.0

    def reply(self, request: CreateRequest, generator: GeneratorSource) -> Reply:
        """The stream, ``delay_ms`` between blocks."""
        gap = self.delay_ms / 1000
        return CannedReply(200, blocks=self.blocks, waits=tuple(gap if i else 0.0 for i in range(len(self.blocks))))


@dataclass(frozen=True)
class Scenario:
    """One request pattern and its reply. Unset match fields match anything."""

    name: str
    place: Place
    reply: Answer
    model: str | None = None
    input_kind: str | None = None  # "exact", "contains" or "regex"
    input_value: str = ""
    input_pattern: re.Pattern[str] | None = None  # input_value compiled, for "regex"
    metadata: dict[str, str] = field(default_factory=dict)
    stream: bool | None = None
    times: int | None = None
    #: Streaming physics of this scenario's replies (None: the server's).
    pacing: Pacing | None = None

    def matches(self, body: dict[str, Any], user_text: str) -> bool:
        """Whether this scenario's pattern matches ``body`` (``user_text``: its last user message)."""
        if self.model is not None and body.get("model") != self.model:
            return False
        if self.stream is not None and bool(body.get("stream")) != self.stream:
            return False
        metadata = body.get("metadata") or {}
        if any(metadata.get(key) != value for key, value in self.metadata.items()):
            return False
        if self.input_kind == "exact":
            return user_text == self.input_value
        if self.input_kind == "contains":
            return self.input_value in user_text
        if self.input_pattern is not None:
            return self.input_pattern.search(user_text) is not None
        return True


def request_user_text(body: dict[str, Any]) -> str:
    """The text of the last ``user`` message of this request's input (not of earlier turns)."""
    items = normalise_input(body.get("input", ""), ids_for(behaviour("gateway")))
    return last_user_text([item for item in items if item.get("type") == "message" and item.get("role") == "user"])


class ScenarioSource(Source):
    """The first matching scenario answers; else the next source does.

    ``generator`` builds the replies of text and output scenarios; ``store``
    counts the answers of ``times``-limited ones (shared by workers that
    share it).
    """

    def __init__(self, scenarios: list[Scenario], generator: GeneratorSource, store: Store):
        self.scenarios = scenarios
        self.generator = generator
        self.store = store

    def answer(self, request: CreateRequest) -> Reply | None:
        """The reply of the first scenario that matches and is not used up, or None."""
        body = request.body
        user_text = request_user_text(body) if any(s.input_kind for s in self.scenarios) else ""
        for scenario in self.scenarios:
            if not scenario.matches(body, user_text):
                continue
            if scenario.times is not None and self.store.incr(counter_name(scenario.name)) > scenario.times:
                continue  # used up: later scenarios, then the next source
            log.info("scenario: %s answers", scenario.name)
            reply = scenario.reply.reply(request, self.generator)
            if scenario.pacing is not None and isinstance(reply, ResponseReply):
                reply = replace(reply, pacing=scenario.pacing)
            return reply
        return None

    def reset(self) -> None:
        """Let every ``times``-limited scenario answer its full count again."""
        for scenario in self.scenarios:
            if scenario.times is not None:
                self.store.set_value(counter_name(scenario.name), 0)


def load_scenarios(folder: Path, config: MockConfig) -> list[Scenario]:
    """Every scenario of the ``*.json`` files in ``folder`` (name order), checked; errors name file and field."""
    folder = Path(folder)
    scenarios: list[Scenario] = []
    seen: dict[str, Place] = {}
    for path in sorted(p for p in folder.glob("*.json") if p.is_file() and not p.name.startswith(".")):
        for place, raw in file_entries(path):
            scenario = parse_scenario(raw, place, config)
            if scenario.name in seen:
                raise place.error(
                    "/name", f"duplicate scenario name {scenario.name!r} (first in {seen[scenario.name]})"
                )
            seen[scenario.name] = place
            scenarios.append(scenario)
    log.info("scenarios: %d scenario(s) from %s", len(scenarios), folder)
    return scenarios


def file_entries(path: Path) -> list[tuple[Place, Any]]:
    """The raw scenarios of one file: one object, or a list of them (each placed by its index)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read scenario file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, list):
        return [(Place(path, index), raw) for index, raw in enumerate(data)]
    if isinstance(data, dict):
        return [(Place(path), data)]
    raise ConfigError(f"{path}: /: must hold a scenario object or a list of them, not {type(data).__name__}")


def parse_scenario(raw: Any, place: Place, config: MockConfig) -> Scenario:
    """One scenario, checked against the schema and then against this mock's configuration."""
    check_schema(raw, place)
    match = raw.get("match", {})
    reply = parse_reply(raw["reply"], match, place, config)
    model = match.get("model")
    if model is not None and config.model(model) is None:
        served = ", ".join(m.id for m in config.models)
        raise place.error(
            "/match/model",
            f"{model!r} is not served by this mock (served: {served}), so no request for it reaches a scenario",
        )
    input_kind, input_value = next(iter(match["input"].items())) if "input" in match else (None, "")
    stream = match.get("stream")
    if isinstance(reply, StreamReply):
        stream = True  # a recorded stream answers streamed requests only (checked above)
    pacing = None
    if "pacing" in raw:
        if isinstance(reply, (StreamReply, ErrorReply)):
            raise place.error("/pacing", "applies to text and output replies (a recorded stream keeps its delay_ms)")
        pacing = Pacing(**raw["pacing"])
    return Scenario(
        name=raw["name"],
        place=place,
        reply=reply,
        model=model,
        input_kind=input_kind,
        input_value=input_value,
        input_pattern=compiled(input_value, place) if input_kind == "regex" else None,
        metadata=dict(match.get("metadata", {})),
        stream=stream,
        times=raw.get("times"),
        pacing=pacing,
    )


def compiled(regex: str, place: Place) -> re.Pattern[str]:
    """The scenario's ``regex``, compiled; a ``ConfigError`` naming it when it does not compile."""
    try:
        return re.compile(regex)
    except re.error as exc:
        raise place.error("/match/input/regex", f"not a valid regular expression: {exc}") from None


def parse_reply(raw: dict[str, Any], match: dict[str, Any], place: Place, config: MockConfig) -> Answer:
    """The reply part of a scenario: text, output items, an error or a recorded stream."""
    if "text" in raw:
        return TextReply(raw["text"])
    if "output" in raw:
        return OutputReply(tuple(checked_items(raw["output"], place, config.profile)))
    if "error" in raw:
        error = raw["error"]
        return ErrorReply(error["status"], error["body"], dict(error.get("headers", {})))
    if match.get("stream") is False:
        raise place.error("/match/stream", "must not be false: a reply.stream scenario answers streamed requests only")
    return StreamReply(*checked_stream(raw["stream"], place, config.profile), float(raw.get("delay_ms", 0)))


def checked_items(items: list[dict[str, Any]], place: Place, profile: str) -> list[dict[str, Any]]:
    """The items as written, after checking each (with placeholder ids) against the profile's ``output_item`` schema."""
    ids = ids_for(behaviour(profile))
    for index, item in enumerate(items):
        violations = schemas.validate(with_ids(item, ids), "output_item", profile)
        if violations:
            first = violations[0]
            raise place.error(f"/reply/output/{index}{first.path}", f"{first.message} (not a {profile} output item)")
    return items


def checked_stream(name: str, place: Place, profile: str) -> tuple[Path, tuple[bytes, ...]]:
    """The blocks of the recorded stream file ``name``, after checking it is a valid stream of the profile."""
    path = place.path.parent / name
    if Path(name).name != name or name in (".", "..") or "\\" in name:
        raise place.error(
            "/reply/stream", f"{name!r}: must be the name of a file next to the scenario file, without a folder"
        )
    try:
        data = path.read_bytes()
    except OSError:
        raise place.error("/reply/stream", f"no such stream file: {path}") from None
    try:
        violations = validate_sse(data, profile)
    except UnicodeDecodeError as exc:
        raise place.error("/reply/stream", f"{path.name} is not UTF-8: {exc}") from None
    if violations:
        raise place.error("/reply/stream", f"{path.name} is not a valid {profile} stream: {violations[0]}")
    return path, tuple(split_blocks(data))


def check_schema(raw: Any, place: Place) -> None:
    """Raise for the first violation of ``schemas/scenario.schema.json`` (by pointer)."""
    errors = sorted(scenario_validator().iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        pointer, message = describe(errors[0])
        raise place.error(pointer, message)


def describe(error: ValidationError) -> tuple[str, str]:
    """The pointer and message for one schema error: the leaf for unions, a plain sentence for "exactly one of"."""
    alternatives = (
        [branch.get("required", [None])[0] for branch in error.validator_value] if error.validator == "oneOf" else []
    )
    if alternatives and all(alternatives) and all(set(branch) == {"required"} for branch in error.validator_value):
        present = [name for name in alternatives if name in error.instance]
        found = f" (found {', '.join(present)})" if present else ""
        return to_pointer(error.absolute_path), f"needs exactly one of {', '.join(alternatives)}{found}"
    if error.validator == "dependentRequired":
        key = next(
            k
            for k, needs in error.validator_value.items()
            if k in error.instance and not all(n in error.instance for n in needs)
        )
        return to_pointer([*error.absolute_path, key]), f"goes only with {', '.join(error.validator_value[key])}"
    violation = min(violations_from([error]))
    return violation.path, violation.message


@functools.cache
def scenario_validator() -> Draft202012Validator:
    """The scenario schema, compiled once per process."""
    return Draft202012Validator(read_json(SCHEMA_PATH))
