"""Streaming physics: ``--ttft``, ``--tokens-per-second``, ``--jitter``, per server and per scenario.

Every wait of the pacer is a ``time.sleep`` the ``fake_clock`` fixture
records (the app runs in-process), so pacing is asserted exactly, with no
timing: the waits are numbers, and the events the same as without pacing.
"""

from __future__ import annotations

import json

import pytest

from mockserver import ConfigError, create_app
from mockserver.reply.tokens import count_tokens
from mockserver.serve.cli import config_from_args, parser
from schemas.stream import parse_sse, validate_sse

AUTH = {"Authorization": "sk-pacing"}
REQUEST = {"model": "qwen3.6-plus", "input": "How do tides work?", "stream": True}


def streamed(app, body=REQUEST, headers=AUTH) -> tuple[str, list[dict]]:
    text = app.test_client().post("/v1/responses", json=body, headers=headers).get_data(as_text=True)
    return text, [e.json for e in parse_sse(text).events]


def without_ids(events: list[dict]) -> str:
    """The events with what differs between two replies (ids, times) blanked."""
    text = json.dumps(events)
    for event in events:
        for value in (event.get("response", {}).get("id"), event.get("item_id"), (event.get("item") or {}).get("id")):
            if value:
                text = text.replace(value, "ID")
    return json.dumps([{k: v for k, v in e.items() if k != "response"} for e in json.loads(text)], sort_keys=True)


def test_ttft_waits_before_the_first_output_event_and_tokens_per_second_spaces_the_deltas(fake_clock):
    text, events = streamed(create_app(seed=1, ttft=0.8, tokens_per_second=50))
    expected = []
    for index, event in enumerate(events):
        wait = 0.8 if index == 2 else 0.0  # after response.created and response.in_progress
        if "delta" in event:
            wait += count_tokens(event["delta"]) / 50
        if wait:
            expected.append(wait)
    assert fake_clock.sleeps == pytest.approx(expected)
    assert events[2]["type"] == "response.output_item.added"


def test_pacing_changes_the_waits_never_the_events(fake_clock):
    _, plain = streamed(create_app(seed=1))
    paced_text, paced = streamed(create_app(seed=1, ttft=0.5, tokens_per_second=20, jitter=0.3, stream_delay=0.01))
    assert without_ids(paced) == without_ids(plain)
    assert validate_sse(paced_text, "gateway") == []


def test_jitter_is_seeded_two_runs_pace_the_same_and_another_seed_differs(fake_clock):
    config = {"ttft": 0.5, "tokens_per_second": 40, "jitter": 0.4}
    streamed(create_app(seed=1, **config))
    first = list(fake_clock.sleeps)
    fake_clock.sleeps.clear()
    streamed(create_app(seed=1, **config))
    assert fake_clock.sleeps == first
    fake_clock.sleeps.clear()
    streamed(create_app(seed=2, **config))
    assert fake_clock.sleeps != first


def test_jitter_stays_within_its_fraction(fake_clock):
    streamed(create_app(seed=1, tokens_per_second=10))
    steady = list(fake_clock.sleeps)
    fake_clock.sleeps.clear()
    streamed(create_app(seed=1, tokens_per_second=10, jitter=0.25))
    jittered = fake_clock.sleeps
    assert len(jittered) == len(steady) and jittered != steady
    assert all(0.75 * s - 1e-9 <= j <= 1.25 * s + 1e-9 for s, j in zip(steady, jittered, strict=True))


@pytest.mark.sdk
@pytest.mark.parametrize("mock_gateway_config", [{"seed": 4, "ttft": 0.2, "tokens_per_second": 30, "jitter": 0.2}])
def test_the_sdk_sees_the_same_events_paced_or_not(mock_gateway, fake_clock):
    """The openai SDK's stream helper over a paced stream (routed in-process, so the fake clock sees the waits)."""
    import openai

    sdk = openai.OpenAI(max_retries=0)
    with sdk.responses.stream(model="qwen3.6-plus", input="How do tides work?") as stream:
        paced = [event.type for event in stream]
        final = stream.get_final_response()
    assert len(fake_clock.sleeps) > 3 and fake_clock.sleeps[0] > 0.1
    _, plain = streamed(create_app(seed=4))
    assert paced == [e["type"] for e in plain]
    assert final.output_text == plain[-1]["response"]["output"][-1]["content"][0]["text"]


def test_a_scenario_paces_with_its_own_physics(tmp_path, fake_clock):
    (tmp_path / "slow.json").write_text(
        json.dumps(
            {
                "name": "slow",
                "match": {"input": {"contains": "slow"}},
                "reply": {"text": "A slow answer."},
                "pacing": {"ttft": 2.0},
            }
        )
    )
    app = create_app(seed=1, scenarios_dir=tmp_path, ttft=0.1)
    streamed(app, {**REQUEST, "input": "be slow"})
    assert fake_clock.sleeps == [2.0]
    fake_clock.sleeps.clear()
    streamed(app)
    assert fake_clock.sleeps == [0.1]


def test_scenario_pacing_is_checked_when_the_mock_starts(tmp_path):
    (tmp_path / "bad.json").write_text(
        json.dumps({"name": "bad", "reply": {"error": {"status": 500, "body": {}}}, "pacing": {"ttft": 1}})
    )
    with pytest.raises(ConfigError, match=r"bad.json: /pacing: applies to text and output replies"):
        create_app(scenarios_dir=tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "reply": {"text": "x"}, "pacing": {"jitter": 2}}))
    with pytest.raises(ConfigError, match=r"bad.json: /pacing/jitter"):
        create_app(scenarios_dir=tmp_path)


def test_a_resumed_stream_is_paced_too(fake_clock):
    app = create_app(profile="openai", seed=1, tokens_per_second=10)
    client = app.test_client()
    _, events = streamed(app, {**REQUEST, "stream": True})
    fake_clock.sleeps.clear()
    client.get(f"/v1/responses/{events[0]['response']['id']}?stream=true&starting_after=3", headers=AUTH).get_data()
    deltas = [e for e in events[4:] if "delta" in e]
    assert fake_clock.sleeps == pytest.approx([count_tokens(e["delta"]) / 10 for e in deltas])


def test_plain_replies_and_replays_are_not_paced(fake_clock):
    create_app(seed=1, ttft=3, tokens_per_second=5).test_client().post(
        "/v1/responses", json={**REQUEST, "stream": False}, headers=AUTH
    )
    assert fake_clock.sleeps == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ttft", "-1"], "ttft: must be a number of 0 or more"),
        (["--tokens-per-second", "-3"], "tokens_per_second: must be a number of 0 or more"),
        (["--jitter", "1.5"], "jitter: must be a fraction between 0 and 1"),
        (["--background-pace", "1"], "background_pace: '1' is not QUEUED,RUNNING"),
        (["--background-pace", "1,x"], "background_pace: '1,x': each part is a number of seconds or 'hold'"),
    ],
)
def test_pacing_options_are_checked(args, message):
    with pytest.raises(ConfigError, match=message):
        config_from_args(parser().parse_args(args))


def test_pacing_options_reach_the_config():
    config = config_from_args(
        parser().parse_args(
            ["--ttft", "0.4", "--tokens-per-second", "25", "--jitter", "0.1", "--background-pace", "0,hold"]
        )
    )
    assert (config.ttft, config.tokens_per_second, config.jitter) == (0.4, 25, 0.1)
    assert config.background_pace == (0, float("inf"))
    shown = create_app(config).test_client().get("/__mock__/config").get_json()
    assert shown["background_pace"] == [0, "hold"] and shown["ttft"] == 0.4
