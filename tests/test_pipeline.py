"""One delivery path: every source's reply gets the same delivery (pings, faults, storing), and the
pipeline's parts are what README's Architecture section says."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import schemas
from mockserver import CannedReply, CreateRequest, Source, create_app
from mockserver.delivery.faults import ConnectionDropped
from mockserver.faultspec import KNOWN
from mockserver.sources.generator import GeneratorSource
from mockserver.sources.replay import ReplaySource
from mockserver.sources.scenarios import ScenarioSource
from schemas import events
from schemas.stream import parse_sse, validate_sse

from .conftest import FIXTURES, load_fixture

DOCUMENTED = load_fixture("documented_request.json")
#: A request recorded in fixtures/recordings/mock (plain and streamed) that no scenario matches.
RECORDED = {"model": "qwen3.6-plus", "input": "hi", "reasoning": {"effort": "none"}}
RECORDINGS = FIXTURES / "recordings" / "mock"
SCENARIOS = FIXTURES / "scenarios"
KEY = {"Authorization": "sk-pipeline"}

#: One streamed request per source: what the generator answers, a scenario's text (built like a generated
#: reply), a scenario's recorded stream, and a replayed recording.
STREAMED = {
    "generator": {"model": "qwen3.6-plus", "input": "Explain tea", "stream": True},
    "scenario-text": {"model": "qwen3.6-plus", "input": [{"role": "user", "content": "你好"}], "stream": True},
    "scenario-stream": {"model": "qwen3.6-plus", "input": "play the recorded one", "stream": True},
    "replay": {**RECORDED, "stream": True},
}


#: The log line of the source that answers each of them (the generator logs none).
ANSWERED_BY = {
    "generator": None,
    "scenario-text": "scenario: greeting answers",
    "scenario-stream": "scenario: recorded-stream answers",
    "replay": "replay: answering from 006-reasoning_off-stream.json",
}


def app_with_every_source(**settings: Any):
    return create_app(
        seed=1, scenarios_dir=SCENARIOS, replay_dir=RECORDINGS, replay_speed=0, log_requests=False, **settings
    )


def chunks_until_cut(reply) -> tuple[bytes, bool]:
    """The bytes a streamed reply sends, and whether the connection was cut (an injected drop)."""
    sent = []
    try:
        for chunk in reply.response:
            sent.append(chunk)
    except ConnectionDropped:
        return b"".join(sent), True
    return b"".join(sent), False


def post(client, body: dict[str, Any], **headers: str):
    return client.post("/v1/responses", json=body, headers={**KEY, **headers}, buffered=False)


def event_types(raw: bytes) -> list[str]:
    return [e.json["type"] for e in parse_sse(raw).events]


@pytest.mark.parametrize("source", list(STREAMED))
def test_each_request_is_answered_by_its_source(source, caplog):
    with caplog.at_level(logging.INFO, logger="mockserver"):
        post(app_with_every_source().test_client(), STREAMED[source]).get_data()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith(("scenario: ", "replay: answering"))]
    assert said == ([ANSWERED_BY[source]] if ANSWERED_BY[source] else [])


@pytest.mark.parametrize("source", list(STREAMED))
def test_ping_every_2_puts_pings_into_every_sources_stream(source):
    client = app_with_every_source(ping_every=2).test_client()
    raw, cut = chunks_until_cut(post(client, STREAMED[source]))
    assert not cut
    blocks = raw.split(b"\n\n")
    assert blocks.count(b": PING") >= 2, raw[:400]
    assert blocks[2] == b": PING" and blocks[5] == b": PING"  # before the 3rd and the 5th event
    assert validate_sse(raw, "gateway") == []  # pings are comments: the stream is still valid


@pytest.mark.parametrize("source", list(STREAMED))
def test_without_ping_every_no_source_pings(source):
    raw, _ = chunks_until_cut(post(app_with_every_source().test_client(), STREAMED[source]))
    assert b": PING" not in raw


@pytest.mark.parametrize("source", list(STREAMED))
def test_drop_after_cuts_every_sources_stream_after_n_events(source):
    client = app_with_every_source().test_client()
    raw, cut = chunks_until_cut(post(client, STREAMED[source], **{"X-Mock-Fault": "drop-after=3"}))
    assert cut and len(parse_sse(raw).events) == 3


@pytest.mark.parametrize("source", list(STREAMED))
def test_stream_failed_ends_every_sources_stream_with_response_failed(source):
    client = app_with_every_source().test_client()
    raw, cut = chunks_until_cut(post(client, STREAMED[source], **{"X-Mock-Fault": "stream-failed=4"}))
    assert not cut
    types = event_types(raw)
    assert len(types) == 5 and types[-1] == events.FAILED and types[0] == events.CREATED
    last = parse_sse(raw).events[-1].json
    assert last["sequence_number"] == 4 and last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == schemas.behaviour.behaviour("gateway").failed_response_code
    assert validate_sse(raw, "gateway") == []


@pytest.mark.parametrize("source", list(STREAMED))
def test_stream_error_ends_every_sources_stream_with_an_error_event(source):
    client = app_with_every_source().test_client()
    raw, _ = chunks_until_cut(post(client, STREAMED[source], **{"X-Mock-Fault": "stream-error=2"}))
    assert event_types(raw) == [events.CREATED, events.IN_PROGRESS, events.ERROR]


def test_rate_limit_200_fails_a_replayed_plain_response_too():
    client = app_with_every_source().test_client()
    recorded = post(client, RECORDED).get_json()
    failed = post(client, RECORDED, **{"X-Mock-Fault": "rate-limit-200"})
    assert failed.status_code == 200 and failed.get_json()["status"] == "failed"
    assert failed.get_json()["id"] == recorded["id"]  # the recording, failed: not a generated reply


def test_a_canned_error_is_sent_as_written_even_with_a_failing_fault():
    client = app_with_every_source().test_client()
    body = {"model": "qwen3.6-plus", "input": "checkout please", "metadata": {"case": "rate-limit"}}
    plain = post(client, body)
    faulted = post(client, body, **{"X-Mock-Fault": "rate-limit-200"})
    assert plain.status_code == faulted.status_code == 429 and plain.get_data() == faulted.get_data()


def test_sources_are_asked_in_order_and_the_generator_answers_the_rest():
    state = app_with_every_source().extensions["mock"]
    assert [type(s) for s in state.all_sources()] == [ScenarioSource, ReplaySource, GeneratorSource]
    assert all(isinstance(s, Source) for s in state.all_sources())


class Maintenance(Source):
    """A custom source: a canned 503 for requests tagged as maintenance."""

    def __init__(self) -> None:
        self.answered = 0

    def answer(self, request: CreateRequest) -> CannedReply | None:
        if (request.body.get("metadata") or {}).get("case") != "maintenance":
            return None
        self.answered += 1
        if request.streamed:
            blocks = tuple(
                f"event: {kind}\ndata: {json.dumps({'type': kind})}\n\n".encode() for kind in (events.CREATED,) * 4
            )
            return CannedReply(200, blocks=blocks)
        return CannedReply(503, {"Content-Type": "application/json"}, b'{"error": {"message": "down", "type": "x"}}')

    def reset(self) -> None:
        self.answered = 0


def test_a_custom_source_answers_first_and_gets_every_delivery_feature():
    source = Maintenance()
    client = create_app(sources=[source], scenarios_dir=SCENARIOS, ping_every=2, log_requests=False).test_client()
    tagged = {"model": "qwen3.6-plus", "input": "你好", "metadata": {"case": "maintenance"}}
    reply = post(client, tagged)
    assert reply.status_code == 503 and reply.get_json()["error"]["message"] == "down" and source.answered == 1
    raw, _ = chunks_until_cut(post(client, {**tagged, "stream": True}))
    assert raw.count(b": PING") == 1  # before the 3rd of 4 events
    assert post(client, {**tagged, "metadata": {}}).status_code == 200  # not tagged: the scenario / generator
    client.post("/__mock__/reset")
    assert source.answered == 0


def test_each_app_keeps_its_own_memory_and_dice():
    one, two = create_app(), create_app()
    assert post(one.test_client(), DOCUMENTED).status_code == 200
    assert len(one.extensions["mock"].recent.latest()) == 1 and two.extensions["mock"].recent.latest() == []
    assert one.extensions["mock"].rng is not two.extensions["mock"].rng


def test_a_bad_fault_header_is_a_400_in_the_mocks_own_words_listing_every_fault():
    reply = post(create_app().test_client(), DOCUMENTED, **{"X-Mock-Fault": "sloth=3"})
    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert error["type"] == "mock_error" and error["param"] == "X-Mock-Fault" and error["code"] == "invalid_mock_fault"
    assert "InternalError" not in error["message"] and "request id" not in error["message"]
    assert KNOWN in error["message"]  # every known fault, in full
    for form in ("latency=S or latency=MIN-MAX", "first-byte=S", "drop-after=N", "rate-limit-200", "times=N"):
        assert form in error["message"]


def test_refused_requests_are_logged_with_code_and_param(caplog):
    client = create_app(log_requests=True).test_client()
    with caplog.at_level(logging.INFO, logger="mockserver"):
        post(client, {**DOCUMENTED, "temperature": 9})
        post(client, {**DOCUMENTED, "top_p": -1})
        client.post("/v1/responses", json=DOCUMENTED)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("POST /v1/responses")]
    assert "400" in lines[0] and "code=invalid_parameter" in lines[0] and "param=temperature" in lines[0]
    assert "code=invalid_parameter" in lines[1] and "param=top_p" in lines[1]
    assert " 401 " in lines[2] and "missing_key" in lines[2]
    assert all("sk-pipeline" not in r.getMessage() for r in caplog.records)


def test_recent_requests_keep_the_body_and_error_of_a_refused_request_never_a_header():
    client = create_app(log_requests=False).test_client()
    post(client, {**DOCUMENTED, "temperature": 9})
    client.post(
        "/v1/responses",
        data=b'{"model": "qwen3.6-plus", "input": ',
        headers={**KEY, "Content-Type": "application/json"},
    )
    post(client, DOCUMENTED)
    first, second, third = client.get("/__mock__/requests").get_json()["data"]
    assert first["status"] == 400 and first["body"]["temperature"] == 9
    assert first["error"]["code"] == "invalid_parameter" and "temperature" in first["error"]["message"]
    assert second["body"] == '{"model": "qwen3.6-plus", "input": ' and second["error"]["code"] == "invalid_request"
    assert third["status"] == 200 and "error" not in third and third["body"] == DOCUMENTED
    assert "sk-pipeline" not in json.dumps([first, second, third])
