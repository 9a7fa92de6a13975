"""Replay: ``python -m mockserver --replay DIR`` answers with the recorded bytes, paced as recorded."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from contract_tests.record import load_requests, record_target
from mockserver import create_app
from mockserver.cli import main as mock_main
from mockserver.replay import ReplayResponder, load_exchanges, request_key
from schemas.stream import parse_sse

from .conftest import API_KEY
from .test_record import KEY, REQUESTS, running_mock

OTHER_KEY = "sk-ReplayKey1Aq2Ws3Ed4Rf5Tg6Yh7Uj8Ik9Ol0Pz"


def test_replaying_a_recording_gives_the_same_bodies_and_event_sequences(tmp_path):
    folder = tmp_path / "recorded"
    with running_mock("--stream-delay", "0.002") as url:
        record_target(url, KEY, folder, load_requests([REQUESTS]))
    exchanges = load_exchanges(folder)
    streams = 0
    replay = running_mock("--replay", str(folder), "--replay-speed", "0", "--seed", "99", key=OTHER_KEY)
    with (
        replay as url,
        httpx.Client(base_url=url + "/", headers={"Authorization": f"Bearer {OTHER_KEY}"}, timeout=30) as client,
    ):
        for exchange in exchanges:
            with client.stream("POST", "responses", json=exchange.request_body) as reply:
                raw = reply.read()
            assert reply.status_code == exchange.status, exchange.path.name
            if exchange.is_stream:
                streams += 1
                assert reply.headers["content-type"].startswith("text/event-stream")
                assert raw == exchange.sse, exchange.path.name  # the recorded bytes, event by event
                replayed, recorded = parse_sse(raw).events, parse_sse(exchange.sse).events
                assert [(e.event, e.json) for e in replayed] == [(e.event, e.json) for e in recorded]
                assert replayed[0].json["type"] == "response.created" and len(replayed) > 5
            elif exchange.status == 200:
                assert reply.json() == exchange.body, exchange.path.name
            else:
                # answered by the mock before any responder (unknown model): same error, its own request id
                error, recorded_error = reply.json()["error"], exchange.body["error"]
                assert (error["type"], error["code"]) == (recorded_error["type"], recorded_error["code"])
                assert error["message"].split(" (request id")[0] == recorded_error["message"].split(" (request id")[0]
    assert streams == 4


def write_recording(
    folder: Path,
    number: int,
    body: dict,
    *,
    status: int = 200,
    reply: dict | None = None,
    blocks: list[bytes] | None = None,
    offsets: list[float] | None = None,
    total_ms: float = 0,
) -> None:
    """A hand-made exchange in the recording format."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{number:03d}-case"
    record = {
        "format": "responses-recording/1",
        "name": "case",
        "request": {"method": "POST", "path": "/v1/responses", "body": body},
        "response": {"status": status, "headers": {}},
        "timing": {"total_ms": total_ms, "ttfb_ms": 0},
        "complete": True,
    }
    if blocks is not None:
        (folder / f"{stem}.sse").write_bytes(b"".join(blocks))
        record["stream"] = {"file": f"{stem}.sse", "events": [{"type": "x", "offset_ms": o} for o in offsets or []]}
    else:
        record["response"]["body"] = reply
    (folder / f"{stem}.json").write_text(json.dumps(record))


BODY = {"model": "qwen3.6-plus", "input": "pace me"}
BLOCKS = [f"event: e{i}\ndata: {json.dumps({'type': f'e{i}', 'sequence_number': i})}\n\n".encode() for i in range(3)]


def replay_app(folder: Path, speed: float):
    app = create_app(seed=1, api_keys=[API_KEY], log_requests=False)
    app.extensions["mock"].responders.append(ReplayResponder(folder, speed))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return client


def arrival_times(client, body, clock) -> tuple[list[float], bytes]:
    """When each chunk of the reply reached the client, in milliseconds on the fake clock."""
    reply = client.post("/v1/responses", json=body, buffered=False)
    times, data = [], b""
    for chunk in reply.response:  # read one by one: the server's waits come between the chunks
        times.append(round(clock.now * 1000, 6))
        data += chunk
    return times, data


@pytest.mark.parametrize(("speed", "expected"), [(10.0, [10, 40, 70]), (0.0, [0, 0, 0])])
def test_streams_keep_the_recorded_pacing_divided_by_the_speed(tmp_path, speed, expected, fake_clock):
    write_recording(tmp_path, 1, {**BODY, "stream": True}, blocks=BLOCKS, offsets=[100, 400, 700])
    times, data = arrival_times(replay_app(tmp_path, speed), {**BODY, "stream": True}, fake_clock)
    assert data == b"".join(BLOCKS)
    assert times == pytest.approx(expected)  # each block after its recorded offset / speed; speed 0: no wait


def test_plain_replies_wait_the_recorded_time_and_alternate_between_recordings(tmp_path, fake_clock):
    write_recording(
        tmp_path,
        1,
        BODY,
        status=429,
        reply={"error": {"message": "slow down", "type": "rate_limit", "code": None}},
        total_ms=200,
    )
    write_recording(tmp_path, 2, BODY, reply={"id": "resp_1", "object": "response"}, total_ms=200)
    client = replay_app(tmp_path, 4)
    first, second, third = (client.post("/v1/responses", json=BODY) for _ in range(3))
    assert [r.status_code for r in (first, second, third)] == [429, 200, 429]
    assert second.get_json() == {"id": "resp_1", "object": "response"} and second.mimetype == "application/json"
    assert fake_clock.sleeps == pytest.approx([0.05] * 3)  # 200 ms recorded / speed 4, before each reply


def test_an_admin_reset_replays_a_sequence_from_its_start(tmp_path):
    write_recording(
        tmp_path, 1, BODY, status=429, reply={"error": {"message": "slow down", "type": "rate_limit", "code": None}}
    )
    write_recording(tmp_path, 2, BODY, reply={"id": "resp_1", "object": "response"})
    client = replay_app(tmp_path, 0)
    assert client.post("/v1/responses", json=BODY).status_code == 429
    client.post("/__mock__/reset")
    assert [client.post("/v1/responses", json=BODY).status_code for _ in range(2)] == [429, 200]


def test_stream_flag_chooses_the_recording_and_unmatched_requests_reach_the_generator(tmp_path, caplog):
    write_recording(tmp_path, 1, BODY, reply={"id": "resp_plain", "object": "response"})
    client = replay_app(tmp_path, 0)
    assert (
        client.post("/v1/responses", json={"input": "pace me", "model": "qwen3.6-plus", "stream": False}).get_json()[
            "id"
        ]
        == "resp_plain"
    )
    with caplog.at_level(logging.INFO, logger="mockserver"):
        streamed = client.post("/v1/responses", json={**BODY, "stream": True})
        other = client.post("/v1/responses", json={**BODY, "input": "something else"})
    assert streamed.mimetype == "text/event-stream" and other.get_json()["id"] != "resp_plain"
    assert sum("no recording matches this request" in r.getMessage() for r in caplog.records) == 2


def test_request_key_ignores_key_order_and_the_stream_flag_alone():
    assert request_key({"a": 1, "b": [1, 2], "stream": False}) == request_key({"b": [1, 2], "a": 1})
    assert request_key({"a": 1, "stream": True})[1] is True


def test_the_command_line_rejects_a_missing_folder_or_a_negative_speed(tmp_path, capsys):
    assert mock_main(["--replay", str(tmp_path / "missing"), "--port", "0", "--quiet"]) == 2
    assert "no such recording folder" in capsys.readouterr().err
    tmp_path.joinpath("empty").mkdir()
    assert mock_main(["--replay", str(tmp_path / "empty"), "--replay-speed", "-1", "--port", "0", "--quiet"]) == 2
    assert "must not be negative" in capsys.readouterr().err


def test_a_broken_recording_is_named(tmp_path):
    (tmp_path / "001-bad.json").write_text("{}")
    with pytest.raises(ValueError, match="001-bad.json: not a recorded exchange"):
        load_exchanges(tmp_path)
