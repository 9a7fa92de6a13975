"""Gateway fidelity: each profile behaves as ``schemas/profiles.json`` says, and the two differ."""

from __future__ import annotations

import json
import time

import pytest

import schemas
from mockserver import ConfigError, create_app
from mockserver.config import load_keys_file
from schemas.behaviour import behaviour

from .conftest import load_fixture

DOCUMENTED = load_fixture("documented_request.json")

KEYS = [
    {"key": "sk-good"},
    {"key": "sk-old", "expires_at": 1_000_000_000},
    {"key": "sk-two-calls", "quota": 2},
    {"key": "sk-only-turbo", "models": ["qwen-turbo"]},
    {"key": "sk-broke", "account_exhausted": True},
]

PROFILES = ("gateway", "openai")


def post(profile, key, body=DOCUMENTED, **config):
    app = create_app(profile=profile, api_keys=KEYS, **config)
    return app, app.test_client().post("/v1/responses", json=body, headers={"Authorization": f"Bearer {key}"})


def assert_failure(reply, profile, failure):
    spec = behaviour(profile).failure(failure)
    body = reply.get_json()
    assert reply.status_code == spec.status, body
    assert schemas.validate(body, "error", profile) == []
    assert (body["error"]["type"], body["error"]["code"]) == (spec.type, spec.code)
    header = behaviour(profile).request_id_header
    assert reply.headers[header]
    if profile == "gateway":
        assert "param" not in body["error"]
        assert body["error"]["message"].endswith(f"(request id: {reply.headers[header]})")
    else:
        assert "param" in body["error"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("key", "failure"),
    [
        ("sk-nope", "invalid_key"),
        ("sk-old", "expired_key"),
        ("sk-only-turbo", "model_not_allowed"),
        ("sk-broke", "insufficient_quota"),
    ],
)
def test_key_failures(profile, key, failure):
    _, reply = post(profile, key)
    assert_failure(reply, profile, failure)


@pytest.mark.parametrize("profile", PROFILES)
def test_key_quota_is_used_up(profile):
    app = create_app(profile=profile, api_keys=KEYS)
    client = app.test_client()
    statuses = [
        client.post("/v1/responses", json=DOCUMENTED, headers={"Authorization": "sk-two-calls"}) for _ in range(3)
    ]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    assert_failure(statuses[2], profile, "key_quota_exhausted")


def test_a_key_limited_to_a_model_may_use_it():
    _, reply = post("gateway", "sk-only-turbo", {"model": "qwen-turbo", "input": "hi"})
    assert reply.status_code == 200


@pytest.mark.parametrize("profile", PROFILES)
def test_unknown_model_status_differs_by_profile(profile):
    _, reply = post(profile, "sk-good", {**DOCUMENTED, "model": "qwen-404"})
    assert_failure(reply, profile, "unknown_model")
    assert reply.status_code == {"gateway": 503, "openai": 400}[profile]


@pytest.mark.parametrize("profile", PROFILES)
def test_missing_input_is_a_4xx_not_the_gateways_500(profile):
    _, reply = post(profile, "sk-good", {"model": "qwen-plus"})
    assert_failure(reply, profile, "missing_input")
    assert 400 <= reply.status_code < 500


def test_the_two_profiles_give_different_envelopes_for_the_same_failure():
    _, gateway = post("gateway", "sk-nope")
    _, openai = post("openai", "sk-nope")
    assert gateway.get_json()["error"]["type"] == "new_api_error"
    assert openai.get_json()["error"]["type"] == "invalid_request_error"
    assert schemas.validate(gateway.get_json(), "error", "openai") != []


def test_keys_file_errors_name_the_file_and_entry(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"key": "sk-a"}, {"key": "sk-b", "quota": -1}]), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path.name}: \[1\]\.quota"):
        load_keys_file(path)
    path.write_text(json.dumps([{"models": []}]), encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path.name}: \[0\]"):
        load_keys_file(path)


def test_keys_file_loads_limits(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(
        json.dumps([{"key": "sk-a", "models": ["qwen-plus"], "quota": 3, "expires_at": time.time() + 60}, "sk-b"]),
        encoding="utf-8",
    )
    first, second = load_keys_file(path)
    assert first.models == ("qwen-plus",) and first.quota == 3 and second.key == "sk-b"
    assert "sk-a" not in repr(first)
