"""The mock as a validating, recording proxy (``--proxy-to URL``), with the mock itself as the upstream.

The upstream is the real mock on a real socket, watched on its way out
(``proxy_upstreams.py``): what it sent is compared byte for byte with what the
client got through the proxy. A second upstream breaks usage arithmetic, so
the proxy's verdicts can be seen to name ``usage_arithmetic``. The SDK tests
run under openai 2.x and 3.x (``make test`` runs ``-m sdk`` in both venvs).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import openai
import pytest

from contract_tests.__main__ import main as contract_main
from mockserver import CannedReply, CreateRequest, Source, create_app
from mockserver.config import ConfigError
from mockserver.serve.cli import config_from_args, parser
from mockserver.sources.replay import ReplaySource
from schemas import validate
from schemas.recording import load_exchanges

from .conftest import FIXTURES, WEATHER
from .proxy_upstreams import UPSTREAM_KEY, WatchedUpstream
from .servers import LiveServer, mock_process, wait_until

DOCUMENTED = json.loads((FIXTURES / "documented_request.json").read_text(encoding="utf-8"))
TEAM_KEY = "sk-team-abcdefghijklmnopqrstuvwxyz0123456789"
AUTH = {"Authorization": f"Bearer {UPSTREAM_KEY}"}
#: What an app sends: the documented request (plain, streamed), a tool call (plain), a capped reply (streamed).
BODIES = [
    {"model": "qwen3.6-plus", "input": DOCUMENTED["input"]},
    {"model": "qwen3.6-plus", "input": DOCUMENTED["input"], "stream": True},
    {
        "model": "qwen-plus",
        "input": "What is the weather in Paris?",
        "tools": [WEATHER],
    },
    {"model": "qwen-plus", "input": "Write about tea.", "max_output_tokens": 16, "stream": True},
]
#: An app that puts a key where the upstream echoes it (request body, reply, stream): it must not reach the disk.
ECHOED = {"model": "qwen-plus", "input": "Remember this.", "metadata": {"note": UPSTREAM_KEY}, "stream": True}


@pytest.fixture(scope="module")
def upstream():
    with WatchedUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream):
    app = create_app(proxy_to=f"{upstream.url}/v1", log_requests=False)
    with LiveServer(app) as server:
        yield server


def sdk_for(server: LiveServer, key: str = UPSTREAM_KEY) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{server.url}/v1", max_retries=0)


def no_key_in(folder: Path, *keys: str) -> list[str]:
    """The files of ``folder`` that hold a key, or a long run of one (with and without ``sk-``)."""
    forms = {form for key in keys for form in (key, key.removeprefix("sk-"), key.removeprefix("sk-")[:16])}
    return [p.name for p in folder.iterdir() if any(form.encode() in p.read_bytes() for form in forms)]


# --- what passes through -------------------------------------------------------------------------


@pytest.mark.sdk
def test_plain_and_streamed_replies_are_the_upstreams_byte_for_byte(proxy, upstream):
    sdk = sdk_for(proxy)
    raw = sdk.responses.with_raw_response.create(model="qwen3.6-plus", input=DOCUMENTED["input"])
    assert raw.http_response.content == upstream.sent[-1]
    assert raw.parse().output_text and raw.http_response.headers["content-type"] == "application/json"
    with sdk.responses.with_streaming_response.create(model="qwen-plus", input="Tell me about tea.", stream=True) as r:
        streamed = b"".join(r.iter_bytes())
        assert r.headers["content-type"].startswith("text/event-stream")
    assert streamed == upstream.sent[-1] and b"response.completed" in streamed
    final = sdk.responses.create(model="qwen-plus", input="Tell me about tea.", stream=True)
    assert [event.type for event in final][-1] == "response.completed"


def test_the_upstreams_request_id_and_errors_come_back_unchanged(proxy, upstream):
    with httpx.Client(base_url=f"{proxy.url}/v1", headers=AUTH) as client:
        ok = client.post("/responses", json=BODIES[0])
        refused = client.post("/responses", json={"model": "qwen-plus", "input": "x", "temperature": 9})
        wrong_key = client.post("/responses", json=BODIES[0], headers={"Authorization": "Bearer sk-wrong"})
    assert ok.status_code == 200 and ok.content == upstream.sent[-3]
    assert refused.status_code == 400 and refused.content == upstream.sent[-2]
    assert wrong_key.status_code == 401 and wrong_key.content == upstream.sent[-1]
    message = refused.json()["error"]["message"]
    assert "temperature" in message  # the gateway names its request id in the message: the header is the same one
    assert message.endswith(f"(request id: {refused.headers['x-oneapi-request-id']})")


@pytest.mark.sdk
def test_the_other_v1_routes_are_forwarded(proxy, upstream):
    sdk = sdk_for(proxy)
    models = sdk.models.list()
    assert [m.id for m in models.data] == [m.id for m in upstream.app.config["MOCK"].models]
    created = sdk.responses.create(model="qwen-plus", input="Tell me a fact about tea.")
    assert sdk.responses.retrieve(created.id).output_text == created.output_text  # the upstream serves it
    follow_up = sdk.responses.create(model="qwen-plus", input="And another.", previous_response_id=created.id)
    assert follow_up.usage.input_tokens > created.usage.input_tokens


# --- events as they come -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paced():
    """An upstream whose stream waits after its first event until the test lets it go on."""
    with WatchedUpstream() as upstream, LiveServer(create_app(proxy_to=f"{upstream.url}/v1")) as proxy:
        yield upstream, proxy


@pytest.mark.sdk
def test_the_first_event_reaches_the_client_before_the_upstream_sends_its_last(paced):
    upstream, proxy = paced
    upstream.gate.clear()
    upstream.finished.clear()
    stream = sdk_for(proxy).responses.create(
        model="qwen-plus", input="Tell me about tea.", stream=True, extra_headers={"X-Test-Gate": "1"}
    )
    events = iter(stream)
    first = next(events)
    assert first.type == "response.created"
    assert not upstream.finished.is_set()  # the upstream has not sent its last event: it waits for the gate
    upstream.gate.set()
    assert [event.type for event in events][-1] == "response.completed"
    assert upstream.finished.is_set()


def test_a_client_that_leaves_closes_the_upstream_stream(paced, caplog):
    caplog.set_level("INFO", logger="mockserver")
    upstream, proxy = paced
    upstream.gate.set()
    upstream.left.clear()
    headers = {**AUTH, "X-Test-Endless": "1"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{proxy.url}/v1/responses", json=BODIES[1], headers=headers) as reply,
    ):
        for line in reply.iter_lines():
            if "response.completed" in line:
                break  # the upstream goes on sending keep-alive comments: leave
    assert wait_until(upstream.left.is_set, 20), "the upstream stream was not closed after the client left"
    assert wait_until(lambda: "the client left after" in caplog.text, 10)


# --- recording, replay, drift --------------------------------------------------------------------


def record_through_proxy(upstream: WatchedUpstream, folder: Path) -> list[tuple[int, bytes]]:
    """An app on the openai SDK sends ``BODIES`` (then ``ECHOED`` and lists the models) through a recording
    proxy; the status and bytes each of ``BODIES`` got."""
    got = []
    with LiveServer(create_app(proxy_to=f"{upstream.url}/v1", record_dir=folder, log_requests=False)) as proxy:
        sdk = sdk_for(proxy)
        for body in BODIES:
            with sdk.responses.with_streaming_response.create(**body) as reply:
                got.append((reply.status_code, b"".join(reply.iter_bytes())))
        with sdk.responses.with_streaming_response.create(**ECHOED) as reply:
            assert UPSTREAM_KEY.encode() in b"".join(reply.iter_bytes())  # the upstream echoes it, as it may
        assert sdk.models.list().data
    return got


@pytest.mark.sdk
def test_a_recording_holds_every_exchange_without_a_key_and_replays_the_same(upstream, tmp_path):
    folder = tmp_path / "week-1"
    got = record_through_proxy(upstream, folder)
    exchanges = load_exchanges(folder)
    assert len(exchanges) == len(BODIES) + 2
    assert [e.request_body for e in exchanges[: len(BODIES)]] == BODIES
    assert [e.is_stream for e in exchanges[: len(BODIES)]] == [bool(b.get("stream")) for b in BODIES]
    assert all(e.data["request"]["headers"]["authorization"] == "[REDACTED]" for e in exchanges)
    assert all(e.data["complete"] for e in exchanges)
    assert no_key_in(folder, UPSTREAM_KEY) == []
    streamed = next(e for e in exchanges if e.is_stream)
    offsets = streamed.offsets_ms()
    assert len(offsets) == len(streamed.data["stream"]["events"]) and offsets == sorted(offsets)

    assert len(ReplaySource(folder)) == len(BODIES) + 1  # the create requests (ECHOED too), not GET /v1/models
    replay = create_app(replay_dir=folder, replay_strict=True, replay_speed=0, api_keys=[UPSTREAM_KEY])
    client = replay.test_client()
    for body, (status, data) in zip(BODIES, got, strict=True):
        answer = client.post("/v1/responses", json=body, headers=AUTH)
        assert answer.status_code == status
        if body.get("stream"):
            assert answer.get_data() == data
        else:
            assert answer.get_json() == json.loads(data)


@pytest.mark.sdk
def test_drift_of_two_recordings_of_the_same_upstream_reports_no_breaking_change(upstream, tmp_path, capsys):
    record_through_proxy(upstream, tmp_path / "baseline")
    record_through_proxy(upstream, tmp_path / "today")
    assert contract_main(["drift", str(tmp_path / "today"), "--against", str(tmp_path / "baseline")]) == 0
    assert "No violation" in capsys.readouterr().out


@pytest.mark.sdk
def test_the_upstream_key_can_come_from_the_environment(upstream, tmp_path, monkeypatch):
    monkeypatch.setenv("MOCK_PROXY_API_KEY", UPSTREAM_KEY)
    config = config_from_args(
        parser().parse_args(["--proxy-to", f"{upstream.url}/v1", "--api-key", TEAM_KEY, "--record", str(tmp_path)])
    )
    assert config.proxy_api_key == UPSTREAM_KEY and UPSTREAM_KEY not in repr(config)
    with LiveServer(create_app(config)) as proxy:
        reply = sdk_for(proxy, TEAM_KEY).responses.create(
            model="qwen-plus", input="Hello"
        )  # the upstream refuses TEAM_KEY
        assert reply.output_text
        outsider = sdk_for(proxy, "sk-someone-else")
        with pytest.raises(openai.AuthenticationError):  # the mock's own keys still guard the proxy
            outsider.responses.create(model="qwen-plus", input="Hello")
        with pytest.raises(openai.AuthenticationError):  # on every forwarded route too
            outsider.models.list()
        assert sdk_for(proxy, TEAM_KEY).models.list().data
    assert no_key_in(tmp_path, UPSTREAM_KEY, TEAM_KEY) == []


# --- scenarios, sources and faults come first ----------------------------------------------------


class Maintenance(Source):
    def answer(self, request: CreateRequest) -> CannedReply | None:
        if request.body.get("input") != "maintenance?":
            return None
        return CannedReply(503, {"Content-Type": "application/json"}, b'{"error": {"message": "down"}}')


def test_sources_and_faults_answer_before_the_upstream(upstream):
    app = create_app(proxy_to=f"{upstream.url}/v1", sources=[Maintenance()], log_requests=False)
    client = app.test_client()
    before = len(upstream.sent)
    faulted = client.post("/v1/responses", json=BODIES[0], headers={**AUTH, "X-Mock-Fault": "status=429"})
    overridden = client.post("/v1/responses", json={"model": "qwen-plus", "input": "maintenance?"}, headers=AUTH)
    assert faulted.status_code == 429 and overridden.status_code == 503
    assert len(upstream.sent) == before
    assert client.post("/v1/responses", json=BODIES[0], headers=AUTH).status_code == 200
    assert len(upstream.sent) == before + 1


# --- an upstream that breaks the contract --------------------------------------------------------


@pytest.fixture(scope="module")
def broken():
    with WatchedUpstream(broken=True) as upstream:
        yield upstream


@pytest.mark.sdk
def test_a_violation_is_logged_with_its_rule_and_counted(broken, caplog):
    caplog.set_level("INFO", logger="mockserver")
    app = create_app(proxy_to=f"{broken.url}/v1", log_requests=False)
    with LiveServer(app) as proxy:
        sdk = sdk_for(proxy)
        raw = sdk.responses.with_raw_response.create(model="qwen-plus", input="Tell me about tea.")
        assert raw.http_response.content == broken.sent[-1]  # passed on unchanged: judged, not refused
        with sdk.responses.with_streaming_response.create(model="qwen-plus", input="Tea?", stream=True) as reply:
            assert b"".join(reply.iter_bytes()) == broken.sent[-1]
        health = httpx.get(f"{proxy.url}/__mock__/health").json()
        page = httpx.get(f"{proxy.url}/__mock__/").text
    assert "contract violation usage_arithmetic at /usage/total_tokens" in caplog.text
    assert health["proxy"]["exchanges"] == 2  # usage_arithmetic twice in each: the total and the x_details entry
    assert health["proxy"]["violations"] == 4 and health["proxy"]["observations"] == 0
    assert "usage_arithmetic" in page and "/usage/total_tokens" in page


@pytest.mark.sdk
def test_with_fail_on_violation_the_client_gets_a_502_naming_the_rule(broken):
    app = create_app(proxy_to=f"{broken.url}/v1", fail_on_violation=True, log_requests=False)
    with LiveServer(app) as proxy:
        sdk = sdk_for(proxy)
        with pytest.raises(openai.APIStatusError) as plain:
            sdk.responses.create(model="qwen-plus", input="Tell me about tea.")
        with pytest.raises(openai.APIError) as streamed:
            for _ in sdk.responses.create(model="qwen-plus", input="Tell me about tea.", stream=True):
                pass
    assert plain.value.status_code == 502 and "usage_arithmetic" in plain.value.message
    assert plain.value.code == "contract_violation"
    assert validate(plain.value.body if "error" in plain.value.body else {"error": plain.value.body}, "error") == []
    assert "usage_arithmetic" in streamed.value.message


def test_the_levels_file_decides_what_fails(broken, tmp_path):
    levels = tmp_path / "levels.json"
    levels.write_text(json.dumps({"rules": {"usage_arithmetic": "observation"}}))
    app = create_app(proxy_to=f"{broken.url}/v1", fail_on_violation=True, levels_file=levels, log_requests=False)
    client = app.test_client()
    assert client.post("/v1/responses", json=BODIES[0], headers=AUTH).status_code == 200
    assert client.get("/__mock__/health").get_json()["proxy"] == {"exchanges": 1, "violations": 0, "observations": 2}
    levels.write_text(json.dumps({"rules": {"no_such_rule": "observation"}}))
    with pytest.raises(ConfigError, match="levels_file: .*no_such_rule"):
        create_app(proxy_to=f"{broken.url}/v1", levels_file=levels)


def test_a_good_upstream_passes_with_fail_on_violation(upstream):
    client = create_app(proxy_to=f"{upstream.url}/v1", fail_on_violation=True, log_requests=False).test_client()
    for body in BODIES:
        reply = client.post("/v1/responses", json=body, headers=AUTH)
        assert reply.status_code == 200 and b"contract_violation" not in reply.get_data()


# --- an upstream that cannot answer --------------------------------------------------------------


def test_an_unreachable_upstream_is_a_502_in_the_profiles_envelope():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]  # bound, not listening: a connection is refused
        client = create_app(proxy_to=f"http://127.0.0.1:{port}/v1", log_requests=False).test_client()
        reply = client.post("/v1/responses", json=BODIES[0], headers=AUTH)
        models = client.get("/v1/models", headers=AUTH)
    assert reply.status_code == 502 and models.status_code == 502
    assert reply.get_json()["error"]["code"] == "do_request_failed"
    assert validate(reply.get_json(), "error", "gateway") == []


def test_a_slow_upstream_is_a_504(upstream):
    client = create_app(proxy_to=f"{upstream.url}/v1", proxy_timeout=0.5, log_requests=False).test_client()
    upstream.gate.clear()
    try:
        reply = client.post("/v1/responses", json=BODIES[0], headers={**AUTH, "X-Test-Stall": "1"})
    finally:
        upstream.gate.set()
    assert reply.status_code == 504 and reply.get_json()["error"]["code"] == "upstream_timeout"


def test_limits_hold_before_anything_is_forwarded(upstream):
    client = create_app(proxy_to=f"{upstream.url}/v1", max_body_bytes=1024, log_requests=False).test_client()
    before = len(upstream.sent)
    too_big = client.post("/v1/responses", json={"model": "qwen-plus", "input": "x" * 4096}, headers=AUTH)
    too_deep = client.post(
        "/v1/responses", data="[" * 100 + "]" * 100, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert too_big.status_code == 413 and too_deep.status_code == 400
    assert len(upstream.sent) == before


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"record_dir": "x"}, "record_dir"),
        ({"fail_on_violation": True}, "fail_on_violation"),
        ({"proxy_to": "ftp://gateway"}, "proxy_to"),
        ({"proxy_to": "http://gateway/v1", "proxy_timeout": 0}, "proxy_timeout"),
        ({"proxy_to": "http://gateway/v1", "record_dir": "x", "workers": 2}, "workers 1"),
    ],
)
def test_proxy_settings_are_checked_when_loaded(values, named):
    with pytest.raises(ConfigError, match=named):
        create_app(**values)


def test_the_command_line_proxy_judges_records_and_fails(broken, tmp_path, monkeypatch):
    """``python -m mockserver --proxy-to URL --record DIR --fail-on-violation``, as a person runs it."""
    monkeypatch.setenv("MOCK_PROXY_API_KEY", UPSTREAM_KEY)
    args = ["--proxy-to", f"{broken.url}/v1", "--record", str(tmp_path), "--fail-on-violation", "--api-key", TEAM_KEY]
    with mock_process(*args) as proxy:
        reply = httpx.post(
            f"{proxy.base}/v1/responses", json=BODIES[0], headers={"Authorization": f"Bearer {TEAM_KEY}"}, timeout=30
        )
        assert wait_until(lambda: "contract violation usage_arithmetic" in "\n".join(proxy.output), 10)
    assert reply.status_code == 502 and reply.json()["error"]["code"] == "contract_violation"
    assert "usage_arithmetic at /usage/total_tokens" in reply.json()["error"]["message"]
    assert [e.status for e in load_exchanges(tmp_path)] == [200]  # the upstream's own reply is what is recorded
    assert no_key_in(tmp_path, UPSTREAM_KEY, TEAM_KEY) == []
    assert UPSTREAM_KEY not in "\n".join(proxy.output) and TEAM_KEY not in "\n".join(proxy.output)
    started = next(line for line in proxy.output if "Serving on" in line)
    assert f"proxying to {broken.url}/v1, recording into {tmp_path};" in started
