"""The bounded load test (``make load``; deselected from ``make test``).

Three rounds against a real server on a loopback port: in each, 16 client
threads make 30 requests apiece, a mix of plain creates, full streams and
streams cut off after the first event. After each round every stored
response is retrieved (and then deleted, so the next round starts from an
empty store), and the server's threads and memory are read from /proc.

Passes when: no request failed, every response created was retrievable, the
server has the same number of threads after each round, and its memory after
round 3 is within a margin of round 1. Loopback only; bounded in count (1,440
requests a run) and time (pytest-timeout).
"""

from __future__ import annotations

import json
import random
import socket
import threading
from dataclasses import dataclass, field

import httpx
import pytest

from bench.servers import children_of, proc_status

from .conftest import load_fixture
from .servers import ServerProcess, held_connections, mock_process, port_of, wait_until

pytestmark = pytest.mark.load

REQUEST = load_fixture("documented_request.json")
AUTH = {"Authorization": "sk-load"}
CLIENTS = 16
PER_CLIENT = 30
ROUNDS = 3
#: Memory may grow this much from round 1 to round 3 (allocator slack, caches warming).
RSS_MARGIN_KIB = 12 * 1024
RSS_MARGIN_FACTOR = 1.15


@dataclass
class Round:
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"plain": 0, "stream": 0, "cut": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)


def plain(http: httpx.Client, round_: Round, rng: random.Random) -> None:
    body = {**REQUEST, "input": rng.choice(["你好", "How do I test a gateway?", "再见"])}
    reply = http.post("/v1/responses", json=body)
    if reply.status_code != 200:
        raise AssertionError(f"plain create: {reply.status_code} {reply.text[:200]}")
    with round_.lock:
        round_.created.append(reply.json()["id"])
        round_.counts["plain"] += 1


def stream(http: httpx.Client, round_: Round, rng: random.Random) -> None:
    response_id = None
    last = None
    with http.stream("POST", "/v1/responses", json={**REQUEST, "stream": True}) as reply:
        if reply.status_code != 200:
            raise AssertionError(f"stream: {reply.status_code}")
        for line in reply.iter_lines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                last = event["type"]
                if event["type"] == "response.created":
                    response_id = event["response"]["id"]
    if last != "response.completed" or response_id is None:
        raise AssertionError(f"stream ended with {last}")
    with round_.lock:
        round_.created.append(response_id)
        round_.counts["stream"] += 1


def cut(host: str, port: int, round_: Round) -> None:
    """A stream the client leaves after its first event (the response is stored all the same)."""
    body = json.dumps({**REQUEST, "stream": True}).encode()
    with socket.create_connection((host, port), timeout=20) as conn:
        conn.sendall(
            (
                b"POST /v1/responses HTTP/1.1\r\nHost: load\r\nAuthorization: sk-load\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            )
            % len(body)
            + body
        )
        received = b""
        while b"response.created" not in received or b"\n\n" not in received.split(b"response.created", 1)[1]:
            chunk = conn.recv(65536)
            if not chunk:
                raise AssertionError("stream closed before its first event")
            received += chunk
    data = received.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    with round_.lock:
        round_.created.append(json.loads(data)["response"]["id"])
        round_.counts["cut"] += 1


def client(base: str, host: str, port: int, round_: Round, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        for _ in range(PER_CLIENT):
            kind = rng.choices(["plain", "stream", "cut"], weights=[5, 3, 2])[0]
            try:
                if kind == "plain":
                    plain(http, round_, rng)
                elif kind == "stream":
                    stream(http, round_, rng)
                else:
                    cut(host, port, round_)
            except Exception as exc:  # collected and reported
                with round_.lock:
                    round_.errors.append(f"{kind}: {exc!r}")


def server_processes(server: ServerProcess) -> list[int]:
    return children_of(server.pid) or [server.pid]


def threads_and_rss(server: ServerProcess) -> tuple[int, int]:
    pids = server_processes(server)
    return sum(proc_status(p, "Threads") for p in pids), sum(proc_status(p, "VmRSS") for p in pids)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("workers", [1, 2])
def test_rounds_of_mixed_clients(workers):
    args = ["--quiet", "--threads", "8", "--stream-delay", "0.002", "--workers", str(workers), "--serve-stored-routes"]
    with mock_process(*args, keep_lines=5000) as server:
        host, port = "127.0.0.1", port_of(server)
        if workers > 1:
            assert wait_until(lambda: len(children_of(server.pid)) == workers, 10)
        pids = [server.pid, *children_of(server.pid)]
        readings = []
        for number in range(ROUNDS):
            round_ = Round()
            pool = [
                threading.Thread(target=client, args=(server.base, host, port, round_, number * 100 + i))
                for i in range(CLIENTS)
            ]
            for t in pool:
                t.start()
            for t in pool:
                t.join(240)
            assert not any(t.is_alive() for t in pool), "clients did not finish in time"
            assert not round_.errors, round_.errors[:5]
            assert len(round_.created) == CLIENTS * PER_CLIENT and len(set(round_.created)) == len(round_.created)
            assert all(round_.counts.values()), round_.counts
            with httpx.Client(base_url=server.base, headers=AUTH, timeout=30) as http:
                for response_id in round_.created:
                    reply = http.get(f"/v1/responses/{response_id}")
                    assert reply.status_code == 200 and reply.json()["id"] == response_id, (
                        response_id,
                        reply.status_code,
                    )
                for response_id in round_.created:
                    assert http.delete(f"/v1/responses/{response_id}").status_code == 200
            # every client has closed its connections; once the server has closed its side of each,
            # it has finished or given up every request (cut streams included) and is read at rest
            assert wait_until(lambda: held_connections(pids) == 0, 60), f"{held_connections(pids)} still open"
            readings.append(threads_and_rss(server))
        log = "\n".join(server.output)
        assert "Traceback" not in log and "ERROR" not in log, log[-2000:]
    print(f"server threads and VmRSS KiB after each round: {readings}")
    (threads1, rss1), _, (_, rss3) = readings
    assert all(threads == threads1 for threads, _ in readings), readings
    assert rss3 <= max(rss1 * RSS_MARGIN_FACTOR, rss1 + RSS_MARGIN_KIB), readings
