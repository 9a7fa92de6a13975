"""Injected faults (``X-Mock-Fault``, ``--fault``), seen from the client side.

Each fault is checked the way an app meets it: through the openai SDK
(2.x and 3.x) where the SDK has behaviour to test (retries, exceptions,
stream helpers), and with httpx on a real socket where timing or a cut
connection matters.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import openai
import pytest

from mockserver import create_app
from mockserver.config import ConfigError
from mockserver.faults import FaultSpecError, checked, parse
from schemas import validate
from schemas.stream import parse_sse, validate_sse

from .conftest import API_KEY, ROOT
from .servers import LiveServer

pytestmark = pytest.mark.sdk

REQUEST = {"model": "qwen3.6-plus", "input": "你好，介绍一下你自己"}


@pytest.fixture(scope="module", params=["gateway", "openai"])
def server(request):
    with LiveServer(create_app(seed=3, api_keys=[API_KEY], profile=request.param, log_requests=False)) as live:
        live.profile = request.param
        yield live


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30) as client:
        yield client


def sdk(server, *, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(api_key=API_KEY, base_url=f"{server.url}/v1", max_retries=max_retries)


def fault(spec: str) -> dict[str, str]:
    return {"X-Mock-Fault": spec}


# -- the spec -----------------------------------------------------------------


def test_a_spec_names_several_faults():
    faults = parse("latency=0.1-0.3, status=429, retry-after=2, times=1")
    assert faults.latency == (0.1, 0.3) and faults.status == 429 and faults.retry_after == 2 and faults.times == 1


@pytest.mark.parametrize(
    "spec",
    [
        "bogus",
        "latency",
        "latency=x",
        "latency=0.5-0.1",
        "latency=nan",
        "latency=1e9",
        "status=404",
        "status=42x",
        "status=²",
        "times=¹",
        "retry-after=2",
        "drop-after=0",
        "drop-after=-1",
        "times=0",
        "rate-limit-200=1",
    ],
)
def test_a_bad_spec_is_refused(spec):
    with pytest.raises(FaultSpecError):
        checked(parse(spec))


def test_several_configured_specs_combine_field_by_field():
    app = create_app(faults=["status=429", "retry-after=3"], log_requests=False)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    reply = client.post("/v1/responses", json=REQUEST)
    assert reply.status_code == 429 and reply.headers["Retry-After"] == "3"
    one = create_app(faults="status=503", log_requests=False).test_client()  # one spec as a plain string
    one.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    assert one.post("/v1/responses", json=REQUEST).status_code == 503


def test_a_bad_header_is_a_400_naming_the_header(http, server):
    reply = http.post("/v1/responses", json=REQUEST, headers=fault("status=418"))
    assert reply.status_code == 400
    assert validate(reply.json(), "error", server.profile) == []
    assert "X-Mock-Fault" in reply.json()["error"]["message"] and "418" in reply.json()["error"]["message"]
    odd = http.post("/v1/responses", json=REQUEST, headers={"X-Mock-Fault": "times=²".encode("latin-1")})
    assert odd.status_code == 400 and validate(odd.json(), "error", server.profile) == []


def test_a_bad_configured_fault_names_the_option():
    with pytest.raises(ConfigError, match=r"faults\[1\]: unknown fault 'sloth'"):
        create_app(faults=["latency=0.1", "sloth=3"])
    run = subprocess.run(
        [sys.executable, "-m", "mockserver", "--fault", "status=299", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert run.returncode == 2 and "faults[0]: status: 299" in run.stderr


# -- error statuses -----------------------------------------------------------


def test_the_sdk_retries_a_429_after_its_retry_after(server, http):
    marker = f"retry me {time.time_ns()}"  # finds this test's requests in the server's recent list
    client = sdk(server, max_retries=2)
    started = time.perf_counter()
    reply = client.with_options(
        default_headers=fault("status=429, retry-after=1, times=1, latency=0")
    ).responses.create(model=REQUEST["model"], input=marker)
    waited = time.perf_counter() - started
    assert reply.status == "completed"
    recent = http.get("/__mock__/requests").json()["data"]
    served = [entry["status"] for entry in recent if entry.get("body", {}).get("input") == marker]
    assert served == [429, 200]  # one 429, then the retry
    assert waited >= 1.0, f"the retry came {waited:.2f}s after the 429 (Retry-After: 1)"


def test_a_429_reaches_the_client_with_retry_after(server):
    with pytest.raises(openai.RateLimitError) as caught:
        sdk(server).responses.create(**REQUEST, extra_headers=fault("status=429, retry-after=7"))
    assert caught.value.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert validate(caught.value.response.json(), "error", server.profile) == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_come_in_the_profile_envelope(server, status):
    with pytest.raises(openai.APIStatusError) as caught:
        sdk(server).responses.create(**REQUEST, extra_headers=fault(f"status={status}"))
    error = caught.value
    assert isinstance(error, openai.InternalServerError) and error.status_code == status
    assert validate(error.response.json(), "error", server.profile) == []


def test_times_limits_a_fault_to_the_first_requests(http):
    spec = fault(f"status=503, times=2, latency={time.time_ns() % 1000 / 1e6:.6f}")  # a spec no other test used
    assert [http.post("/v1/responses", json=REQUEST, headers=spec).status_code for _ in range(3)] == [503, 503, 200]


# -- streams ------------------------------------------------------------------


def test_a_dropped_stream_raises_in_the_client_and_the_server_carries_on(server):
    client = sdk(server)
    seen = []
    with pytest.raises(Exception) as caught:
        for event in client.responses.create(**REQUEST, stream=True, extra_headers=fault("drop-after=4")):
            seen.append(event.type)
    assert type(caught.value).__name__ in ("RemoteProtocolError", "APIConnectionError"), repr(caught.value)
    assert len(seen) == 4 and "response.completed" not in seen
    assert client.responses.create(**REQUEST).status == "completed"


@pytest.mark.parametrize("after", [100, 10**8])  # past the end of the body: still cut short
def test_a_dropped_plain_reply_is_a_connection_error(server, after):
    with pytest.raises(openai.APIConnectionError):
        sdk(server).responses.create(**REQUEST, extra_headers=fault(f"drop-after={after}"))


def test_an_error_event_mid_stream(http, server):
    reply = http.post("/v1/responses", json={**REQUEST, "stream": True}, headers=fault("stream-error=5"))
    events = parse_sse(reply.text).events
    assert [e.json["type"] for e in events][-1] == "error" and len(events) == 6
    assert events[-1].json["sequence_number"] == 5
    assert validate_sse(reply.text, server.profile) == []


def test_a_failed_response_mid_stream_is_what_is_stored(http, server):
    reply = http.post("/v1/responses", json={**REQUEST, "stream": True}, headers=fault("stream-failed=12"))
    assert validate_sse(reply.text, server.profile) == []
    terminal = parse_sse(reply.text).events[-1].json
    assert terminal["type"] == "response.failed" and terminal["sequence_number"] == 12
    failed = terminal["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert http.get(f"/v1/responses/{failed['id']}").json() == failed


def test_the_sdk_stream_helper_sees_the_failure(server):
    with sdk(server).responses.stream(**REQUEST, extra_headers=fault("stream-failed=6")) as stream:
        types = [event.type for event in stream]
    assert types[-1] == "response.failed" and "response.completed" not in types


# -- the gateway's rate limiting under HTTP 200 ---------------------------------


def test_rate_limit_as_200_with_status_failed(server):
    reply = sdk(server).responses.create(**REQUEST, extra_headers=fault("rate-limit-200"))
    assert reply.status == "failed" and reply.output == [] and reply.error.code == "server_error"
    assert "rate limit" in reply.error.message
    assert validate(reply.model_dump(mode="json", exclude_unset=True), "response", server.profile) == []


def test_rate_limit_as_200_streamed(http, server):
    reply = http.post("/v1/responses", json={**REQUEST, "stream": True}, headers=fault("rate-limit-200"))
    assert reply.status_code == 200 and validate_sse(reply.text, server.profile) == []
    assert [e.json["type"] for e in parse_sse(reply.text).events] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]


# -- time ---------------------------------------------------------------------


def test_latency_delays_a_plain_reply(http):
    started = time.perf_counter()
    assert http.post("/v1/responses", json=REQUEST, headers=fault("latency=0.4")).status_code == 200
    assert time.perf_counter() - started >= 0.4


def test_random_latency_stays_in_its_range(fake_clock):
    client = create_app(log_requests=False).test_client()  # in-process: the waits are the test thread's
    client.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    for _ in range(20):
        assert client.post("/v1/responses", json=REQUEST, headers=fault("latency=0.1-0.3")).status_code == 200
    assert len(fake_clock.sleeps) == 20
    assert all(0.1 <= seconds <= 0.3 for seconds in fake_clock.sleeps), fake_clock.sleeps
    assert len(set(fake_clock.sleeps)) > 1  # drawn, not fixed


def test_latency_slows_every_stream_event(http):
    arrivals = []
    with http.stream("POST", "/v1/responses", json={**REQUEST, "stream": True}, headers=fault("latency=0.02")) as reply:
        for line in reply.iter_lines():
            if line.startswith("event:"):
                arrivals.append(time.perf_counter())
    assert len(arrivals) > 10
    assert arrivals[-1] - arrivals[0] >= 0.02 * (len(arrivals) - 1) * 0.9


def test_a_slow_first_byte(http):
    started = time.perf_counter()
    with http.stream(
        "POST", "/v1/responses", json={**REQUEST, "stream": True}, headers=fault("first-byte=0.5")
    ) as reply:
        first_byte = time.perf_counter() - started
        reply.read()
    assert first_byte >= 0.5


def test_a_client_read_timeout_fires_on_a_slow_first_byte(server):
    with pytest.raises(openai.APITimeoutError):
        openai.OpenAI(api_key=API_KEY, base_url=f"{server.url}/v1", max_retries=0, timeout=0.2).responses.create(
            **REQUEST, extra_headers=fault("first-byte=1")
        )


# -- faults for every request -------------------------------------------------


def test_configured_faults_apply_to_every_request_unless_the_header_says_none():
    client = create_app(faults=["status=502"], log_requests=False).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    assert client.post("/v1/responses", json=REQUEST).status_code == 502
    assert client.post("/v1/responses", json=REQUEST, headers=fault("none")).status_code == 200
    assert client.post("/v1/responses", json=REQUEST, headers=fault("status=429")).status_code == 429


def test_fault_rate_picks_a_share_of_requests():
    client = create_app(faults=["status=503"], fault_rate=0.5, log_requests=False).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    statuses = [client.post("/v1/responses", json=REQUEST).status_code for _ in range(200)]
    assert set(statuses) == {200, 503} and 50 <= statuses.count(503) <= 150
    never = create_app(faults=["status=503"], fault_rate=0.0, log_requests=False).test_client()
    never.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    assert all(never.post("/v1/responses", json=REQUEST).status_code == 200 for _ in range(20))


def test_faults_apply_to_a_scenarios_answer_too():
    from .conftest import FIXTURES

    client = create_app(scenarios_dir=FIXTURES / "scenarios", log_requests=False).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = API_KEY
    greeting = {"model": "qwen3.6-plus", "input": "你好"}  # fixtures/scenarios/greeting.json answers it
    assert client.post("/v1/responses", json=greeting, headers=fault("rate-limit-200")).get_json()["status"] == "failed"
    assert client.post("/v1/responses", json=greeting, headers=fault("status=502")).status_code == 502
    assert client.post("/v1/responses", json=greeting).get_json()["status"] == "completed"
