"""Requests for hypothesis: valid ones from the request schema, and ones that break it.

Valid requests come from ``schemas.bundle("request")`` (the gateway profile's
request schema, every ``$ref`` inlined) through hypothesis-jsonschema, on a
copy narrowed where a fully random request would be pointless or would cost
money for nothing: models the target serves, short texts, input messages only
(no ``function_call_output`` without its call, no ``previous_response_id``,
which is a 4xx when unknown), function tools with simple parameters,
``text.format`` as text, json_object or a small json_schema, no ``stream``
(the streaming tests set it), bounded token limits. A few cross-field rules
that JSON Schema cannot say (``tool_choice`` naming a declared tool,
json_object needing the word "JSON" in the prompt) are repaired after
drawing. Every drawn request is checked against the profile's request
schema, and every broken one is checked to be invalid, so a strategy bug
cannot pass for a finding.

Building a strategy from the schema takes a moment; strategies are built
once per process (``functools.cache``) and reused by every test.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

import schemas
from schemas.behaviour import behaviour as schemas_behaviour

#: Request fields left out of generated requests, and why.
DROPPED = {
    "stream": "the streaming tests set it",
    "stream_options": "only with stream",
    "previous_response_id": "an unknown id is a 4xx; the stateful test chains real ids",
    "background": "asynchronous replies (status queued) are another contract",
    "include": "asks for items the generated requests never produce",
    "service_tier": "an OpenAI billing option",
    "max_tool_calls": "only meaningful with built-in tools",
    "top_logprobs": "not every model serves logprobs",
    "safety_identifier": "an OpenAI abuse-tracking id",
    "prompt_cache_key": "an OpenAI cache hint",
    "user": "superseded by safety_identifier",
}

#: Tool parameter schemas a model can fill in (strict-mode compatible).
TOOL_PARAMETERS = [
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
    {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
    {"type": "object", "properties": {}, "additionalProperties": False},
]

#: Schemas for ``text.format`` json_schema replies.
REPLY_SCHEMAS = [
    {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "string"}}},
        "required": ["items"],
        "additionalProperties": False,
    },
]

#: A short text with at least one visible character (empty prompts are rejected upstream).
#: Control and private-use characters are replaced afterwards (:func:`printable`): a
#: character-class regex here would make generation several times slower.
SHORT_TEXT = {"type": "string", "minLength": 1, "maxLength": 80, "pattern": r"\S"}


def _branch(any_of: list[dict[str, Any]], test: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    """The ``anyOf`` branch ``test`` picks; a clear error if the schema changed shape."""
    for branch in any_of:
        if test(branch):
            return branch
    raise LookupError(f"the request schema has no {what} branch any more; update contract_tests/strategies.py")


def _const_type(branch: dict[str, Any]) -> Any:
    return branch.get("properties", {}).get("type", {}).get("const")


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    kinds = schema.get("type")
    if isinstance(kinds, list):
        kinds = [k for k in kinds if k != "null"]
        schema = {**schema, "type": kinds[0] if len(kinds) == 1 else kinds}
    if "enum" in schema:
        schema = {**schema, "enum": [v for v in schema["enum"] if v is not None]}
    return schema


@functools.cache
def request_schema(models: tuple[str, ...]) -> dict[str, Any]:
    """The bundled gateway request schema, narrowed for generation (a fresh copy per call site)."""
    schema = copy.deepcopy(schemas.bundle("request", "gateway"))
    props = schema["properties"]
    for name in DROPPED:
        props.pop(name, None)
    props["model"] = {"enum": list(models)}

    # input: a short string, or up to three messages of which at least one is the user's
    text_branch = _branch(props["input"]["anyOf"], lambda b: b.get("type") == "string", "string input")
    list_branch = _branch(props["input"]["anyOf"], lambda b: b.get("type") == "array", "list input")
    message = copy.deepcopy(
        _branch(list_branch["items"]["anyOf"], lambda b: "role" in b.get("properties", {}), "input message")
    )
    for extra in ("id", "status"):
        message["properties"].pop(extra, None)
    message["properties"]["role"] = {"enum": [r for r in message["properties"]["role"]["enum"] if r != "assistant"]}
    content = message["properties"]["content"]
    parts = _branch(content["anyOf"], lambda b: b.get("type") == "array", "content part list")
    input_text = copy.deepcopy(
        _branch(parts["items"]["anyOf"], lambda b: _const_type(b) == "input_text", "input_text part")
    )
    input_text["properties"]["text"] = SHORT_TEXT
    content["anyOf"] = [SHORT_TEXT, {"type": "array", "minItems": 1, "maxItems": 2, "items": input_text}]
    props["input"] = {
        "anyOf": [
            {**text_branch, **SHORT_TEXT},
            {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": message,
                "contains": {"properties": {"role": {"const": "user"}}},
            },
        ]
    }

    props["instructions"] = {"anyOf": [SHORT_TEXT, {"type": "null"}]}
    # DashScope takes temperature in [0, 2) and top_p in (0, 1]
    props["temperature"] = {**props["temperature"], "exclusiveMaximum": 2}
    props["temperature"].pop("maximum", None)
    props["top_p"] = {**props["top_p"], "exclusiveMinimum": 0}
    props["top_p"].pop("minimum", None)
    props["max_output_tokens"] = {**props["max_output_tokens"], "maximum": 2048}
    props["max_tokens"] = {**props["max_tokens"], "maximum": 4096}

    # tools: function tools only, with parameters a model can fill in
    function = copy.deepcopy(
        _branch(props["tools"]["items"]["anyOf"], lambda b: _const_type(b) == "function", "function tool")
    )
    function["properties"]["name"] = {"enum": ["get_weather", "add_numbers", "lookup", "now"]}
    function["properties"]["description"] = {"anyOf": [SHORT_TEXT, {"type": "null"}]}
    function["properties"]["parameters"] = {"enum": TOOL_PARAMETERS}
    props["tools"] = {"type": "array", "maxItems": 2, "items": function}
    props["tool_choice"] = {
        "anyOf": [
            _branch(props["tool_choice"]["anyOf"], lambda b: "enum" in b, "tool_choice mode"),
            _branch(props["tool_choice"]["anyOf"], lambda b: _const_type(b) == "function", "tool_choice function"),
        ]
    }

    # text.format: text, json_object, or a small json_schema
    fmt = props["text"]["properties"]["format"]
    json_schema = _branch(fmt["anyOf"], lambda b: _const_type(b) == "json_schema", "json_schema format")
    json_schema["properties"]["name"] = {"enum": ["reply", "fruits"]}
    json_schema["properties"]["schema"] = {"enum": REPLY_SCHEMAS}
    json_schema["properties"].pop("description", None)
    props["text"]["properties"].pop("verbosity", None)

    props["metadata"] = {
        **_not_null(props["metadata"]),
        "maxProperties": 3,
        "propertyNames": {"pattern": "^[a-z]{1,8}$"},
        "additionalProperties": {"type": "string", "maxLength": 20},
    }
    return schema


def printable(value: Any) -> Any:
    """``value`` with control, format and private-use characters in its strings turned into spaces.

    They are valid JSON, but a live model given them rambles or refuses,
    which tests the model rather than the contract.
    """
    if isinstance(value, str):
        return "".join(ch if ch.isprintable() else " " for ch in value)
    if isinstance(value, list):
        return [printable(item) for item in value]
    if isinstance(value, dict):
        return {key: printable(item) for key, item in value.items()}
    return value


def coherent(request: dict[str, Any]) -> dict[str, Any]:
    """Repair what JSON Schema cannot say: tool_choice must fit the tools; json_object needs "JSON" in the prompt."""
    request = printable(request)
    names = list(dict.fromkeys(tool["name"] for tool in request.get("tools", [])))
    if request.get("tools"):
        request["tools"] = [next(t for t in request["tools"] if t["name"] == name) for name in names]
    choice = request.get("tool_choice")
    if isinstance(choice, dict) and choice.get("name") not in names:
        if names:
            request["tool_choice"] = {**choice, "name": names[0]}
        else:
            del request["tool_choice"]
    elif choice == "required" and not names:
        del request["tool_choice"]
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        request["instructions"] = f"{request.get('instructions') or ''} Answer in JSON.".strip()
    return request


@functools.cache
def valid_requests(models: tuple[str, ...], profile: str) -> st.SearchStrategy[dict[str, Any]]:
    """Requests the profile's request schema accepts, for the given models (built once)."""
    return (
        from_schema(request_schema(models))
        .map(coherent)
        .filter(lambda body: schemas.is_valid(body, "request", profile))
    )


# --- Requests that break the schema ------------------------------------------------------------

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")


def _value_of(kind: str) -> st.SearchStrategy[Any]:
    return {
        "string": st.text(max_size=8),
        "integer": st.integers(-(2**31), 2**31),
        "number": st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: not x.is_integer()),
        "boolean": st.booleans(),
        "array": st.lists(st.integers(0, 9), max_size=2),
        "object": st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 9), max_size=1),
        "null": st.none(),
    }[kind]


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (objects and arrays included), for mutating at any depth."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _leaves(child, (*path, index))
    return found


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy_ = copy.copy(value)
    copy_[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy_


@dataclass(frozen=True)
class Broken:
    """A request that breaks the schema: how (``kind``), where (JSON pointer), and which failure it is."""

    kind: str
    pointer: str
    failure: str
    body: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.kind} at {self.pointer or '/'}"


def _range_breakers(properties: dict[str, Any]) -> dict[str, st.SearchStrategy[Any]]:
    """A value beyond the bounds of each numeric top-level field."""
    out = {}
    for name, schema in properties.items():
        kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
        integer = "integer" in kinds
        beyond = []
        if "minimum" in schema:
            low = schema["minimum"]
            beyond.append(st.integers(low - 1000, low - 1) if integer else st.floats(low - 1000, low, exclude_max=True))
        if "maximum" in schema:
            high = schema["maximum"]
            beyond.append(
                st.integers(high + 1, high + 1000) if integer else st.floats(high, high + 1000, exclude_min=True)
            )
        if beyond:
            out[name] = st.one_of(beyond)
    return out


@st.composite
def invalid_requests(draw: st.DrawFn, models: tuple[str, ...], profile: str) -> Broken:
    """A valid request broken one way: a wrong type at any depth, a value out of range or
    not in an enum, ``model`` or ``input`` missing, or an unknown parameter.

    Each is checked to break both the gateway request schema and the run's
    profile's, and carries the ``profiles.json`` failure it is, whose status
    and type the reply must have. Unknown parameters are drawn only where the
    profile rejects them (OpenAI); the gateway accepts and ignores them.
    """
    request = draw(valid_requests(models, profile))
    properties = schemas.bundle("request", "gateway")["properties"]
    ranges = _range_breakers(properties)
    enums = sorted(name for name, schema in properties.items() if "enum" in schema and name != "model")
    kinds = ["wrong_type", "out_of_range", "not_in_enum", "missing_model", "missing_input", "unknown_parameter"]
    if schemas_behaviour(profile).ignores_unknown_parameters:  # accepted and ignored there: no invalid request
        kinds.remove("unknown_parameter")
    kind = draw(st.sampled_from(kinds))
    if kind == "wrong_type":
        path = draw(st.sampled_from(_leaves(request)))
        current = request
        for step in path:
            current = current[step]
        wrong = draw(
            st.sampled_from(
                [
                    k
                    for k in JSON_TYPES
                    if k != _kind_of(current) and not (k == "integer" and _kind_of(current) == "number")
                ]
            )
        )
        broken = Broken(
            kind, schemas.to_pointer(path), "invalid_request", _replaced(request, path, draw(_value_of(wrong)))
        )
    elif kind == "out_of_range":
        name = draw(st.sampled_from(sorted(ranges)))
        broken = Broken(kind, f"/{name}", "invalid_request", {**request, name: draw(ranges[name])})
    elif kind == "not_in_enum":
        name = draw(st.sampled_from(enums))
        broken = Broken(
            kind,
            f"/{name}",
            "invalid_request",
            {**request, name: "x-" + draw(st.text("abcxyz", min_size=1, max_size=6))},
        )
    elif kind in ("missing_model", "missing_input"):
        field = kind.removeprefix("missing_")
        broken = Broken(kind, f"/{field}", kind, {k: v for k, v in request.items() if k != field})
    else:
        name = draw(st.from_regex(r"\Ax_unknown_[a-z]{1,8}\Z"))
        broken = Broken(
            kind, f"/{name}", "unknown_parameter", {**request, name: draw(st.integers(0, 9) | st.text(max_size=4))}
        )
    # a "wrong type" that the schema allows after all (e.g. a null where null is fine) is no test
    assume(not schemas.is_valid(broken.body, "request", profile))
    return broken


#: Bodies that are not a JSON object at all, with the failure each is.
MALFORMED = [
    b"{",
    b'{"model": }',
    b"{'model': 'x'}",
    b'{"model": "a",}',
    b"[]",
    b"null",
    b'"text"',
    b"42",
    b"\xff\xfe{}",
    b"",
]


def malformed_bodies() -> st.SearchStrategy[bytes]:
    """Bytes that are not a JSON object: broken JSON, arrays, scalars, non-UTF-8."""
    return st.sampled_from(MALFORMED) | st.binary(max_size=40).filter(_not_json_object)


def _not_json_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except (ValueError, UnicodeDecodeError):
        return True
