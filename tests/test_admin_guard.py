"""The admin endpoints' guard: the admin key when one is set, else open on loopback and off on any other bind.

Every route of the admin blueprint is found from the app's URL map, so a
page added later is checked here without a line of its own. Admin answers
and log lines never show an API key or the admin key.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest

from mockserver import MockConfig, create_app
from mockserver.config import ConfigError, is_loopback
from mockserver.http.admin import PREFIX
from mockserver.serve.cli import ADMIN_KEY_VARIABLE, config_from_args, parser

from .servers import mock_process

ADMIN_KEY = "adm-7c2e9f4a1b8d3e6f0a5c2b9e7d4f1a8c5e2b"
API_KEY = "sk-api-4b1e8d5a2f9c6e3b0d7a4f1c8e5b2d9a6f3c0e7b"
PROJECT_KEY = "sk-api-9e6b3f0c7d4a1e8b5f2c9d6a3e0b7f4c1d8a5e2b"
REQUEST = {"model": "qwen3.6-plus", "input": "hello"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def admin_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the admin blueprint serves, from the URL map (a page added later is in it)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule == PREFIX or rule.rule.startswith(PREFIX + "/"):
            routes += [(method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(routes) >= 7, routes
    return routes


def call(client: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    """One admin call; a route about one stored response is called for a response created just before."""
    if "<response_id>" in path:
        created = client.post("/v1/responses", json=REQUEST, headers=bearer(API_KEY)).get_json()
        path = path.replace("<response_id>", created["id"])
    body = {"seed": 3} if path.endswith("/seed") and method == "POST" else None
    return client.open(path, method=method, headers=headers or {}, json=body)


@pytest.fixture
def guarded() -> Any:
    return create_app(profile="openai", admin_key=ADMIN_KEY, api_keys=[API_KEY], log_requests=False)


# --- with an admin key --------------------------------------------------------------------------

WRONG = [
    {},
    bearer(API_KEY),  # an API key is not the admin key
    bearer(ADMIN_KEY + "x"),
    bearer(ADMIN_KEY[:-1]),
    bearer(ADMIN_KEY.upper()),
    {"Authorization": ADMIN_KEY},  # no scheme: not accepted for the admin
    {"Authorization": "Bearer"},
    basic("admin", "wrong"),
    basic(ADMIN_KEY, ""),  # the key as user name, not as password
    {"Authorization": "Basic " + base64.b64encode(ADMIN_KEY.encode()).decode()},  # no colon
    {"Authorization": "Basic !!!not-base64!!!"},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:" + ADMIN_KEY.encode()[:-1]).decode()},
    {"Authorization": "Digest username=admin"},
]


@pytest.mark.parametrize("headers", WRONG, ids=range(len(WRONG)))
def test_without_the_admin_key_every_admin_route_answers_401(guarded: Any, headers: dict[str, str]) -> None:
    client = guarded.test_client()
    for method, path in [*admin_routes(guarded), ("GET", PREFIX + "/no-such-page"), ("PUT", PREFIX + "/reset")]:
        reply = call(client, method, path, headers)
        assert reply.status_code == 401, (method, path, reply.status_code)
        assert reply.headers["WWW-Authenticate"] == 'Basic realm="mockserver admin", charset="UTF-8"'
        error = reply.get_json()["error"]
        assert error["type"] == "mock_error" and error["code"] == "admin_key_required"
        assert ADMIN_KEY not in reply.get_data(as_text=True) and API_KEY not in reply.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers",
    [bearer(ADMIN_KEY), {"Authorization": f"bearer   {ADMIN_KEY} "}, basic("admin", ADMIN_KEY), basic("", ADMIN_KEY)],
    ids=["bearer", "bearer-spaced", "basic", "basic-no-user"],
)
def test_the_admin_key_opens_every_admin_route(guarded: Any, headers: dict[str, str]) -> None:
    client = guarded.test_client()
    for method, path in admin_routes(guarded):
        reply = call(client, method, path, headers)
        assert reply.status_code == 200, (method, path, reply.get_data(as_text=True))
    assert call(client, "GET", PREFIX + "/no-such-page", headers).status_code == 404


def test_reset_without_the_admin_key_forgets_nothing(guarded: Any) -> None:
    client = guarded.test_client()
    created = client.post("/v1/responses", json=REQUEST, headers=bearer(API_KEY)).get_json()
    assert client.post(PREFIX + "/seed", json={"seed": 99}).status_code == 401
    assert client.post(PREFIX + "/reset", headers=bearer(API_KEY)).status_code == 401
    assert client.get(f"/v1/responses/{created['id']}", headers=bearer(API_KEY)).status_code == 200
    assert client.get(PREFIX + "/seed", headers=bearer(ADMIN_KEY)).get_json() == {"seed": 0}
    assert client.post(PREFIX + "/reset", headers=bearer(ADMIN_KEY)).status_code == 200
    assert client.get(f"/v1/responses/{created['id']}", headers=bearer(API_KEY)).status_code == 404


def test_the_api_is_not_behind_the_admin_key(guarded: Any) -> None:
    client = guarded.test_client()
    assert client.post("/v1/responses", json=REQUEST, headers=bearer(API_KEY)).status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.post("/v1/responses", json=REQUEST, headers=bearer(ADMIN_KEY)).status_code == 401


# --- without an admin key: open on loopback, off elsewhere --------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "LOCALHOST."])
def test_on_a_loopback_bind_the_admin_is_open_without_a_key(host: str) -> None:
    app = create_app(host=host, log_requests=False)
    assert is_loopback(host) and app.config["MOCK"].admin_access == "open"
    client = app.test_client()
    for method, path in admin_routes(app):
        assert call(client, method, path).status_code == 200, (method, path)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.20", "10.0.0.1", "mock.internal", "127.0.0.1.nip.io"])
def test_on_any_other_bind_the_admin_is_off_without_a_key(host: str) -> None:
    app = create_app(profile="openai", host=host, log_requests=False)
    assert not is_loopback(host) and app.config["MOCK"].admin_access == "off"
    client = app.test_client()
    created = client.post("/v1/responses", json=REQUEST, headers=bearer(API_KEY)).get_json()
    nothing_here = client.get("/no-such-page")
    for method, path in [*admin_routes(app), ("GET", PREFIX + "/no-such-page")]:
        for headers in ({}, bearer(ADMIN_KEY), basic("admin", ADMIN_KEY)):
            reply = call(client, method, path, headers)
            assert reply.status_code == 404, (method, path)
            assert reply.get_json()["error"]["code"] == nothing_here.get_json()["error"]["code"]
            assert reply.get_json()["error"]["type"] == nothing_here.get_json()["error"]["type"]
    assert client.get(f"/v1/responses/{created['id']}", headers=bearer(API_KEY)).status_code == 200  # not reset
    assert app.extensions["mock"].seed == 0  # the POST /seed above changed nothing


def test_an_admin_key_opens_the_admin_on_any_bind() -> None:
    app = create_app(host="0.0.0.0", admin_key=ADMIN_KEY, log_requests=False)
    client = app.test_client()
    assert client.get(PREFIX + "/health").status_code == 401
    assert client.get(PREFIX + "/health", headers=bearer(ADMIN_KEY)).status_code == 200


# --- the command line and the start-up line -----------------------------------------------------


def health(base: str, headers: dict[str, str] | None = None) -> int:
    return httpx.get(f"{base}/__mock__/health", headers=headers, timeout=20).status_code


def test_the_start_up_line_says_the_admin_is_open_on_loopback() -> None:
    with mock_process("--quiet") as server:
        assert health(server.base) == 200
    assert any("admin /__mock__/: open (loopback bind, no admin key)" in line for line in server.output)


def test_bound_to_every_address_without_an_admin_key_reset_resets_nothing() -> None:
    with mock_process("--host", "0.0.0.0", "--quiet", "--profile", "openai") as server:
        created = httpx.post(f"{server.base}/v1/responses", json=REQUEST, headers=bearer(API_KEY), timeout=20).json()
        assert httpx.post(f"{server.base}/__mock__/reset", timeout=20).status_code == 404
        assert health(server.base) == 404
        stored = httpx.get(f"{server.base}/v1/responses/{created['id']}", headers=bearer(API_KEY), timeout=20)
        assert stored.status_code == 200
    line = next(line for line in server.output if "Serving on" in line)
    assert "admin /__mock__/: off (bound to 0.0.0.0 without an admin key: set MOCK_ADMIN_KEY)" in line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_admin_key_from_the_environment_stays_out_of_ps_and_the_log(
    monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv(ADMIN_KEY_VARIABLE, ADMIN_KEY)
    with mock_process("--host", "0.0.0.0", "--workers", workers, "--api-key", API_KEY) as server:
        assert health(server.base) == 401
        assert health(server.base, bearer(ADMIN_KEY)) == 200
        assert health(server.base, basic("me", ADMIN_KEY)) == 200
        config = httpx.get(f"{server.base}/__mock__/config", headers=bearer(ADMIN_KEY), timeout=20)
        assert config.json()["admin_key"] == "***" and config.json()["admin_access"] == "key"
        assert ADMIN_KEY not in config.text and API_KEY not in config.text
        with open(f"/proc/{server.pid}/cmdline", "rb") as cmdline:
            assert ADMIN_KEY.encode() not in cmdline.read()
    output = "\n".join(server.output)
    assert "admin /__mock__/: admin key required" in output
    assert ADMIN_KEY not in output and API_KEY not in output


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADMIN_KEY_VARIABLE, ADMIN_KEY)
    assert config_from_args(parser().parse_args([])).admin_key == ADMIN_KEY
    assert config_from_args(parser().parse_args(["--admin-key", "adm-other-123"])).admin_key == "adm-other-123"
    monkeypatch.setenv(ADMIN_KEY_VARIABLE, "")
    assert config_from_args(parser().parse_args([])).admin_key is None


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("short", "at least 8 characters"),
        ("adm key with spaces", "printable ASCII without spaces"),
        ("adm-ключ-12345", "printable ASCII without spaces"),
        ("adm-tab\t12345", "printable ASCII without spaces"),
        (API_KEY, "must differ from every API key"),
    ],
)
def test_an_admin_key_that_cannot_work_is_refused_without_echoing_it(key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        MockConfig(admin_key=key, api_keys=MockConfig.build(api_keys=[API_KEY]).api_keys)
    assert key not in str(refused.value)


def test_the_admin_key_is_in_no_repr() -> None:
    config = MockConfig(admin_key=ADMIN_KEY)
    assert ADMIN_KEY not in repr(config) and ADMIN_KEY not in repr(create_app(config).extensions["mock"])


# --- admin answers never show a key -------------------------------------------------------------


def test_no_admin_answer_and_no_log_line_shows_a_key(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(profile="openai", admin_key=ADMIN_KEY, api_keys=[API_KEY, {"key": PROJECT_KEY, "project": "team"}])
    client = app.test_client()
    escaped = json.dumps({"model": "qwen3.6-plus", "input": f"my key: {PROJECT_KEY}"}, ensure_ascii=True)
    escaped = escaped.replace("sk-", "\\u0073k-")
    with caplog.at_level(logging.INFO, logger="mockserver"):
        for key in (API_KEY, PROJECT_KEY):
            client.post("/v1/responses", json={**REQUEST, "input": f"remember {key} please"}, headers=bearer(key))
            client.post("/v1/responses", json={**REQUEST, "model": key}, headers=bearer(key))  # echoed by the error
            client.post("/v1/responses", json={**REQUEST, "api_key": key.removeprefix("sk-")}, headers=bearer(key))
            client.get(f"/v1/responses/{key}", headers=bearer(key))
            client.post("/v1/responses", json={**REQUEST, "input": ADMIN_KEY}, headers=bearer(key))
        client.post("/v1/responses", data=escaped, content_type="application/json", headers=bearer(PROJECT_KEY))
        shown = [
            call(client, method, path, bearer(ADMIN_KEY)).get_data(as_text=True)
            for method, path in admin_routes(app)
            if method == "GET"
        ]
    requests = client.get(PREFIX + "/requests", headers=bearer(ADMIN_KEY)).get_json()["data"]
    # 11 API calls above, and the one `call` makes to have a stored response to show
    assert len(requests) == 12 and "sk-***" in json.dumps(requests)
    everything = "\n".join(shown) + json.dumps(requests) + caplog.text
    for secret in (ADMIN_KEY, API_KEY, PROJECT_KEY):
        assert secret not in everything and secret.removeprefix("sk-") not in everything
    config = client.get(PREFIX + "/config", headers=bearer(ADMIN_KEY)).get_json()
    assert config["admin_key"] == "***" and {spec["key"] for spec in config["api_keys"]} == {"sk-***"}
    assert [spec["project"] for spec in config["api_keys"]] == [None, "team"]


def test_a_key_as_an_ignored_parameter_name_is_masked_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """The gateway logs the names of the parameters it ignores: a key pasted as one is never written."""
    client = create_app(profile="gateway", admin_key=ADMIN_KEY, api_keys=[API_KEY, PROJECT_KEY]).test_client()
    with caplog.at_level(logging.INFO, logger="mockserver"):
        for name in (API_KEY, PROJECT_KEY, ADMIN_KEY):
            reply = client.post("/v1/responses", json={**REQUEST, name: 1}, headers=bearer(API_KEY))
            assert reply.status_code == 200, reply.get_data(as_text=True)
    assert "parameters ignored" in caplog.text and "sk-***" in caplog.text
    for secret in (ADMIN_KEY, API_KEY, PROJECT_KEY):
        assert secret not in caplog.text and secret.removeprefix("sk-") not in caplog.text


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_masking_a_request_never_breaks_its_reply(profile: str) -> None:
    """A run of the key inside an unquoted token (a number) is masked without turning a 200 into a 500."""
    key = "sk-proj1234567890abcdefXYZ"
    client = create_app(profile=profile, api_keys=[key], admin_key=ADMIN_KEY, log_requests=False).test_client()
    raw = '{"model":"qwen3.6-plus","input":"caf\\u00e9","max_output_tokens":1234567890}'
    reply = client.post("/v1/responses", data=raw, content_type="application/json", headers=bearer(key))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    entry = client.get(PREFIX + "/requests", headers=bearer(ADMIN_KEY)).get_json()["data"][0]
    assert entry["status"] == 200 and entry["body"]["max_output_tokens"] == 1234567890  # a number is no key


def test_a_request_without_secrets_is_kept_as_it_came() -> None:
    client = create_app(admin_key=ADMIN_KEY, log_requests=False).test_client()
    body = {**REQUEST, "input": "sk-*** is not a key; neither is adm-"}
    client.post("/v1/responses", json=body, headers={"Authorization": "sk-any-key-at-all-1234"})
    entry = client.get(PREFIX + "/requests", headers=bearer(ADMIN_KEY)).get_json()["data"][0]
    assert entry["body"] == body and entry["status"] == 200


def test_only_what_the_masker_replaces_makes_a_masker() -> None:
    """A short key is masked only as a whole value, so its tail in a body (``bench`` of ``sk-bench``) makes none;
    a run of ten characters of a long key does (the masker replaces such runs)."""
    from flask import request

    from mockserver.http.app import secrets_masker

    with create_app(admin_key=ADMIN_KEY).test_request_context("/v1/responses", method="POST"):
        request.received = json.dumps({"metadata": {"bench": "1"}, "input": "a bench"}).encode()
        assert secrets_masker(request, ("sk-bench", None)) is None
        request.received = json.dumps({"input": "sk-bench"}).encode()
        assert secrets_masker(request, ("sk-bench", None)) is not None
        request.received = json.dumps({"input": f"part {API_KEY[10:20]} of it"}).encode()
        masker = secrets_masker(request, (API_KEY, None))
        assert masker is not None and API_KEY[10:20] not in masker.text(request.received.decode())


def test_a_body_without_a_key_is_not_rewritten() -> None:
    """Only a body or path that holds a key (or an escaped ASCII character that could spell one) is masked."""
    from flask import request

    from mockserver.http.app import secrets_masker

    with create_app(admin_key=ADMIN_KEY).test_request_context("/v1/responses", method="POST"):
        request.received = json.dumps({"input": "你好, 世界"}).encode()  # escaped as \u4f60...: no key can hide there
        assert secrets_masker(request, (API_KEY, ADMIN_KEY)) is None
        for held in (API_KEY, API_KEY.removeprefix("sk-"), ADMIN_KEY, "\\u0073k-"):
            request.received = json.dumps({"input": "x"}).replace("x", held).encode()
            assert secrets_masker(request, (API_KEY, ADMIN_KEY)) is not None, held
