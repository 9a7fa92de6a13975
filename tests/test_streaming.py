"""Streaming from the mock: wire format, order, reassembly, equality with the plain reply."""

from __future__ import annotations

import json
import socket
import time

import schemas
from mockserver import create_app

from .servers import LiveServer, wait_until


def events_of(raw: str) -> list[tuple[str, dict]]:
    blocks = [b for b in raw.split("\n\n") if b.strip() and not b.startswith(":")]
    parsed = []
    for block in blocks:
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def stream(client, body):
    reply = client.post("/v1/responses", json={**body, "stream": True}, headers={"Authorization": "sk-a"})
    assert reply.status_code == 200 and reply.mimetype == "text/event-stream"
    return reply.get_data(as_text=True)


REQUEST = {"model": "qwen3.6-plus", "input": [{"role": "user", "content": "你好"}]}


def test_wire_format_and_order():
    raw = stream(create_app(seed=2).test_client(), REQUEST)
    assert raw.endswith("\n\n") and "[DONE]" not in raw
    events = events_of(raw)
    assert all(name == data["type"] for name, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    types = [name for name, _ in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[-1] == "response.completed"
    reasoning_end = types.index("response.output_item.done")
    assert types[3:5] == ["response.reasoning_summary_part.added", "response.reasoning_summary_text.delta"]
    assert types[reasoning_end + 1 : reasoning_end + 4] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    for _, event in events:
        assert schemas.validate(event, "event") == [], event["type"]


def test_deltas_reassemble_and_final_equals_retrieve_and_plain_reply():
    app = create_app(seed=2, serve_stored_routes=True)
    client = app.test_client()
    events = [data for _, data in events_of(stream(client, REQUEST))]
    final = events[-1]["response"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == final["output"][1]["content"][0]["text"]
    assert client.get(f"/v1/responses/{final['id']}", headers={"Authorization": "sk-a"}).get_json() == final
    plain = client.post("/v1/responses", json=REQUEST, headers={"Authorization": "sk-a"}).get_json()

    def strip(r):
        return {k: v for k, v in r.items() if k not in ("id", "created_at", "completed_at", "output")}

    assert strip(plain) == strip(final)
    assert [i["content"] if i["type"] == "message" else i["summary"] for i in plain["output"]] == [
        i["content"] if i["type"] == "message" else i["summary"] for i in final["output"]
    ]


def test_incomplete_stream_ends_with_response_incomplete():
    events = events_of(
        stream(create_app().test_client(), {"model": "qwen-plus", "input": "Explain tea", "max_output_tokens": 16})
    )
    assert events[-1][0] == "response.incomplete" and events[-1][1]["response"]["incomplete_details"] == {
        "reason": "max_output_tokens"
    }


def test_dashscope_reasoning_family_and_pings():
    raw = stream(create_app(reasoning_stream="text", ping_every=3).test_client(), REQUEST)
    assert ": PING\n\n" in raw
    types = [name for name, _ in events_of(raw)]
    assert "response.reasoning_text.delta" in types and "response.reasoning_summary_text.delta" not in types


def test_events_arrive_one_by_one_on_a_real_socket():
    with LiveServer(create_app(stream_delay=0.05, log_requests=False)) as server:
        body = json.dumps({**REQUEST, "stream": True}).encode()
        with socket.create_connection((server.host, server.port), timeout=5) as conn:
            conn.sendall(
                b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: sk-a\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            arrivals = []
            buffer = b""
            started = time.perf_counter()
            while b"response.completed" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                arrivals.append(time.perf_counter() - started)
    assert len(arrivals) > 5  # many separate reads: not buffered until the end
    assert arrivals[-1] - arrivals[0] > 0.2


def test_client_disconnect_mid_stream_costs_nothing(caplog):
    caplog.set_level("INFO", logger="mockserver")
    app = create_app(stream_delay=0.02, log_requests=False)
    with LiveServer(app) as server:
        body = json.dumps({**REQUEST, "stream": True}).encode()
        conn = socket.create_connection((server.host, server.port), timeout=5)
        conn.sendall(
            b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nAuthorization: sk-a\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        conn.recv(1024)
        conn.close()
        import httpx

        reply = httpx.post(
            f"{server.url}/v1/responses",
            json={"model": "qwen-plus", "input": "still there?"},
            headers={"Authorization": "sk-a"},
            timeout=10,
        )
        assert reply.status_code == 200
        assert wait_until(lambda: "client disconnected from stream" in caplog.text, 10)


def _raw_stream_request(body: bytes, extra: str = "", version: str = "1.1") -> bytes:
    return (
        f"POST /v1/responses HTTP/{version}\r\nHost: x\r\nAuthorization: sk-a\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def _read_until(conn: socket.socket, end: bytes) -> bytes:
    buffer = b""
    while end not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buffer += chunk
    return buffer


def test_a_streamed_reply_keeps_its_connection_for_the_next_request():
    """Chunked encoding marks the end of a stream: the client's next request reuses the connection."""
    with LiveServer(create_app(log_requests=False)) as server:
        body = json.dumps({**REQUEST, "stream": True}).encode()
        with socket.create_connection((server.host, server.port), timeout=5) as conn:
            for _ in range(2):
                conn.sendall(_raw_stream_request(body))
                streamed = _read_until(conn, b"\r\n0\r\n\r\n")
                head = streamed.partition(b"\r\n\r\n")[0].lower()
                assert b"transfer-encoding: chunked" in head and b"connection: close" not in head, head
                assert b"response.completed" in streamed
            plain = json.dumps(REQUEST).encode()
            conn.sendall(_raw_stream_request(plain))
            assert _read_until(conn, b"\r\n\r\n").startswith(b"HTTP/1.1 200 ")


def test_a_streamed_reply_closes_when_the_client_asks_or_speaks_http_1_0():
    with LiveServer(create_app(log_requests=False)) as server:
        body = json.dumps({**REQUEST, "stream": True}).encode()
        for request in (_raw_stream_request(body, "Connection: close\r\n"), _raw_stream_request(body, version="1.0")):
            with socket.create_connection((server.host, server.port), timeout=5) as conn:
                conn.sendall(request)
                streamed = _read_until(conn, b"\x00")  # to the end: the server closes
                assert b"connection: close" in streamed.partition(b"\r\n\r\n")[0].lower()
                assert b"response.completed" in streamed
