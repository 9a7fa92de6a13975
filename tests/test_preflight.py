"""Preflight: each way a live target can be unusable is named, with its fix, in at most three requests.

Most cases run against the mock in-process (httpx's WSGI transport) with a
request counter around it; the connection failures (nothing listening, TLS)
use real sockets on 127.0.0.1. ``check-target`` is the same diagnosis on the
command line, and the shared budget and verdict hold across processes
(end-to-end with pytest-xdist in ``tests/test_first_contact.py``).
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract_tests.__main__ import main
from contract_tests.budget import RequestBudget, read_state, spent_line
from contract_tests.preflight import EXIT_UNUSABLE, Names, Verdict, check_target, read_verdict, shared_verdict
from mockserver import create_app

KEY = "sk-preflight-1c9e4b7a2d5f8e0b3a6c9d2e5f8a1b4c7d0e3f6a9b2c"
BASE = "http://gateway.invalid/v1"


class Counter:
    """A WSGI app wrapped so that every request reaching it is counted (paths kept)."""

    def __init__(self, app: Any):
        self.app = app
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.paths.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return self.app(environ, start_response)


def diagnose(
    base: str = BASE, key: str | None = KEY, *, app: Any = None, names: Names | None = None, **kwargs: Any
) -> tuple[Verdict, Counter]:
    counter = Counter(app or create_app(api_keys=[KEY], log_requests=False))
    with httpx.Client(transport=httpx.WSGITransport(app=counter)) as client:
        verdict = check_target(base, key, names=names, client=client, **kwargs)
    assert verdict.requests == len(counter.paths) <= 3
    assert KEY not in verdict.message and KEY not in "".join(verdict.steps)
    return verdict, counter


def test_a_usable_target_passes_in_two_requests_and_lists_its_models() -> None:
    verdict, counter = diagnose()
    assert verdict.ok and verdict.problem == "ok"
    assert counter.paths == ["GET /v1/models", "POST /v1/responses"]
    assert verdict.models[0] == "qwen3.6-plus" and "qwen-turbo" in verdict.models
    assert verdict.steps[0] == f"GET {BASE}/models -> HTTP 200, a list of 5 models"


def test_a_missing_key_is_found_without_a_request() -> None:
    verdict, counter = diagnose(key=None)
    assert not verdict.ok and verdict.problem == "no_key" and counter.paths == []
    assert "set CONTRACT_API_KEY (or OPENAI_API_KEY, or pass --contract-api-key)" in verdict.message


def test_a_wrong_key_names_where_it_came_from() -> None:
    verdict, counter = diagnose(key="sk-wrong", names=Names(key_source="OPENAI_API_KEY"))
    assert verdict.problem == "key_refused" and counter.paths == ["GET /v1/models"]
    assert "refused the key from OPENAI_API_KEY (HTTP 401: 无效的令牌" in verdict.message
    assert verdict.message.endswith("set OPENAI_API_KEY to a valid key for this gateway")
    by_option = diagnose(key="sk-wrong", names=Names(key_source="--contract-api-key"))[0]
    assert by_option.message.endswith("pass a valid key for this gateway with --contract-api-key")


def test_a_base_url_without_v1_is_answered_with_did_you_mean() -> None:
    verdict, counter = diagnose("http://gateway.invalid")
    assert verdict.problem == "wrong_base_url"
    assert counter.paths == ["GET /models", "GET /v1/models"]
    assert "did you mean http://gateway.invalid/v1? use --contract-base-url http://gateway.invalid/v1" in (
        verdict.message
    )
    from_env = diagnose("http://gateway.invalid", names=Names(base_url_source="OPENAI_BASE_URL"))[0]
    assert from_env.message.endswith("set OPENAI_BASE_URL=http://gateway.invalid/v1")


def test_a_base_url_ending_in_the_endpoint_is_cut_back_to_the_api_root() -> None:
    verdict, _ = diagnose(f"{BASE}/responses")
    assert verdict.problem == "wrong_base_url" and f"did you mean {BASE}?" in verdict.message


@pytest.mark.parametrize(
    ("key_spec", "problem", "words"),
    [
        (
            {"key": KEY, "models": ["qwen-turbo"]},
            "key_forbidden",
            "may not use the model qwen3.6-plus (HTTP 403",
        ),
        ({"key": KEY, "account_exhausted": True}, "no_quota", "has no quota left (HTTP 403 insufficient_user_quota"),
    ],
)
def test_a_403_says_whether_the_model_or_the_quota_is_the_problem(
    key_spec: dict[str, Any], problem: str, words: str
) -> None:
    verdict, counter = diagnose(app=create_app(api_keys=[key_spec], log_requests=False))
    assert verdict.problem == problem and words in verdict.message
    assert counter.paths == ["GET /v1/models", "POST /v1/responses"]


def test_the_openai_profiles_quota_error_is_read_too() -> None:
    app = create_app(profile="openai", api_keys=[{"key": KEY, "account_exhausted": True}], log_requests=False)
    verdict, _ = diagnose(app=app)
    assert verdict.problem == "no_quota" and "HTTP 429 insufficient_quota" in verdict.message


def test_a_model_nobody_serves_lists_the_ones_served() -> None:
    verdict, _ = diagnose(models=["no-such-model"])
    assert verdict.problem == "unknown_model"
    assert (
        "serves no model 'no-such-model' (HTTP 503 model_not_found): choose one it serves with --contract-models"
        in (verdict.message)
    )
    assert "(it lists: qwen3.6-plus" in verdict.message


def _answering(status: int, body: str, content_type: str) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(f"{status} X", [("Content-Type", content_type)])
        return [body.encode()]

    return app


def test_a_json_answer_that_is_not_this_api_is_not_mistaken_for_it() -> None:
    verdict, counter = diagnose(app=_answering(200, '{"hello": "world"}', "application/json"))
    assert verdict.problem == "not_this_api" and len(counter.paths) == 2
    assert "answered 200 (JSON: " in verdict.message and "not the JSON of an OpenAI-compatible API" in verdict.message


def test_a_proxy_page_in_front_of_a_down_gateway_says_so() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head></html>"
    verdict, counter = diagnose(app=_answering(502, page, "text/html"))
    assert verdict.problem == "server_down" and counter.paths == ["GET /v1/models"]
    assert "answered 502 (text/html page '502 Bad Gateway')" in verdict.message


def test_a_url_that_is_not_http_is_refused_before_any_request() -> None:
    verdict, counter = diagnose("ftp://gateway.invalid/v1")
    assert verdict.problem == "bad_url" and counter.paths == []


def test_the_budget_is_spent_by_the_preflight(tmp_path: Path) -> None:
    budget = RequestBudget(tmp_path, 1)
    verdict, counter = diagnose(spend=budget.spend)
    assert verdict.ok and verdict.problem == "budget" and counter.paths == ["GET /v1/models"]
    assert read_state(tmp_path) == budget.state() and budget.state().spent == 1 and budget.state().refused == 1


# --- over real sockets: nothing listening, TLS, a static file server ----------------------------


@contextlib.contextmanager
def static_file_server(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """``python -m http.server`` in a thread, counting the requests it gets."""
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def parse_request(self) -> bool:
            ok = super().parse_request()
            if ok:  # a TLS hello is no request: it has no path, and its traceback filled the test output
                seen.append(f"{self.command} {self.path}")
            return ok

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_listening_is_named_with_the_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound and never listening: connections are refused, and the port stays ours
        port = sock.getsockname()[1]
        verdict = check_target(f"http://127.0.0.1:{port}/v1", KEY)
    assert verdict.problem == "unreachable" and verdict.requests == 1
    assert verdict.message == (
        f"nothing is listening at 127.0.0.1:{port} (connection refused): start the server, or fix the port"
    )


def test_tls_to_a_plain_http_server_says_use_http(tmp_path: Path) -> None:
    with static_file_server(tmp_path) as (where, _):
        verdict = check_target(f"https://{where}/v1", KEY)
    assert verdict.problem == "tls"
    assert verdict.message.startswith(f"TLS with {where} failed (")
    assert f"use http://{where}/v1" in verdict.message


def test_a_static_file_server_is_not_this_api(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><title>My site</title></html>")
    with static_file_server(tmp_path) as (where, seen):
        verdict = check_target(f"http://{where}", KEY)
    assert verdict.problem == "not_this_api" and seen == ["GET /models", "GET /v1/models"]
    assert "answered 404 (text/html page 'Error response'), not the JSON of an OpenAI-compatible API" in (
        verdict.message
    )
    assert "give --contract-base-url the base URL the gateway's clients use" in verdict.message


# --- once per run -------------------------------------------------------------------------------


def test_the_verdict_is_found_once_and_read_by_every_other_process(tmp_path: Path) -> None:
    calls: list[int] = []
    started = threading.Event()

    def slow_check() -> Verdict:
        calls.append(1)
        started.wait(5)  # the other callers queue on the lock meanwhile
        return Verdict(False, "key_refused", "refused")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(shared_verdict, tmp_path, slow_check) for _ in range(4)]
        started.set()
        verdicts = [f.result() for f in futures]
    assert len(calls) == 1 and {v.message for v in verdicts} == {"refused"}
    assert read_verdict(tmp_path) == verdicts[0]


def test_the_budget_holds_across_spenders(tmp_path: Path) -> None:
    budgets = [RequestBudget(tmp_path, 20) for _ in range(4)]  # one per "process": each its own lock handle
    with ThreadPoolExecutor(4) as pool:
        allowed = list(pool.map(lambda b: sum(b.spend() for _ in range(10)), budgets))
    assert sum(allowed) == 20
    state = read_state(tmp_path)
    assert state is not None and (state.spent, state.refused) == (20, 20)
    assert spent_line(state).startswith("requests: 20 of a budget of 20: request budget of 20 reached")


# --- python -m contract_tests check-target ------------------------------------------------------


def test_check_target_exits_0_or_6_with_the_same_diagnosis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CONTRACT_API_KEY", raising=False)
    assert main(["check-target", "http://127.0.0.1:9/v1"]) == EXIT_UNUSABLE
    assert "no API key for the live target" in capsys.readouterr().err
    (tmp_path / "index.html").write_text("hello")
    monkeypatch.setenv("CONTRACT_API_KEY", KEY)
    with static_file_server(tmp_path) as (where, seen):
        assert main(["check-target", f"http://{where}"]) == EXIT_UNUSABLE
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"GET http://{where}/models -> HTTP 404 (text/html page 'Error response')"
    assert err.startswith("contract_tests check-target: GET") and "give check-target the base URL" in err
    assert KEY not in out + err and len(seen) == 2
