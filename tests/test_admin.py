"""The admin endpoints under /__mock__/: what a test run uses to reset and steer the mock."""

from __future__ import annotations

import json

import pytest

from mockserver import create_app
from schemas import validate

from .conftest import API_KEY, FIXTURES

REQUEST = {"model": "qwen3.6-plus", "input": "What is a contract test?"}


def admin_client(**config):
    client = create_app(seed=11, scenarios_dir=FIXTURES / "scenarios", log_requests=False, **config).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return client


@pytest.fixture
def mock():
    return admin_client(api_keys=[API_KEY])


def create(client, **extra):
    reply = client.post("/v1/responses", json={**REQUEST, **extra})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_health(mock):
    health = mock.get("/__mock__/health").get_json()
    assert health["status"] == "ok" and health["profile"] == "gateway" and health["stored"] == 0


def test_responses_lists_stored_ones_newest_first(mock):
    first, second = create(mock), create(mock, metadata={"case": "2"})
    create(mock, store=False)
    listed = mock.get("/__mock__/responses").get_json()
    assert [r["id"] for r in listed["data"]] == [second["id"], first["id"]] and listed["total"] == 2
    assert listed["data"][0] == {
        "id": second["id"],
        "status": "completed",
        "model": "qwen3.6-plus",
        "created_at": second["created_at"],
    }
    assert [r["id"] for r in mock.get("/__mock__/responses?limit=1").get_json()["data"]] == [second["id"]]


def test_reset_forgets_responses_and_key_usage():
    mock = admin_client(api_keys=[{"key": API_KEY, "quota": 3}])
    stored = create(mock)
    create(mock)
    create(mock)
    assert mock.post("/v1/responses", json=REQUEST).status_code == 401  # the key's quota of 3 is used up
    reset = mock.post("/__mock__/reset")
    assert reset.status_code == 200 and reset.get_json() == {"reset": True, "seed": 11}
    assert mock.get(f"/v1/responses/{stored['id']}").status_code == 404
    assert mock.get("/__mock__/responses").get_json()["data"] == []
    assert create(mock)["status"] == "completed"  # the quota counts again from zero


def test_reset_restarts_scenario_and_fault_counts(mock):
    limited = {
        **REQUEST,
        "metadata": {"case": "rate-limit"},
    }  # fixtures/scenarios/rate-limited.json: 429 twice, then the generator
    assert [mock.post("/v1/responses", json=limited).status_code for _ in range(3)] == [429, 429, 200]
    faulty = {"X-Mock-Fault": "status=503, times=1"}
    assert [mock.post("/v1/responses", json=REQUEST, headers=faulty).status_code for _ in range(2)] == [503, 200]
    mock.post("/__mock__/reset")
    assert mock.post("/v1/responses", json=limited).status_code == 429
    assert mock.post("/v1/responses", json=REQUEST, headers=faulty).status_code == 503


def reply_text(response):
    return "".join(part["text"] for item in response["output"] if item["type"] == "message" for part in item["content"])


def test_seed_changes_the_replies_and_reset_restores_it(mock):
    original = reply_text(create(mock))
    assert mock.get("/__mock__/seed").get_json() == {"seed": 11}
    assert mock.post("/__mock__/seed", json={"seed": 12345}).get_json() == {"seed": 12345}
    changed = reply_text(create(mock))
    assert changed != original and reply_text(create(mock)) == changed
    mock.post("/__mock__/reset")
    assert reply_text(create(mock)) == original


@pytest.mark.parametrize("body", [{"seed": "7"}, {"seed": True}, {"seed": 1.5}, {}, [7], {"seed": 2**70}])
def test_a_bad_seed_is_a_400_in_the_envelope(mock, body):
    reply = mock.post("/__mock__/seed", json=body)
    assert reply.status_code == 400 and validate(reply.get_json(), "error", "gateway") == []
    assert mock.get("/__mock__/seed").get_json() == {"seed": 11}


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("[" * 200_000, "application/json", 400),
        ('{"seed": 3', "application/json", 400),
        ('{"seed": 3}', "text/plain", 415),
    ],
)
def test_a_hostile_seed_body_is_a_4xx_not_a_crash(mock, data, content_type, status):
    reply = mock.post("/__mock__/seed", data=data, content_type=content_type)
    assert reply.status_code == status and validate(reply.get_json(), "error", "gateway") == []


def test_requests_lists_recent_api_calls_with_bodies_and_no_key(mock):
    create(mock, metadata={"case": "admin"})
    mock.get("/v1/responses/resp_missing")
    mock.get("/__mock__/health")
    entries = mock.get("/__mock__/requests").get_json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/responses", 200),
        ("GET", "/v1/responses/resp_missing", 404),
    ]
    assert entries[0]["body"]["metadata"] == {"case": "admin"}
    assert API_KEY not in json.dumps(entries) and "Authorization" not in json.dumps(entries)
    assert len(mock.get("/__mock__/requests?limit=1").get_json()["data"]) == 1


def test_config_shows_settings_with_keys_masked(mock):
    shown = mock.get("/__mock__/config")
    assert API_KEY not in shown.get_data(as_text=True)
    config = shown.get_json()
    assert config["api_keys"] == [
        {"key": "sk-***", "models": [], "quota": None, "expires_at": None, "account_exhausted": False, "project": None}
    ]
    assert config["profile"] == "gateway" and config["scenarios_dir"].endswith("scenarios") and config["seed_now"] == 11


def test_a_store_password_is_masked():
    from mockserver.http.admin import masked_url

    assert masked_url("redis://:s3cret@cache.internal:6379/2") == "redis://:***@cache.internal:6379/2"
    assert masked_url("redis://user:s3cret@h/0") == "redis://user:***@h/0"
    assert masked_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


def test_admin_errors_use_the_envelope_and_stay_off_v1(mock):
    missing = mock.get("/__mock__/nothing-here")
    assert missing.status_code == 404 and validate(missing.get_json(), "error", "gateway") == []
    assert mock.get("/v1/__mock__/health").status_code == 404
    assert mock.get("/__mock__/responses?limit=0").status_code == 400


def test_admin_calls_hold_across_workers_sharing_a_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    one, two = admin_client(store_url=url), admin_client(store_url=url)
    stored = create(one)
    assert [r["id"] for r in two.get("/__mock__/responses").get_json()["data"]] == [stored["id"]]
    one.post("/__mock__/seed", json={"seed": 77})
    assert two.get("/__mock__/seed").get_json() == {"seed": 77}
    two.post("/__mock__/reset")
    assert one.get(f"/v1/responses/{stored['id']}").status_code == 404 and one.get("/__mock__/seed").get_json() == {
        "seed": 11
    }
