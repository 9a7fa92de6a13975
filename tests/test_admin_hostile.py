"""Fuzz and hostile input against the admin endpoints, with and without an admin key.

Whatever arrives under ``/__mock__/`` (any method, path, query, body,
``Authorization`` header), the mock never answers 5xx, never shows the admin
key, and only the exact admin key gets past the guard; with no key on a
loopback bind nothing crashes either, and on any other bind everything is a
404. Over a real socket: headers and paths a client library would not send,
after which nothing was reset.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from mockserver import create_app
from mockserver.http.admin import PREFIX

from .servers import LiveServer

ADMIN_KEY = "adm-0f3e6d9c2b5a8f1e4d7c0b3a6f9e2d5c8b1a"
API_KEY = "sk-api-hostile-5d8a1f4c7e0b3d6a9f2c5e8b1d4a7f0c3e6b"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
ROUTES = ["", "/", "/health", "/responses", "/reset", "/seed", "/requests", "/config", "/nothing"]

FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

APPS = {
    "key": create_app(profile="openai", admin_key=ADMIN_KEY, api_keys=[API_KEY], log_requests=False),
    "open": create_app(profile="gateway", log_requests=False),
    "off": create_app(profile="gateway", host="0.0.0.0", log_requests=False),
}

#: Header text a client could send (latin-1, no line breaks: werkzeug refuses to send anything else).
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@st.composite
def authorizations(draw: st.DrawFn) -> str | None:
    """Absent, junk, near misses of the key, and now and then the key itself in either form."""
    near = st.sampled_from([ADMIN_KEY[:-1], ADMIN_KEY + "\x00", ADMIN_KEY.upper(), " " + API_KEY, ADMIN_KEY[::-1]])
    secret = draw(header_text | near | st.just(ADMIN_KEY))
    form = draw(st.sampled_from(["none", "bearer", "basic", "basic-raw", "bare", "text"]))
    if form == "none":
        return None
    if form == "bearer":
        return f"Bearer {secret}"
    if form == "basic":
        user = draw(header_text.filter(lambda u: ":" not in u))
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode("utf-8", "surrogatepass")).decode()
    if form == "basic-raw":
        return "Basic " + draw(header_text)
    return secret if form == "bare" else draw(header_text)


@st.composite
def admin_requests(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(ROUTES) | st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/%.~")))
    query = draw(st.sampled_from(["", "?limit=1", "?limit=0", "?limit=-1", "?limit=9" * 30, "?limit=x&limit=2"]))
    return {
        "method": draw(st.sampled_from(METHODS)),
        "path": PREFIX + route + query,
        "authorization": draw(authorizations()),
        "body": draw(st.none() | st.binary(max_size=200) | st.just(b'{"seed": 5}')),
        "content_type": draw(st.sampled_from(["application/json", "text/plain", ""])),
    }


def send(app: Any, sent: dict[str, Any]) -> Any:
    headers = {"Content-Type": sent["content_type"]} if sent["content_type"] else {}
    if sent["authorization"] is not None:
        headers["Authorization"] = sent["authorization"]
    return app.test_client().open(sent["path"], method=sent["method"], headers=headers, data=sent["body"])


def holds_the_key(authorization: str | None) -> bool:
    if authorization is None:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() == ADMIN_KEY
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2] == ADMIN_KEY
        except ValueError:
            return False
    return False


def assert_no_5xx_and_an_envelope(reply: Any, profile: str) -> None:
    assert reply.status_code < 500, reply.get_data(as_text=True)[:300]
    if reply.status_code >= 400 and reply.data:
        assert schemas.validate(reply.get_json(), "error", profile) == [], reply.data[:300]
    assert ADMIN_KEY not in reply.get_data(as_text=True)
    assert all(ADMIN_KEY not in value for value in reply.headers.values())


@FUZZ
@given(sent=admin_requests())
def test_with_an_admin_key_only_the_key_gets_past_the_guard(sent: dict[str, Any]) -> None:
    reply = send(APPS["key"], sent)
    assert_no_5xx_and_an_envelope(reply, "openai")
    if not holds_the_key(sent["authorization"]):
        assert reply.status_code == 401, (sent, reply.status_code)
        assert reply.headers["WWW-Authenticate"].startswith('Basic realm="mockserver admin"')


@FUZZ
@given(sent=admin_requests())
def test_an_open_admin_on_loopback_never_fails(sent: dict[str, Any]) -> None:
    assert_no_5xx_and_an_envelope(send(APPS["open"], sent), "gateway")


@FUZZ
@given(sent=admin_requests())
def test_an_admin_switched_off_answers_404_to_anything(sent: dict[str, Any]) -> None:
    reply = send(APPS["off"], sent)
    assert reply.status_code == 404, (sent, reply.status_code)
    assert_no_5xx_and_an_envelope(reply, "gateway")


@FUZZ
@given(authorization=authorizations())
def test_api_routes_never_fail_on_an_admin_style_header(authorization: str | None) -> None:
    """The API's own 401 is untouched by the admin guard: any header, no 5xx, the admin key not an API key."""
    headers = {} if authorization is None else {"Authorization": authorization}
    client = APPS["key"].test_client()
    reply = client.post("/v1/responses", json={"model": "qwen3.6-plus", "input": "hi"}, headers=headers)
    assert reply.status_code in (200, 401), reply.data[:300]
    assert_no_5xx_and_an_envelope(reply, "openai")


# --- over a real socket -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_server() -> Iterator[LiveServer]:
    app = create_app(profile="openai", admin_key=ADMIN_KEY, api_keys=[API_KEY], log_requests=False, seed=4)
    with LiveServer(app, threads=4) as server:
        yield server


def raw_exchange(server: LiveServer, head: bytes) -> tuple[int, bytes]:
    """Send one raw request (``Connection: close``); the status and everything that came back."""
    with socket.create_connection((server.host, server.port), timeout=20) as conn:
        conn.sendall(head)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    return int(raw.split(b" ", 2)[1]), raw


HOSTILE = {
    "utf-8 bytes in the header": b"Authorization: Bearer \xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\r\n",
    "latin-1 bytes in the header": b"Authorization: Basic \xff\xfe\xfd\r\n",
    "the key with a trailing NUL": b"Authorization: Bearer " + ADMIN_KEY.encode() + b"\x00\r\n",
    "the key and more": b"Authorization: Bearer " + ADMIN_KEY.encode() + b" " + ADMIN_KEY.encode() + b"\r\n",
    "two headers, one right": b"Authorization: Bearer wrong\r\nAuthorization: Bearer " + ADMIN_KEY.encode() + b"\r\n",
    "a huge header": b"Authorization: Bearer " + b"A" * 60_000 + b"\r\n",
    "a huge Basic payload": b"Authorization: Basic " + base64.b64encode(b"u:" + b"p" * 40_000) + b"\r\n",
    "the API key": b"Authorization: Bearer " + API_KEY.encode() + b"\r\n",
    "the key in a cookie": b"Cookie: admin=" + ADMIN_KEY.encode() + b"\r\n",
    "the key in a proxy header": b"Proxy-Authorization: Bearer " + ADMIN_KEY.encode() + b"\r\n",
    "no header": b"",
}

PATHS = [
    "/__mock__/reset",
    "/__mock__/reset/",
    "/__mock__//reset",
    "/__mock__/./reset",
    "/__mock__/x/../reset",
    "/__mock__%2freset",
    "/__mock__/%72eset",
    "/v1/../__mock__/reset",
    "//__mock__/reset",
    "/__MOCK__/reset",
    "/__mock__/reset?__mock__=1",
    "/__mock__/reset#x",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_no_hostile_reset_gets_through(guarded_server: LiveServer, name: str, path: str) -> None:
    base = guarded_server.url
    created = httpx.post(
        f"{base}/v1/responses", json={"model": "qwen3.6-plus", "input": "hi"}, headers={"Authorization": API_KEY}
    ).json()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n".encode()
        + HOSTILE[name]
        + b'Content-Length: 11\r\n\r\n{"seed": 9}'
    )
    status, raw = raw_exchange(guarded_server, head)
    assert status in (400, 401, 404, 405, 431), (status, raw[:300])
    assert ADMIN_KEY.encode() not in raw
    after = httpx.get(f"{base}/v1/responses/{created['id']}", headers={"Authorization": API_KEY})
    assert after.status_code == 200  # nothing was reset
    seed = httpx.get(f"{base}/__mock__/seed", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
    assert seed == {"seed": 4}


def test_the_guard_holds_after_a_storm_of_wrong_keys(guarded_server: LiveServer) -> None:
    """Many wrong keys change nothing: the right one still works, nothing is locked out or let in."""
    base = guarded_server.url
    with httpx.Client(base_url=base, timeout=20) as client:
        wrong = [client.get("/__mock__/config", headers={"Authorization": f"Bearer adm-{n:036d}"}) for n in range(200)]
        assert {reply.status_code for reply in wrong} == {401}
        config = client.get("/__mock__/config", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert config.status_code == 200 and json.loads(config.text)["admin_key"] == "***"
