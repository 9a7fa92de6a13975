"""Hostile input: each is answered by a 4xx in the error envelope, and the server stays healthy.

Most cases go over a real socket to the real server (``tests/servers.py``'s
``LiveServer``: the settings ``python -m mockserver`` uses), so waitress's own limits are
exercised too; a few are repeated in-process for both profiles. After each
case a normal request must still succeed.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

import schemas
from mockserver import create_app

from .conftest import load_fixture
from .servers import LiveServer, wait_until

REQUEST = load_fixture("documented_request.json")
KEY = "sk-hostile"
CHANNEL_TIMEOUT = 2


@dataclass
class Server:
    host: str
    port: int
    profile: str

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


def running(profile: str) -> Iterator[Server]:
    app = create_app(profile=profile, log_requests=False, serve_stored_routes=True)
    with LiveServer(app, threads=4, channel_timeout=CHANNEL_TIMEOUT, cleanup_interval=1) as live:
        yield Server(live.host, live.port, profile)


@pytest.fixture(scope="module", params=["gateway", "openai"])
def server(request) -> Iterator[Server]:
    """The server in each profile (the envelope differs)."""
    yield from running(request.param)


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[Server]:
    """One profile is enough where only the HTTP layer's timing is at stake."""
    yield from running("gateway")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw_headers: bytes
    body: bytes

    def json(self):
        return json.loads(self.body)


def exchange(server: Server, data: bytes | list[bytes], *, timeout: float = 20) -> Reply:
    """Send raw bytes (``Connection: close`` requests) and read the reply to the end."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as conn:
        for part in data if isinstance(data, list) else [data]:
            try:
                conn.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered early and closed: read what it said
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return parse(b"".join(chunks))


def parse(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(b"HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return Reply(status, headers, head, body)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def post(path: str, body: bytes, *, content_type: str | None = "application/json", extra: str = "") -> bytes:
    ct = f"Content-Type: {content_type}\r\n" if content_type else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: {KEY}\r\n{ct}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n"
    ).encode() + body


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: mock\r\nAuthorization: {KEY}\r\nConnection: close\r\n\r\n".encode()


def assert_enveloped_4xx(reply: Reply, profile: str) -> dict:
    assert 400 <= reply.status < 500, (reply.status, reply.body[:300])
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.raw_headers
    body = reply.json()
    assert schemas.validate(body, "error", profile) == [], body
    return body


def assert_healthy(server: Server) -> None:
    reply = httpx.post(f"{server.base}/v1/responses", json=REQUEST, headers={"Authorization": KEY}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert schemas.validate(reply.json(), "response", server.profile) == []


def nested(depth: int) -> bytes:
    return b'{"model": "qwen3.6-plus", "input": ' + b"[" * depth + b"]" * depth + b"}"


BODIES = {
    "invalid UTF-8": b'{"model": "qwen3.6-plus", "input": "\xff\xfe\xc3("}',
    "UTF-16 with BOM": '{"model": "qwen3.6-plus", "input": "hi"}'.encode("utf-16"),
    "arrays nested 10,000 deep": nested(10_000),
    "objects nested 10,000 deep": b'{"model": "qwen3.6-plus", "input": "x", "metadata": '
    + b'{"a":' * 10_000
    + b"1"
    + b"}" * 10_001,
    "nested 65 deep (just past the limit)": nested(64),
    "a 7 MB string": b'{"model": "qwen3.6-plus", "input": "' + b"a" * (7 * 1024 * 1024) + b'"}',
    "a 5 MB model name": b'{"model": "' + b"q" * (5 * 1024 * 1024) + b'", "input": "hi"}',
    "duplicate keys": b'{"model": "qwen3.6-plus", "input": "hi", "input": "again"}',
    "NaN": b'{"model": "qwen3.6-plus", "input": "hi", "temperature": NaN}',
    "Infinity": b'{"model": "qwen3.6-plus", "input": "hi", "temperature": -Infinity}',
    "1e400": b'{"model": "qwen3.6-plus", "input": "hi", "temperature": 1e400}',
    "an integer with 5000 digits": b'{"model": "qwen3.6-plus", "input": "hi", "max_output_tokens": '
    + b"9" * 5000
    + b"}",
    "an integer with 4000 digits": b'{"model": "qwen3.6-plus", "input": "hi", "max_output_tokens": '
    + b"9" * 4000
    + b"}",
    "not JSON at all": b"\x00\x01\x02<html>",
    "empty body": b"",
    "a JSON string, not an object": b'"qwen3.6-plus"',
    "a JSON array of 1,000,000 numbers": b"[" + b"1," * 999_999 + b"1]",
    "lone surrogate escape": b'{"model": "qwen3.6-plus", "input": "\\ud800"}',
    "NUL in a key": b'{"model": "qwen3.6-plus", "input": "hi", "a\\u0000b": 1}',
}


#: Bodies a profile legitimately accepts: OpenAI's request schema sets no
#: length on ``input`` (the real API would answer 400 for the context window,
#: which the mock does not model), and 7 MB is under the 8 MiB body cap.
#: Hostile-looking bodies that are valid requests: the gateway ignores unknown parameters, whatever their name
#: (the upstream documents it; the mock logs the name with control characters shown as "?").
ACCEPTED = {("openai", "a 7 MB string"), ("gateway", "NUL in a key")}


@pytest.mark.parametrize("name", list(BODIES))
def test_hostile_body_gets_a_4xx_envelope(server, name):
    reply = exchange(server, post("/v1/responses", BODIES[name]))
    if (server.profile, name) in ACCEPTED:
        assert reply.status == 200
    else:
        assert_enveloped_4xx(reply, server.profile)
    assert_healthy(server)


def test_lone_surrogate_never_reaches_a_500(server):
    """Not strictly invalid JSON; whatever the answer, it is no 5xx and the reply encodes."""
    body = b'{"model": "qwen3.6-plus", "input": "\\udc00 hello"}'
    reply = exchange(server, post("/v1/responses", body))
    assert reply.status < 500
    assert_healthy(server)


def test_a_50_mb_body(gateway_server):
    body = b'{"model": "qwen3.6-plus", "input": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    reply = exchange(gateway_server, post("/v1/responses", body), timeout=60)
    assert reply.status == 413
    assert_enveloped_4xx(reply, gateway_server.profile)
    assert_healthy(gateway_server)


def chunked_post(chunk: bytes, count: int) -> list[bytes]:
    """A chunked ``POST /v1/responses`` of ``count`` copies of ``chunk``, as raw parts to send."""
    head = (
        b"POST /v1/responses HTTP/1.1\r\nHost: mock\r\nAuthorization: "
        + KEY.encode()
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    return [head] + [b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(count)] + [b"0\r\n\r\n"]


def test_a_chunked_body_past_the_server_limit_gets_the_envelope(server):
    """Past waitress's own limit (64 MiB here) waitress answers itself: in the envelope too."""
    reply = exchange(server, chunked_post(b"x" * (1024 * 1024), 70), timeout=60)
    assert reply.status == 413
    assert_enveloped_4xx(reply, server.profile)
    assert_healthy(server)


def test_a_chunked_body_past_the_app_limit(server):
    reply = exchange(server, chunked_post(b" " * (1024 * 1024), 10), timeout=60)
    assert reply.status == 413
    assert_enveloped_4xx(reply, server.profile)


def test_bad_chunked_encoding(server):
    data = (
        b"POST /v1/responses HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    )
    assert_enveloped_4xx(exchange(server, data), server.profile)
    assert_healthy(server)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/json-seq",
        "application/jsonx",
    ],
)
def test_wrong_content_type(server, content_type):
    reply = exchange(server, post("/v1/responses", json.dumps(REQUEST).encode(), content_type=content_type))
    assert reply.status == 415
    assert_enveloped_4xx(reply, server.profile)
    assert_healthy(server)


INJECTIONS = [
    "/v1/responses/resp_1%0d%0aSet-Cookie:%20owned=1",
    "/v1/responses/resp_1%0aX-Injected:%20yes",
    "/v1/responses/resp_1%0d%0a%0d%0a<html>owned</html>",
    "/v1/responses/%E5%98%8A%E5%98%8DX-Injected:%20yes",  # U+560A U+560D: CR/LF in the low bytes
    "/v1/responses/resp_1%0d%0aSet-Cookie:%20owned=1/input_items",
]


@pytest.mark.parametrize("path", INJECTIONS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_header_injection_in_ids(server, path, method):
    reply = exchange(server, get(path, method))
    body = assert_enveloped_4xx(reply, server.profile)
    assert reply.status == (405 if method == "DELETE" and path.endswith("/input_items") else 404)
    assert "set-cookie" not in reply.headers and "x-injected" not in reply.headers
    assert b"owned" not in reply.raw_headers
    message = body["error"]["message"]
    assert "\r" not in message and "\n" not in message
    assert_healthy(server)


def test_raw_crlf_in_the_request_line(server):
    data = b"GET /v1/responses/resp_1\r\nSet-Cookie: owned=1 HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n"
    reply = exchange(server, data)
    assert reply.status == 0 or 400 <= reply.status < 500
    assert "set-cookie" not in reply.headers
    assert_healthy(server)


TRAVERSALS = [
    "/v1/responses/..%2f..%2fetc%2fpasswd",
    "/v1/responses/..%2F..%2F..%2Fetc%2Fpasswd/input_items",
    "/v1/responses/../../etc/passwd",
    "/v1/responses/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/v1/responses/..%5c..%5cwindows%5cwin.ini",
    "/v1/responses/%00",
    "/v1/responses/" + "a" * 8000,
]


@pytest.mark.parametrize("path", TRAVERSALS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_path_traversal_in_ids(server, path, method):
    reply = exchange(server, get(path, method))
    assert reply.status in ((404, 405) if method == "DELETE" and path.endswith("/input_items") else (404,)), (
        reply.status,
        reply.body[:200],
    )
    assert_enveloped_4xx(reply, server.profile)
    assert b"root:" not in reply.body and b"[fonts]" not in reply.body
    assert_healthy(server)


def test_request_headers_past_the_server_limit(server):
    data = b"GET /v1/models HTTP/1.1\r\nHost: mock\r\nX-Big: " + b"a" * (300 * 1024) + b"\r\nConnection: close\r\n\r\n"
    reply = exchange(server, data)
    assert_enveloped_4xx(reply, server.profile)
    assert_healthy(server)


@pytest.mark.timeout(30)
def test_a_chunked_body_that_never_ends(gateway_server):
    """The body stalls after one chunk: the server closes it after its channel timeout, serving others meanwhile."""
    conn = socket.create_connection((gateway_server.host, gateway_server.port), timeout=15)
    try:
        conn.sendall(
            b"POST /v1/responses HTTP/1.1\r\nHost: mock\r\nAuthorization: "
            + KEY.encode()
            + b'\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mod\r\n'
        )
        for _ in range(5):
            assert_healthy(gateway_server)
        answer = b""
        while True:  # the server must end it: a 4xx or a closed connection (a server that never does: recv times out)
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        if answer:
            assert_enveloped_4xx(parse(answer), gateway_server.profile)
    finally:
        conn.close()
    assert_healthy(gateway_server)


@pytest.mark.timeout(30)
def test_slow_loris_clients_do_not_block_others(gateway_server):
    """Ten sockets trickle their headers a byte at a time; normal requests are served meanwhile.

    Each slow client needs a minute to finish its headers; every normal
    request must be answered while all ten are still in the middle of theirs
    (a server that gave each a thread of its 4 would time the requests out).
    """
    stop = threading.Event()
    line = b"POST /v1/responses HTTP/1.1\r\nHost: mock\r\nAuthorization: " + KEY.encode() + b"\r\nX-Slow: " + b"a" * 500
    trickling: list[int] = []  # slow clients that have begun
    ended: list[int] = []  # slow clients that stopped before the test told them to (cut, or out of bytes)

    def trickle(number: int) -> None:
        with socket.create_connection((gateway_server.host, gateway_server.port), timeout=10) as conn:
            for sent, byte in enumerate(line):
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    break
                if not sent:
                    trickling.append(number)
                stop.wait(0.1)  # the trickle's pace
            ended.append(number)

    slow = [threading.Thread(target=trickle, args=(n,), daemon=True) for n in range(10)]
    for t in slow:
        t.start()
    try:
        assert wait_until(lambda: len(trickling) == len(slow), 10), trickling
        for _ in range(20):
            assert_healthy(gateway_server)
        assert not ended, f"slow clients {ended} ended before the normal requests were all served"
    finally:
        stop.set()
        for t in slow:
            t.join(5)
    assert_healthy(gateway_server)


@pytest.mark.timeout(30)
def test_idle_connections_are_closed(gateway_server):
    """A client that connects and says nothing is cut after the channel timeout (one that is not: recv times out)."""
    with socket.create_connection((gateway_server.host, gateway_server.port), timeout=15) as conn:
        assert conn.recv(1) == b""
    assert_healthy(gateway_server)


# --- in-process, both profiles: the app alone -----------------------------------


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@pytest.mark.parametrize("name", [n for n in BODIES if len(BODIES[n]) < 1_000_000])
def test_hostile_body_in_process(profile, name):
    client = create_app(profile=profile, log_requests=False).test_client()
    reply = client.post(
        "/v1/responses", data=BODIES[name], headers={"Authorization": KEY, "Content-Type": "application/json"}
    )
    if (profile, name) in ACCEPTED:
        assert reply.status_code == 200
    else:
        assert 400 <= reply.status_code < 500, reply.data[:300]
        assert schemas.validate(reply.get_json(), "error", profile) == []
    assert client.post("/v1/responses", json=REQUEST, headers={"Authorization": KEY}).status_code == 200


# --- bodies that are valid JSON but ask for the impossible: a 400 naming why, never a 500 -----------


def _impossible_bodies(profile: str) -> dict[str, dict]:
    import base64

    strict = profile == "openai"
    empty_enum = {"type": "object", "properties": {"a": {"enum": []}}, "required": ["a"]}
    itself = {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}
    if strict:
        empty_enum, itself = ({**s, "additionalProperties": False} for s in (empty_enum, itself))
    tool = {"type": "function", "name": "f", "parameters": empty_enum, **({"strict": True} if strict else {})}
    text_format = {"type": "json_schema", "name": "x", "schema": itself, **({"strict": True} if strict else {})}
    deep = "mock-compaction." + base64.urlsafe_b64encode(b"[" * 200_000).decode()
    return {
        "a tool whose parameters need a value of an empty enum": {"tools": [tool], "tool_choice": "required"},
        "a json_schema that requires itself": {"text": {"format": text_format}},
        "a compaction item nested past the parser": {
            "input": [{"type": "compaction", "encrypted_content": deep}, {"role": "user", "content": "hi"}]
        },
    }


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_impossible_requests_are_a_4xx_or_answered_never_a_500(profile):
    client = create_app(profile=profile, log_requests=False).test_client()
    for name, extra in _impossible_bodies(profile).items():
        body = {"model": "qwen3.6-plus", "input": "call f and answer in JSON", **extra}
        reply = client.post("/v1/responses", json=body, headers={"Authorization": f"Bearer {KEY}"})
        assert reply.status_code in (200, 400), (name, reply.get_data(as_text=True)[:300])
        if reply.status_code == 400:
            assert schemas.validate(reply.get_json(), "error", profile) == [], name
