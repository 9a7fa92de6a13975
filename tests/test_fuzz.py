"""Fuzzing the create endpoint in-process: no input makes the mock answer 5xx or crash.

(The one 5xx a profile gives on purpose, the gateway's 503 ``model_not_found``
for a model no channel serves, is checked to be exactly that.)

Two sources: raw bytes (and byte-level mutations of a valid body), and valid
requests mutated as JSON (fields dropped, replaced by any JSON value, added,
nested). Every answer is a 2xx, or a 4xx in the profile's error envelope.
Bounded: a few hundred examples, a few seconds.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from mockserver import create_app
from schemas.behaviour import behaviour

from .conftest import FIXTURES

KEY = "sk-fuzz"
VALID = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((FIXTURES / "requests" / "valid").glob("*.json"))]
VALID = [v.get("request", v) if isinstance(v, dict) and "request" in v and "model" not in v else v for v in VALID]
VALID.append(json.loads((FIXTURES / "documented_request.json").read_text(encoding="utf-8")))

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)

APPS = {profile: create_app(profile=profile, log_requests=False, max_stored=100) for profile in ("gateway", "openai")}


def check(profile: str, body: bytes, content_type: str = "application/json") -> None:
    client = APPS[profile].test_client()
    reply = client.post("/v1/responses", data=body, headers={"Authorization": KEY, "Content-Type": content_type})
    if reply.status_code >= 500:  # only a failure the profile answers with a 5xx on purpose
        unknown_model = behaviour(profile).failure("unknown_model")  # the gateway: 503 model_not_found
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (unknown_model.status, unknown_model.code), (
            reply.status_code,
            body[:200],
            reply.data[:300],
        )
    if reply.status_code >= 400:
        assert schemas.validate(reply.get_json(), "error", profile) == [], reply.data[:300]
    elif reply.mimetype == "text/event-stream":
        reply.get_data()  # the whole stream is produced without error
    else:
        json.loads(reply.data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)

FIELDS = sorted(
    {key for request in VALID for key in request}
    | {
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "previous_response_id",
        "stream",
        "store",
        "metadata",
        "include",
        "truncation",
        "instructions",
    }
)


@st.composite
def mutated_requests(draw) -> dict[str, Any]:
    request = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["drop", "replace", "add", "replace_inner", "stream"]))
        if action == "drop" and request:
            request.pop(draw(st.sampled_from(sorted(request))))
        elif action == "replace" and request:
            request[draw(st.sampled_from(sorted(request)))] = draw(json_values)
        elif action == "add":
            request[draw(st.sampled_from(FIELDS) | st.text(max_size=12))] = draw(json_values)
        elif action == "replace_inner" and isinstance(request.get("input"), list) and request["input"]:
            item = request["input"][draw(st.integers(0, len(request["input"]) - 1))]
            if isinstance(item, dict) and item:
                item[
                    draw(
                        st.sampled_from(sorted(item))
                        | st.sampled_from(["type", "role", "content", "call_id", "output"])
                    )
                ] = draw(json_values)
        elif action == "stream":
            request["stream"] = True
    return request


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@FUZZ
@given(body=st.binary(max_size=512))
def test_raw_bytes(profile, body):
    check(profile, body)


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@FUZZ
@given(data=st.data())
def test_byte_mutations_of_a_valid_body(profile, data):
    body = bytearray(json.dumps(data.draw(st.sampled_from(VALID)), ensure_ascii=False).encode())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, max(len(body) - 1, 0)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip" and body:
            body[position] = data.draw(st.integers(0, 255))
        elif action == "insert":
            body[position:position] = data.draw(
                st.sampled_from([b"{", b"[", b'"', b"\\", b"\\u", b"\xff", b"NaN", b"1e999", b"\x00", b",", b":"])
            )
        elif body:
            del body[position]
    check(profile, bytes(body))


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@FUZZ
@given(request=mutated_requests())
def test_mutated_json_requests(profile, request):
    check(profile, json.dumps(request, ensure_ascii=False).encode())


@FUZZ
@given(
    content_type=st.text(max_size=40).filter(lambda t: "\n" not in t and "\r" not in t),
    body=st.sampled_from([b"{}", json.dumps(VALID[-1]).encode()]),
)
def test_content_types(content_type, body):
    # werkzeug refuses header values it cannot send (ValueError); nothing reached the app
    with contextlib.suppress(ValueError):
        check("gateway", body, content_type)


def test_valid_fixtures_are_the_seeds():
    assert len(VALID) >= 5 and all(isinstance(v, dict) and "model" in v for v in VALID)
    assert Path(FIXTURES / "documented_request.json").exists()
