"""The derived ``openai`` profile: a faithful, usable translation of OpenAI's spec.

These tests use ``jsonschema`` and ``referencing`` directly (not the
``schemas`` package API) so they check the generated files themselves: that
they are valid 2020-12, that typical OpenAI traffic passes, that what OpenAI
rejects is rejected, and that the documented gateway reply differs from
OpenAI's shape in exactly the five known places, each reported precisely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from schemas import derive_openai

ROOT = Path(__file__).resolve().parents[1]
PROFILE_DIR = ROOT / "schemas" / "openai"
FIXTURES = ROOT / "fixtures"
BASE_URI = "https://contract.invalid/schemas/openai/"
COMPONENTS = "components.schema.json"
SCHEMA_FILES = sorted(PROFILE_DIR.glob("*.schema.json"))


# --- helpers --------------------------------------------------------------


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _registry() -> Registry:
    documents = [_read(path) for path in SCHEMA_FILES]
    resources = [(d["$id"], Resource.from_contents(d, default_specification=DRAFT202012)) for d in documents]
    return Registry().with_resources(resources).crawl()


REGISTRY = _registry()
_VALIDATORS: dict[str, Draft202012Validator] = {}


def validator(name: str) -> Draft202012Validator:
    """The validator of entry file ``name``, compiled once (as the toolkit does)."""
    if name not in _VALIDATORS:
        _VALIDATORS[name] = Draft202012Validator(_read(PROFILE_DIR / f"{name}.schema.json"), registry=REGISTRY)
    return _VALIDATORS[name]


def leaf_errors(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """Errors with every ``anyOf``/``oneOf`` failure replaced by its most plausible branch's errors."""
    for error in errors:
        branch = _best_branch(error)
        if branch:
            yield from leaf_errors(branch)
        else:
            yield error


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the branch ``best_match`` blames, or [] when it blames none (or no branches)."""
    if not error.context:
        return []
    best = best_match([error])  # descends through nested contexts, preferring deep, type-matching errors
    if best is error:
        return []  # ambiguous: no branch stands out
    while best.parent is not error:  # climb back to the branch directly under ``error``
        best = best.parent
    branch = best.relative_schema_path[0]
    return [e for e in error.context if e.relative_schema_path[0] == branch]


def pointer(error: ValidationError) -> str:
    return "".join(f"/{part}" for part in error.absolute_path)


def problems(name: str, instance: Any) -> set[tuple[str, str]]:
    """(pointer, what is wrong): "missing X" for a required property, else "keyword: message"."""
    found: set[tuple[str, str]] = set()
    for error in leaf_errors(validator(name).iter_errors(instance)):
        if error.validator == "required":
            found.update((pointer(error), f"missing {p}") for p in error.validator_value if p not in error.instance)
        else:
            found.add((pointer(error), f"{error.validator}: {error.message}"))
    return found


def assert_valid(name: str, instance: Any) -> None:
    assert problems(name, instance) == set()


# --- typical OpenAI traffic, written by hand --------------------------------

FUNCTION_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}

USAGE = {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 64},
    "total_tokens": 123,
}

REASONING_ITEM = {"id": "rs_01", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Weather asked."}]}
MESSAGE_ITEM = {
    "id": "msg_01",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Let me look that up.", "annotations": [], "logprobs": []}],
}
FUNCTION_CALL_ITEM = {
    "id": "fc_01",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_01",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}


def openai_response(**changes: Any) -> dict[str, Any]:
    """A complete reply as OpenAI sends it: reasoning, message and function_call items."""
    response = {
        "id": "resp_01",
        "object": "response",
        "created_at": 1741476542,
        "status": "completed",
        "completed_at": 1741476545,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4.1-2025-04-14",
        "output": [REASONING_ITEM, MESSAGE_ITEM, FUNCTION_CALL_ITEM],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [FUNCTION_TOOL],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": USAGE,
        "metadata": {},
    }
    return {**response, **changes}


VALID_REQUESTS = {
    "typical": {"model": "gpt-4.1", "input": "hi"},
    "typed_message": {
        "model": "m",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    },
    "easy_message_without_type": {"model": "m", "input": [{"role": "developer", "content": "Be brief."}]},
    "previous_assistant_turn": {
        "model": "m",
        "input": [{"role": "user", "content": "hi"}, MESSAGE_ITEM, {"role": "user", "content": "and?"}],
    },
    "function_tool_and_json_schema": {
        "model": "gpt-4.1",
        "input": "Weather in Paris, as JSON.",
        "tools": [FUNCTION_TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "weather",
                "strict": True,
                "schema": {"type": "object", "properties": {"celsius": {"type": "number"}}},
            }
        },
    },
    "function_call_output": {
        "model": "gpt-4.1",
        "tools": [FUNCTION_TOOL],
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            REASONING_ITEM,
            FUNCTION_CALL_ITEM,
            {"type": "function_call_output", "call_id": "call_01", "output": '{"celsius": 21}'},
        ],
    },
    "item_reference": {"model": "m", "input": [{"type": "item_reference", "id": "msg_01"}, {"id": "msg_02"}]},
    "nested_file_search_filters": {
        "model": "m",
        "input": "find it",
        "tools": [
            {
                "type": "file_search",
                "vector_store_ids": ["vs_1"],
                "filters": {
                    "type": "and",
                    "filters": [
                        {"type": "eq", "key": "lang", "value": "en"},
                        {"type": "or", "filters": [{"type": "gte", "key": "year", "value": 2024}]},
                    ],
                },
            }
        ],
    },
    "sampling_and_limits": {
        "model": "m",
        "input": "x",
        "temperature": 2,
        "top_p": 0,
        "max_output_tokens": 16,
        "stream": True,
        "reasoning": {"effort": "low"},
        "metadata": {"k": "v"},
        "store": False,
    },
}


@pytest.mark.parametrize("name", VALID_REQUESTS)
def test_typical_request_is_valid(name: str) -> None:
    assert_valid("request", VALID_REQUESTS[name])


def test_documented_request_is_valid() -> None:
    request = _read(FIXTURES / "documented_request.json")
    assert "max_tokens" in request  # the gateway's alias, accepted by both profiles
    assert_valid("request", request)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"foo": 1}, {("", "additionalProperties: Additional properties are not allowed ('foo' was unexpected)")}),
        ({"temperature": 3}, {("/temperature", "maximum: 3 is greater than the maximum of 2")}),
        ({"max_output_tokens": 5}, {("/max_output_tokens", "minimum: 5 is less than the minimum of 16")}),
        ({"max_tokens": 0}, {("/max_tokens", "minimum: 0 is less than the minimum of 1")}),
        ({"input": None}, {("/input", "not: None should not be valid under {'type': 'null'}")}),
    ],
    ids=["unknown_parameter", "temperature_3", "max_output_tokens_5", "max_tokens_0", "input_null"],
)
def test_request_rejected_precisely(change: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    """One error, at the parameter: a bad value is not also reported as an unknown parameter.

    (``unevaluatedProperties: false`` would add "'temperature' was unexpected"
    to the ``temperature: 3`` case; the request schema lists known names instead.)
    """
    assert problems("request", {"model": "m", "input": "x", **change}) == expected


@pytest.mark.parametrize("missing", ["model", "input"])
def test_request_requires_model_and_input(missing: str) -> None:
    request = {"model": "m", "input": "x"}
    del request[missing]
    assert problems("request", request) == {("", f"missing {missing}")}


def test_bad_input_item_is_reported_inside_its_branch() -> None:
    request = {"model": "m", "input": [{"type": "function_call_output", "call_id": "call_01"}]}
    assert problems("request", request) == {("/input/0", "missing output")}


# --- replies ---------------------------------------------------------------


def test_openai_response_is_valid() -> None:
    assert_valid("response", openai_response())


@pytest.mark.parametrize(
    ("name", "item"),
    [("message", MESSAGE_ITEM), ("reasoning", REASONING_ITEM), ("function_call", FUNCTION_CALL_ITEM)]
    + [("output_item", item) for item in (MESSAGE_ITEM, REASONING_ITEM, FUNCTION_CALL_ITEM)],
)
def test_output_items_are_valid(name: str, item: dict[str, Any]) -> None:
    assert_valid(name, item)


def test_usage_content_error_deleted_and_list_are_valid() -> None:
    assert_valid("usage", USAGE)
    assert_valid("output_content", {"type": "refusal", "refusal": "I can't help with that."})
    error = {"type": "invalid_request_error", "message": "bad", "param": "model", "code": None}
    assert_valid("error", {"error": error})
    assert_valid("deleted", {"id": "resp_01", "object": "response.deleted", "deleted": True})
    assert_valid(
        "input_items_list",
        {
            "object": "list",
            "data": [
                {"id": "msg_00", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]}
            ],
            "first_id": "msg_00",
            "last_id": "msg_00",
            "has_more": False,
        },
    )


def test_gateway_error_envelope_lacks_param() -> None:
    gateway_error = {"error": {"message": "无效的令牌 (request id: 1)", "type": "new_api_error", "code": ""}}
    assert problems("error", gateway_error) == {("/error", "missing param")}


def test_documented_response_deviates_in_exactly_four_places() -> None:
    """The gateway's documented reply is not OpenAI's shape; these are the known deviations, all of them.

    (No ``logprobs`` is not one: OpenAI's own documented replies leave it out too.)"""
    documented = _read(FIXTURES / "documented_response.json")
    assert problems("response", documented) == {
        ("", "missing error"),
        ("", "missing incomplete_details"),
        ("", "missing instructions"),
        ("/usage/input_tokens_details", "missing cache_write_tokens"),
    }


# --- stream events ---------------------------------------------------------


def stream(response: dict[str, Any]) -> list[dict[str, Any]]:
    """A plain-text stream as OpenAI sends it."""
    in_progress = {**response, "status": "in_progress", "output": [], "completed_at": None}
    del in_progress["usage"]  # OpenAI sends "usage": null here, which the spec does not allow
    item = {**MESSAGE_ITEM, "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    ids = {"item_id": "msg_01", "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **ids, "part": part},
        {"type": "response.output_text.delta", **ids, "delta": "Hi", "logprobs": []},
        {"type": "response.output_text.done", **ids, "text": "Hi", "logprobs": []},
        {"type": "response.content_part.done", **ids, "part": {**part, "text": "Hi"}},
        {"type": "response.output_item.done", "output_index": 0, "item": MESSAGE_ITEM},
        {"type": "response.completed", "response": response},
    ]
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


@pytest.mark.parametrize("index", range(9))
def test_stream_events_are_valid(index: int) -> None:
    assert_valid("event", stream(openai_response(output=[MESSAGE_ITEM]))[index])


def test_event_errors_are_precise() -> None:
    delta = {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_01", "output_index": 0}
    assert problems("event", delta) == {("", "missing content_index"), ("", "missing delta")}
    unknown = {"type": "response.nonsense", "sequence_number": 0}
    ((where, message),) = problems("event", unknown)
    assert where == "/type" and message.startswith("enum: 'response.nonsense' is not one of")


def test_all_58_event_types_are_dispatched() -> None:
    dispatch = _read(PROFILE_DIR / "components.schema.json")["$defs"]["ResponseStreamEvent"]
    types = dispatch["properties"]["type"]["enum"]
    assert len(types) == len(set(types)) == 58
    assert len(dispatch["allOf"]) == 58 and dispatch["required"] == ["type"]


# --- the files themselves ----------------------------------------------------


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_file_is_valid_2020_12_with_its_id(path: Path) -> None:
    schema = _read(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + path.name
    Draft202012Validator.check_schema(schema)


def test_every_entry_point_exists() -> None:
    expected = {f"{name}.schema.json" for name in derive_openai.ENTRY_POINTS} | {
        "components.schema.json",
        "deleted.schema.json",
        *derive_openai.sdk_documents({}),
    }
    assert {p.name for p in SCHEMA_FILES} == expected


_PROSE_OR_OPENAPI = {
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "discriminator",
    "$recursiveRef",
    "$recursiveAnchor",
    "nullable",
    "oneOf",
}


def _schema_keywords(node: Any) -> Iterator[str]:
    """Keywords used at schema positions (not the names of properties, which may be "description")."""
    if isinstance(node, list):
        for item in node:
            yield from _schema_keywords(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key in ("properties", "patternProperties", "$defs", "dependentSchemas"):
                for sub in value.values():
                    yield from _schema_keywords(sub)
            elif key not in ("enum", "const", "required"):
                yield from _schema_keywords(value)


def test_components_carry_no_prose_and_no_openapi_keywords() -> None:
    components = _read(PROFILE_DIR / "components.schema.json")
    used = set(_schema_keywords(components["$defs"]))
    assert used & _PROSE_OR_OPENAPI == set()
    assert not [k for k in used if k.startswith("x-")]
    formats = {node["format"] for node in _nodes(components) if isinstance(node.get("format"), str)}
    assert formats <= {"uri"}  # unixtime and float are not JSON Schema formats


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_generated_files_are_up_to_date() -> None:
    """The files on disk are exactly what the script derives from the spec (deterministic output)."""
    if not derive_openai.DEFAULT_SPEC.is_file():
        pytest.skip(f"spec not available at {derive_openai.DEFAULT_SPEC}")
    files, _ = derive_openai.derive(_read(derive_openai.DEFAULT_SPEC))
    assert derive_openai.stale_files(files, PROFILE_DIR) == []


def _variants(instance: dict[str, Any], types: Iterable[Any]) -> Iterator[Any]:
    """``instance``, each one-key removal of it, and it with each of ``types`` (or no ``type``)."""
    yield instance
    for key in instance:
        yield {k: v for k, v in instance.items() if k != key}
    for value in types:
        yield {**instance, "type": value}


def _plain_union_validator(component: str) -> Draft202012Validator:
    """A validator for ``component`` in which every union is a plain ``anyOf`` (no dispatch)."""
    if not derive_openai.DEFAULT_SPEC.is_file():
        pytest.skip(f"spec not available at {derive_openai.DEFAULT_SPEC}")
    plain, _ = derive_openai.components_document(_read(derive_openai.DEFAULT_SPEC), dispatch=False)
    registry = Registry().with_resource(plain["$id"], Resource.from_contents(plain)).crawl()
    return Draft202012Validator({"$ref": f"{plain['$id']}#/$defs/{component}"}, registry=registry)


_ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning", "item_reference", None, "nope"]
_EVENT_TYPES = ["response.output_text.delta", "response.completed", "response.created", "error", "nope"]
_DIFFERENTIAL_CASES = {
    "InputItem": [item for r in VALID_REQUESTS.values() if isinstance(r["input"], list) for item in r["input"]],
    "OutputItem": [REASONING_ITEM, MESSAGE_ITEM, FUNCTION_CALL_ITEM],
    "ResponseStreamEvent": stream(openai_response(output=[MESSAGE_ITEM])),
}


@pytest.mark.parametrize("component", _DIFFERENTIAL_CASES)
def test_dispatch_accepts_exactly_what_the_plain_union_accepts(component: str) -> None:
    """The ``type`` dispatch is a faithful rewrite: same verdicts as ``anyOf`` over the branches."""
    plain = _plain_union_validator(component)
    dispatched = Draft202012Validator({"$ref": f"{BASE_URI}{COMPONENTS}#/$defs/{component}"}, registry=REGISTRY)
    types = _EVENT_TYPES if component == "ResponseStreamEvent" else _ITEM_TYPES
    verdicts = [
        (variant, plain.is_valid(variant), dispatched.is_valid(variant))
        for instance in _DIFFERENTIAL_CASES[component]
        for variant in _variants(instance, types)
    ]
    assert any(ok for _, ok, _ in verdicts) and not all(ok for _, ok, _ in verdicts)
    assert [v for v in verdicts if v[1] != v[2]] == []


# --- cross-check the hand-written reply with the openai SDK's own model -------


@pytest.mark.sdk
def test_hand_written_response_parses_with_the_openai_sdk() -> None:
    responses = pytest.importorskip("openai.types.responses")
    parsed = responses.Response.model_validate(openai_response())
    assert [item.type for item in parsed.output] == ["reasoning", "message", "function_call"]
    assert parsed.usage is not None and parsed.usage.input_tokens_details.cached_tokens == 0
