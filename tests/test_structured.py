"""Structured output: ``text.format`` json_schema (strict or not) and json_object."""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import schemas
from mockserver import create_app
from schemas.stream import parse_sse, validate_sse

from .conftest import API_KEY
from .schema_strategies import json_schemas

ORDER = {
    "type": "object",
    "properties": {
        "customer": {"$ref": "#/$defs/Customer"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 1},
        "note": {"type": ["string", "null"]},
        "placed_at": {"type": "string", "format": "date-time"},
    },
    "required": ["customer", "lines", "note", "placed_at"],
    "additionalProperties": False,
    "$defs": {
        "Customer": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "tier": {"enum": ["free", "pro"]},
            },
            "required": ["name", "email", "tier"],
            "additionalProperties": False,
        },
        "Line": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 9},
            },
            "required": ["sku", "quantity"],
            "additionalProperties": False,
        },
    },
}


def json_schema_format(schema, *, strict=True, name="order"):
    return {"format": {"type": "json_schema", "name": name, "schema": schema, "strict": strict}}


def create(client, **body):
    body.setdefault("model", "qwen-plus")
    return client.post("/v1/responses", json=body)


def output_text(body):
    return body["output"][-1]["content"][0]["text"]


def test_json_schema_output_validates_against_the_schema(client):
    reply = create(client, input="Make up an order", text=json_schema_format(ORDER))
    assert reply.status_code == 200
    document = json.loads(output_text(reply.json))
    assert Draft202012Validator(ORDER).is_valid(document)
    assert not schemas.validate(reply.json, "response", "gateway")


def test_same_request_same_seed_same_document():
    def document(seed):
        client = create_app(seed=seed, api_keys=[API_KEY]).test_client()
        return output_text(
            client.post(
                "/v1/responses",
                json={"model": "qwen-plus", "input": "order", "text": json_schema_format(ORDER)},
                headers={"Authorization": API_KEY},
            ).json
        )

    assert document(3) == document(3)
    assert len({document(seed) for seed in range(5)}) > 1


def test_json_object_is_a_json_object_built_from_the_reply(client):
    text = output_text(create(client, input="用JSON介绍一下杭州", text={"format": {"type": "json_object"}}).json)
    document = json.loads(text)
    assert isinstance(document, dict) and document["answer"] and "杭州" in document["topic"]


NOT_STRICT = [
    ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}, "Missing 'a'"),
    (
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        "'additionalProperties' is required",
    ),
    ({"type": "array", "items": {"type": "string"}}, "root schema must be of type 'object'"),
]


@pytest.mark.parametrize(
    "profile, schema, strict, expected",
    [
        ("gateway", {"type": "object", "properties": {"a": {"type": "strin"}}}, False, "properties/a/type"),
        ("openai", {"type": "object", "properties": {"a": {"type": "strin"}}}, False, "properties/a/type"),
        (
            "gateway",
            {"type": "object", "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 1}}, "required": ["a"]},
            False,
            "between 5 and 1",
        ),
        (
            "openai",
            {"type": "object", "properties": {"a": {"type": "integer", "minimum": 5, "maximum": 1}}, "required": ["a"]},
            False,
            "between 5 and 1",
        ),
        *[
            ("openai", schema, True, expected) for schema, expected in NOT_STRICT
        ],  # strict mode is enforced by OpenAI only
    ],
)
def test_unusable_schema_is_a_400_invalid_json_schema(profile, schema, strict, expected):
    client = create_app(profile=profile, api_keys=[API_KEY]).test_client()
    reply = client.post(
        "/v1/responses",
        json={"model": "qwen-plus", "input": "x", "text": json_schema_format(schema, strict=strict)},
        headers={"Authorization": API_KEY},
    )
    assert reply.status_code == 400
    error = reply.json["error"]
    assert error["code"] == "invalid_json_schema" and expected in error["message"] and "'order'" in error["message"]
    assert not schemas.validate(reply.json, "error", profile)
    if profile == "openai":
        assert error["param"] == "text.format.schema"


@pytest.mark.parametrize("schema", [schema for schema, _ in NOT_STRICT])
def test_gateway_does_not_enforce_strict_mode_but_the_output_still_fits(client, schema):
    reply = create(client, input="x", text=json_schema_format(schema, strict=True))
    assert reply.status_code == 200
    assert Draft202012Validator(schema).is_valid(json.loads(output_text(reply.json)))


def test_streamed_structured_output_reassembles_into_the_document(client):
    raw = create(
        client, model="qwen3.6-plus", input="order please", text=json_schema_format(ORDER), stream=True
    ).get_data(as_text=True)
    assert validate_sse(raw, "gateway") == []
    events = [e.json for e in parse_sse(raw).events]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert Draft202012Validator(ORDER).is_valid(json.loads(text))
    assert text == output_text(events[-1]["response"])


SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), strict=st.booleans())
def test_output_always_fits_a_generated_schema(client, data, strict):
    schema = data.draw(json_schemas(strict=strict), label="schema")
    reply = create(
        client, input="填一下" if strict else "fill it in", store=False, text=json_schema_format(schema, strict=strict)
    )
    assert reply.status_code == 200, reply.json
    errors = list(Draft202012Validator(schema).iter_errors(json.loads(output_text(reply.json))))
    assert not errors, [e.message for e in errors]


#: What each format's value must parse as (Python's own parsers, not only a format checker).
FORMAT_PARSERS = {
    "date-time": lambda v: datetime.datetime.fromisoformat(v),
    "date": lambda v: datetime.date.fromisoformat(v),
    "time": lambda v: datetime.time.fromisoformat(v),
    "email": lambda v: v.split("@")[1].index("."),
    "hostname": lambda v: v.index("."),
    "ipv4": lambda v: ipaddress.IPv4Address(v),
    "ipv6": lambda v: ipaddress.IPv6Address(v),
    "uri": lambda v: v.index("://"),
    "uuid": lambda v: uuid.UUID(v),
    "duration": lambda v: v.startswith("PT") or v[2],
}


@pytest.mark.parametrize("name", sorted(FORMAT_PARSERS))
def test_formatted_strings_parse_and_pass_the_2020_12_checker(name):
    from mockserver.reply.instances import generate

    schema = {"type": "object", "properties": {"value": {"type": "string", "format": name}}, "required": ["value"]}
    checker = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for seed in range(20):
        document = generate(schema, random.Random(seed))
        assert checker.is_valid(document), document
        FORMAT_PARSERS[name](document["value"])  # raises if the value is not in the format
