"""The real server (``python -m mockserver``): shutdown on SIGTERM, one log line per
request that never shows the key, and clients that leave in the middle of a stream."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from bench.servers import children_of, proc_threads

from .conftest import ROOT, load_fixture
from .servers import mock_process, port_of, wait_until

REQUEST = load_fixture("documented_request.json")
SECRET = "sk-SeCrEt0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


def port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return True
    return False


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [1, 3])
def test_sigterm_stops_cleanly(workers):
    server = mock_process("--quiet", "--workers", str(workers))
    port = port_of(server)
    assert (
        httpx.post(
            f"{server.base}/v1/responses", json=REQUEST, headers={"Authorization": "sk-a"}, timeout=10
        ).status_code
        == 200
    )
    if workers > 1:
        assert wait_until(lambda: len(children_of(server.pid)) == workers, 10)
    children = children_of(server.pid)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    assert port_closed(port)
    assert wait_until(lambda: not any(_alive(pid) for pid in children), 5)
    server.stop()  # exited already: this joins the thread reading its output, so every line is in
    assert "mock gateway stopped" in "\n".join(server.output)


@pytest.mark.timeout(60)
def test_sigterm_during_a_stream_still_stops():
    server = mock_process("--quiet", "--stream-delay", "0.2")
    conn = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
    body = json.dumps({**REQUEST, "stream": True}).encode()
    conn.sendall(
        (
            b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: sk-a\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        )
        % len(body)
        + body
    )
    received = b""
    while b"event:" not in received:
        chunk = conn.recv(65536)
        assert chunk, received
        received += chunk
    server.proc.send_signal(signal.SIGTERM)
    try:
        assert server.proc.wait(15) == 0
    finally:
        conn.close()
        server.stop()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


_LINE = re.compile(r"mockserver: (GET|POST|DELETE) (\S+) (\d{3}) ([0-9a-f]{32}|-) [\d.]+ms")


@pytest.mark.timeout(60)
def test_one_log_line_per_request_and_never_the_key(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([SECRET]))
    with (
        mock_process("--keys-file", str(keys), keep_lines=1000) as server,
        httpx.Client(base_url=server.base, timeout=10) as http,
    ):
        made = http.post("/v1/responses", json=REQUEST, headers={"Authorization": f"Bearer {SECRET}"})
        assert made.status_code == 200
        sent = [
            made,
            http.get(f"/v1/responses/{made.json()['id']}", headers={"Authorization": SECRET}),
            http.post(
                "/v1/responses", json=REQUEST, headers={"Authorization": SECRET + "x"}
            ),  # 401: a wrong key is not logged either
            http.get(f"/v1/models?api_key={SECRET}", headers={"Authorization": SECRET}),  # a key in the query string
            http.post("/v1/responses", json={**REQUEST, "stream": True}, headers={"Authorization": SECRET}),
            http.delete(f"/v1/responses/{made.json()['id']}", headers={"Authorization": SECRET}),
        ]
    log = "\n".join(server.output)  # read once the server has stopped: every line it wrote is in
    assert SECRET not in log and SECRET[3:20] not in log
    lines = [m for m in (_LINE.search(line) for line in log.splitlines()) if m]
    assert len(lines) == len(sent), log
    ids = [reply.headers["X-Oneapi-Request-Id"] for reply in sent]
    assert [m.group(4) for m in lines] == ids  # one line each, in order, naming the request id
    assert [int(m.group(3)) for m in lines] == [r.status_code for r in sent]


@pytest.mark.timeout(60)
def test_clients_leaving_mid_stream_cost_nothing():
    """Twenty streams cut after a few events.

    The server logs each, keeps serving, and ends with the threads it started with.
    """
    with mock_process("--stream-delay", "0.01", "--threads", "4", keep_lines=2000) as server:
        port = port_of(server)
        assert (
            httpx.post(
                f"{server.base}/v1/responses", json=REQUEST, headers={"Authorization": "sk-a"}, timeout=10
            ).status_code
            == 200
        )
        threads_before = proc_threads(server.pid)
        body = json.dumps({**REQUEST, "stream": True}).encode()
        for _ in range(20):
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(
                (
                    b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: sk-a\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                )
                % len(body)
                + body
            )
            conn.recv(2048)
            conn.close()
        assert wait_until(lambda: "\n".join(server.output).count("client disconnected from stream") >= 20, 15)
        reply = httpx.post(
            f"{server.base}/v1/responses",
            json={**REQUEST, "stream": True},
            headers={"Authorization": "sk-a"},
            timeout=10,
        )
        assert reply.status_code == 200 and "response.completed" in reply.text
        assert proc_threads(server.pid) == threads_before
        assert "Traceback" not in "\n".join(server.output)


def test_a_server_that_does_not_proxy_imports_no_http_client():
    """httpx (and what it brings) is about 2 MiB in every worker: only the proxy imports it, when it runs."""
    code = (
        "import sys\n"
        "from mockserver.serve import cli, workers\n"
        "from mockserver import create_app\n"
        "app = create_app()\n"
        "client = app.test_client()\n"
        "body = {'model': 'qwen3.6-plus', 'input': 'hi'}\n"
        "for stream in (False, True):\n"
        "    reply = client.post('/v1/responses', json={**body, 'stream': stream}, headers={'Authorization': 'k'})\n"
        "    assert reply.status_code == 200 and reply.get_data()\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'h11') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
