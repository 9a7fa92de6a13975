"""Scenarios (``--scenarios DIR``): matching requests get the answer the files give.

A broken folder stops the mock at start-up.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from jsonschema import Draft202012Validator

import schemas
from mockserver import create_app
from mockserver.config import ConfigError, MockConfig
from mockserver.replay import split_blocks
from mockserver.scenarios import SCHEMA_PATH, ScenarioResponder
from schemas.stream import parse_sse, validate_sse

from .conftest import API_KEY, FIXTURES, ROOT, stream_text
from .servers import LiveServer

SCENARIOS = FIXTURES / "scenarios"
GREETING = json.loads((SCENARIOS / "greeting.json").read_text(encoding="utf-8"))["reply"]["text"]
WEATHER_CALL = json.loads((SCENARIOS / "weather-tool.json").read_text(encoding="utf-8"))["reply"]["output"][0]
RATE_LIMITED, OUTAGE = (
    s["reply"]["error"] for s in json.loads((SCENARIOS / "rate-limited.json").read_text(encoding="utf-8"))
)
RECORDED = (SCENARIOS / "recorded-stream.sse").read_bytes()


@pytest.fixture(scope="module")
def scenario_app():
    return create_app(seed=1, api_keys=[API_KEY], scenarios_dir=SCENARIOS, log_requests=False)


@pytest.fixture
def client(scenario_app):
    scenario_app.extensions["mock"].reset()  # every test starts with full `times` counts
    client = scenario_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return client


def create(client, text: str, *, model: str = "qwen3.6-plus", **fields: Any):
    return client.post("/v1/responses", json={"model": model, "input": [{"role": "user", "content": text}], **fields})


def output_text(response: dict[str, Any]) -> str:
    return "".join(part["text"] for item in response["output"] if item["type"] == "message" for part in item["content"])


def generated_text(text: str, **fields: Any) -> str:
    """What the generator alone (same seed, no scenarios) answers."""
    plain = create_app(seed=1).test_client()
    plain.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return output_text(create(plain, text, **fields).get_json())


# --- the example folder ---------------------------------------------------------------------------


def test_scenario_schema_is_valid_2020_12():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_example_folder_loads_in_file_then_list_order(scenario_app):
    (responder,) = scenario_app.extensions["mock"].responders
    assert [s.name for s in responder.scenarios] == [
        "greeting",
        "rate-limited",
        "checkout-outage",
        "recorded-stream",
        "weather-tool",
    ]


def test_text_scenario_answers_with_the_text_and_is_stored(client, caplog):
    with caplog.at_level(logging.INFO, logger="mockserver"):
        reply = create(client, "你好")
    body = reply.get_json()
    assert reply.status_code == 200 and output_text(body) == GREETING
    assert "scenario: greeting answers" in caplog.messages
    assert schemas.validate(body, "response") == []
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert client.get(f"/v1/responses/{body['id']}").get_json() == body


def test_streamed_text_scenario_is_a_valid_stream_of_the_text(client):
    reply = create(client, "你好", stream=True)
    raw = reply.get_data()
    assert reply.status_code == 200 and reply.mimetype == "text/event-stream"
    assert validate_sse(raw, "gateway") == []
    events = [e.json for e in parse_sse(raw).events]
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == GREETING
    final = events[-1]["response"]
    assert output_text(final) == GREETING
    assert output_text(client.get(f"/v1/responses/{final['id']}").get_json()) == GREETING


def test_exact_input_does_not_match_other_text(client):
    assert output_text(create(client, "你好呀").get_json()) != GREETING
    # the last user message counts, not an earlier one
    earlier = client.post(
        "/v1/responses",
        json={
            "model": "qwen3.6-plus",
            "input": [
                {"role": "user", "content": "你好"},
                {"role": "assistant", "content": "嗨"},
                {"role": "user", "content": "讲个故事"},
            ],
        },
    )
    assert output_text(earlier.get_json()) != GREETING


def test_output_scenario_sends_the_items_with_fresh_ids(client):
    first, second = (create(client, "What's the weather in Paris?").get_json() for _ in range(2))
    for body in (first, second):
        assert schemas.validate(body, "response") == []
        (call,) = body["output"]
        assert {k: call[k] for k in WEATHER_CALL} == WEATHER_CALL
        assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert first["output"][0]["call_id"] != second["output"][0]["call_id"]


def test_output_scenario_streams(client):
    raw = create(client, "What's the weather in Paris?", stream=True).get_data()
    assert validate_sse(raw, "gateway") == []
    done = [e.json for e in parse_sse(raw).events if e.json["type"] == "response.function_call_arguments.done"]
    assert [e["arguments"] for e in done] == [WEATHER_CALL["arguments"]]


@pytest.mark.parametrize(
    ("text", "model"),
    [("What's the weather in paris?", "qwen3.6-plus"), ("What's the weather in Paris?", "qwen3.5-plus")],
    ids=["regex-does-not-match", "other-model"],
)
def test_regex_and_model_must_both_match(client, text, model):
    body = create(client, text, model=model).get_json()
    assert [item["type"] for item in body["output"]] != ["function_call"]
    assert output_text(body) == generated_text(text, model=model)


def test_error_scenario_sends_status_body_and_headers(client):
    reply = create(client, "hello", metadata={"case": "rate-limit", "user": "u1"})
    assert reply.status_code == RATE_LIMITED["status"] == 429
    assert reply.get_json() == RATE_LIMITED["body"]
    assert reply.headers["Retry-After"] == "2" and reply.mimetype == "application/json"


def test_metadata_must_match(client):
    assert create(client, "hello", metadata={"case": "something-else"}).status_code == 200
    assert create(client, "hello").status_code == 200


def test_times_then_fall_through_and_reset_restores_them(client, scenario_app):
    statuses = [create(client, "hello", metadata={"case": "rate-limit"}).status_code for _ in range(4)]
    assert statuses == [429, 429, 200, 200]
    scenario_app.extensions["mock"].reset()
    assert create(client, "hello", metadata={"case": "rate-limit"}).status_code == 429


def test_times_are_counted_in_the_shared_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    apps = [
        create_app(seed=1, api_keys=[API_KEY], scenarios_dir=SCENARIOS, store_url=url, log_requests=False)
        for _ in range(2)
    ]
    clients = [app.test_client() for app in apps]
    for c in clients:
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    statuses = [create(clients[i % 2], "hello", metadata={"case": "rate-limit"}).status_code for i in range(3)]
    assert statuses == [429, 429, 200]  # two answers in all, not two per app


def test_stream_flag_model_and_metadata_together(client):
    outage = {"model": "qwen3.5-plus", "metadata": {"case": "checkout-17"}}
    reply = create(client, "checkout", stream=True, **outage)
    assert reply.status_code == OUTAGE["status"] == 502 and reply.get_json() == OUTAGE["body"]
    assert create(client, "checkout", **outage).status_code == 200  # plain: not this scenario
    other_model = create(client, "checkout", stream=True, model="qwen3.6-plus", metadata={"case": "checkout-17"})
    assert other_model.status_code == 200 and validate_sse(other_model.get_data(), "gateway") == []


def test_recorded_stream_is_sent_as_recorded(client):
    reply = create(client, "play the recorded stream", stream=True)
    raw = reply.get_data()
    assert reply.status_code == 200 and reply.mimetype == "text/event-stream"
    assert raw == RECORDED
    sent, recorded = parse_sse(raw).events, parse_sse(RECORDED).events
    assert [(e.event, e.json) for e in sent] == [(e.event, e.json) for e in recorded] and len(sent) == len(
        split_blocks(RECORDED)
    )


def test_recorded_stream_scenario_ignores_plain_requests(client):
    reply = create(client, "play the recorded stream")
    assert reply.status_code == 200 and reply.mimetype == "application/json"
    assert output_text(reply.get_json()) == generated_text("play the recorded stream")


def test_unmatched_requests_get_the_generated_reply(client):
    assert output_text(create(client, "Tell me about rivers").get_json()) == generated_text("Tell me about rivers")


def test_empty_folder_is_fine(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="mockserver"):
        app = create_app(seed=1, scenarios_dir=tmp_path)
    assert app.extensions["mock"].responders[0].scenarios == []
    assert f"scenarios: 0 scenario(s) from {tmp_path}" in caplog.messages


def test_the_recorded_stream_is_checked_against_the_profile():
    with pytest.raises(ConfigError) as exc:
        ScenarioResponder.from_folder(SCENARIOS, MockConfig(profile="openai"))
    assert str(exc.value).startswith(
        f"{SCENARIOS / 'recorded-stream.json'}: /reply/stream: recorded-stream.sse is not a valid openai stream"
    )


# --- the openai SDK -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario_server(scenario_app):
    with LiveServer(scenario_app) as server:
        yield server


@pytest.fixture
def sdk(scenario_server, scenario_app):
    scenario_app.extensions["mock"].reset()
    return openai.OpenAI(api_key=API_KEY, base_url=f"{scenario_server.url}/v1", max_retries=0)


@pytest.mark.sdk
def test_sdk_gets_the_scenario_text(sdk):
    assert sdk.responses.create(model="qwen3.6-plus", input="你好").output_text == GREETING


@pytest.mark.sdk
def test_sdk_streams_the_scenario_text(sdk):
    deltas, final = stream_text(sdk, model="qwen3.6-plus", input="你好")
    assert "".join(deltas) == final.output_text == GREETING


@pytest.mark.sdk
def test_sdk_raises_for_the_error_scenario(sdk):
    with pytest.raises(openai.RateLimitError) as exc:
        sdk.responses.create(model="qwen3.6-plus", input="hello", metadata={"case": "rate-limit"})
    assert exc.value.status_code == 429 and exc.value.response.headers["retry-after"] == "2"
    assert exc.value.body == RATE_LIMITED["body"]["error"]


# --- broken folders -----------------------------------------------------------------------------

TEXT = {"reply": {"text": "ok"}}

BROKEN = {
    "bad-json": ('{"name": "a", "reply": {"text": "ok"}', ": not valid JSON: "),
    "schema": (
        {"name": "a", "reply": {"error": {"status": 200, "body": {}}}},
        ": /reply/error/status: 200 is less than the minimum of 400",
    ),
    "misspelt-field": ({"name": "a", "matc": {}, **TEXT}, ": /matc: unexpected property"),
    "two-replies": (
        {"name": "a", "reply": {"text": "ok", "error": {"status": 500, "body": {}}}},
        ": /reply: needs exactly one of text, output, error, stream (found text, error)",
    ),
    "bad-regex": (
        [{"name": "a", **TEXT}, {"name": "b", "match": {"input": {"regex": "(abc"}}, **TEXT}],
        ": [1]/match/input/regex: not a valid regular expression: missing ), unterminated subpattern at position 0",
    ),
    "unknown-model": (
        {"name": "a", "match": {"model": "gpt-4o"}, **TEXT},
        ": /match/model: 'gpt-4o' is not served by this mock",
    ),
    "missing-stream": ({"name": "a", "reply": {"stream": "nowhere.sse"}}, ": /reply/stream: no such stream file"),
    "stream-outside": (
        {"name": "a", "reply": {"stream": "../recorded-stream.sse"}},
        ": /reply/stream: '../recorded-stream.sse': must be the name of a file next to the scenario file",
    ),
    "plain-only-stream": (
        {"name": "a", "match": {"stream": False}, "reply": {"stream": "x.sse"}},
        ": /match/stream: must not be false",
    ),
    "bad-output-item": (
        {
            "name": "a",
            "reply": {
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text"}],
                    }
                ]
            },
        },
        ": /reply/output/0/content/0/annotations: required property is missing",
    ),
    "not-a-scenario": ("3", ": /: must hold a scenario object or a list of them"),
    "header-injection": (
        {
            "name": "a",
            "reply": {"error": {"status": 429, "body": {}, "headers": {"Retry-After": "1\r\nSet-Cookie: x"}}},
        },
        r": /reply/error/headers/Retry-After: '1\r\nSet-Cookie: x' does not match",
    ),
    "bad-header-name": (
        {"name": "a", "reply": {"error": {"status": 429, "body": {}, "headers": {"Retry After": "1"}}}},
        ": /reply/error/headers: 'Retry After' does not match",
    ),
}


def write(folder: Path, name: str, content: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(("content", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_names_file_and_field(tmp_path, content, expected):
    write(tmp_path, "a-good.json", {"name": "good", **TEXT})
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(ConfigError) as exc:
        create_app(scenarios_dir=tmp_path)
    assert str(exc.value).startswith(f"{path}{expected}"), str(exc.value)


def test_an_invalid_stream_file_is_refused(tmp_path):
    (tmp_path / "cut.sse").write_bytes(RECORDED[: RECORDED.rindex(b"event: response.completed")])
    path = write(tmp_path, "cut.json", {"name": "cut", "reply": {"stream": "cut.sse"}})
    with pytest.raises(ConfigError, match="terminal_missing") as exc:
        ScenarioResponder.from_folder(tmp_path, MockConfig())
    assert str(exc.value).startswith(f"{path}: /reply/stream: cut.sse is not a valid gateway stream")


def test_duplicate_names_across_files(tmp_path):
    first = write(tmp_path, "a.json", {"name": "same", **TEXT})
    second = write(tmp_path, "b.json", [{"name": "other", **TEXT}, {"name": "same", **TEXT}])
    with pytest.raises(ConfigError) as exc:
        ScenarioResponder.from_folder(tmp_path, MockConfig())
    assert str(exc.value) == f"{second}: [1]/name: duplicate scenario name 'same' (first in {first})"


def test_command_line_refuses_a_broken_folder(tmp_path):
    path = write(tmp_path, "bad.json", {"name": "a", "match": {"input": {"regex": "(abc"}}, **TEXT})
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--scenarios", str(tmp_path), "--port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert (
        f"mockserver: configuration error: {path}: /match/input/regex: not a valid regular expression" in result.stderr
    )
