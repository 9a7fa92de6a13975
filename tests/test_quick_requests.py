"""Requests that cannot wait are served on waitress's I/O thread; the rest on its task threads (``serve/quick.py``).

Which thread served a request is read from its log line; the I/O thread of
a ``LiveServer`` is its ``waitress-loop-PORT`` thread.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from mockserver import create_app
from mockserver.serve.quick import quick_requests
from mockserver.sources import Source
from mockserver.state.store import MemoryStore

from .conftest import load_fixture
from .servers import LiveServer

REQUEST = load_fixture("documented_request.json")
KEY = {"Authorization": "Bearer sk-quick"}


def test_a_plain_create_and_a_stream_run_on_the_io_thread_and_a_fault_on_a_task_thread(caplog):
    caplog.set_level("INFO", logger="mockserver")
    app = create_app()  # its request log line is written on the thread that served the request
    with LiveServer(app, threads=2) as server, httpx.Client(base_url=server.url, headers=KEY, timeout=10) as client:
        assert client.post("/v1/responses", json=REQUEST).status_code == 200
        streamed = client.post("/v1/responses", json={**REQUEST, "stream": True})
        assert streamed.status_code == 200 and "response.completed" in streamed.text
        faulted = client.post("/v1/responses", json=REQUEST, headers={"X-Mock-Fault": "latency=0.001"})
        assert faulted.status_code == 200
        loop = f"waitress-loop-{server.port}"
    served_on = [record.threadName for record in caplog.records if record.getMessage().startswith("POST /v1/responses")]
    assert served_on[:2] == [loop, loop]
    assert served_on[2] != loop and served_on[2].startswith("waitress")


def test_an_app_changed_after_create_app_runs_on_task_threads():
    """A hook, a route or a middleware added to the mock's app is code the mock cannot judge: it may wait."""
    hooked = create_app(log_requests=False)
    hooked.after_request(lambda response: response)
    routed = create_app(log_requests=False)
    routed.add_url_rule("/slow", "slow", lambda: "")
    wrapped = create_app(log_requests=False)
    wrapped.wsgi_app = lambda environ, start_response: wrapped.__class__.wsgi_app(wrapped, environ, start_response)
    for app in (hooked, routed, wrapped):
        assert quick_requests(app) is None


class WaitingSource(Source):
    """A source of one's own: it might wait on anything, so it never runs on the I/O thread."""

    def answer(self, request):
        return None


@pytest.mark.parametrize(
    "overrides",
    [
        {"stream_delay": 0.01},
        {"ttft": 0.2},
        {"tokens_per_second": 50},
        {"faults": ("latency=0.01",)},
        {"replay_dir": "fixtures/recordings/mock"},
    ],
    ids=lambda overrides: next(iter(overrides)),
)
def test_an_app_that_may_wait_runs_every_request_on_task_threads(overrides):
    root = Path(__file__).resolve().parents[1]
    if "replay_dir" in overrides:
        overrides = {"replay_dir": root / overrides["replay_dir"]}
    assert quick_requests(create_app(log_requests=False, **overrides)) is None


def test_a_source_of_ones_own_or_a_redis_store_runs_on_task_threads():
    assert quick_requests(create_app(log_requests=False, sources=[WaitingSource()])) is None

    class ElsewhereStore:  # any store but the memory and SQLite ones (Redis) may wait on the network
        shared = False

        def __init__(self) -> None:
            self._records = MemoryStore(100)

        def __getattr__(self, name: str):
            return getattr(self._records, name)

    assert quick_requests(create_app(log_requests=False, store=ElsewhereStore())) is None  # type: ignore[arg-type]


def test_the_default_app_and_a_sqlite_store_answer_quickly(tmp_path):
    assert quick_requests(create_app(log_requests=False)) is not None
    assert quick_requests(create_app(log_requests=False, store_url=f"sqlite:///{tmp_path / 's.db'}")) is not None
    assert quick_requests(object()) is None  # not the mock: waitress as it is


def test_a_long_stream_to_a_client_that_does_not_read_holds_up_no_one():
    """On the I/O thread a write cannot wait for the buffer to drain (that thread drains it): it grows instead.

    waitress's task threads wait once more than ``outbuf_high_watermark`` is
    unsent; the I/O thread waiting there would wait for itself, and every
    other client of the worker with it.
    """
    body = json.dumps({"model": "qwen-plus", "input": "Write an essay about " + "spring " * 3000, "stream": True})
    request = (
        "POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-quick\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    app = create_app(log_requests=False)
    live = LiveServer(app, threads=2, outbuf_high_watermark=64 * 1024)
    # A small send buffer for each connection, so that what the client does not read stays in waitress's buffer.
    live.server.adj.socket_options = [(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)]
    with live as server:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.settimeout(10)
        stalled.connect((server.host, server.port))
        try:
            stalled.sendall(request)
            assert stalled.recv(4096).startswith(b"HTTP/1.1 200")  # the stream has begun, and is now not read
            reply = httpx.post(f"{server.url}/v1/responses", json=REQUEST, headers=KEY, timeout=10)
            assert reply.status_code == 200 and reply.json()["status"] == "completed"
            streamed = b""
            while not streamed.endswith(b"\r\n0\r\n\r\n"):  # the whole stream still arrives
                chunk = stalled.recv(65536)
                assert chunk
                streamed += chunk
            assert len(streamed) > 300_000 and b"response.completed" in streamed
        finally:
            stalled.close()


def test_pipelined_requests_are_answered_in_order_on_either_thread():
    """Requests sent back to back on one connection: quick ones on the I/O thread, a faulted one on a task thread."""

    def request(number: int, extra: str = "") -> bytes:
        body = json.dumps({**REQUEST, "metadata": {"n": str(number)}})  # echoed in the reply: which one it answers
        return (
            "POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-quick\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n{body}"
        ).encode()

    app = create_app(log_requests=False)
    with LiveServer(app, threads=2) as server, socket.create_connection((server.host, server.port), timeout=10) as conn:
        faulted, last = request(1, "X-Mock-Fault: latency=0.01\r\n"), request(3, "Connection: close\r\n")
        conn.sendall(request(0) + faulted + request(2) + last)
        received = b""
        while chunk := conn.recv(65536):  # the last request asked to close: the server closes after its reply
            received += chunk
    replies = received.split(b"HTTP/1.1 ")[1:]
    assert len(replies) == 4 and all(reply.startswith(b"200 OK") for reply in replies)
    answered = [json.loads(reply.split(b"\r\n\r\n", 1)[1])["metadata"]["n"] for reply in replies]
    assert answered == ["0", "1", "2", "3"]
