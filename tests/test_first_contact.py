"""First contact: installing the kit breaks nobody's run, and a wrong target stops the suite once, clearly.

Each test runs pytest in a subprocess as a user would (pytester), against
servers on 127.0.0.1 that count every request reaching them: the mock
(waitress, in a thread), a broken mock, or Python's static file server.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contract_tests.options import IN_PROCESS_KEY
from contract_tests.preflight import EXIT_UNUSABLE
from contract_tests.reproduce import failure_report
from contract_tests.session import mock_command
from contract_tests.target import Target
from mockserver import create_app

from .conftest import ROOT
from .servers import LiveServer, mock_process
from .test_contract_suite import run_suite
from .test_preflight import static_file_server

pytest_plugins = ["pytester"]

KEY = "sk-firstcontact-4b8e1d7a0c3f6b9e2d5a8c1f4e7b0d3a6c9f2e5b8a1d"
#: At most this many lines for a run the preflight stops (the issue's limit).
MAX_LINES = 40


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorization: str | None
    body: bytes


class Recording:
    """A WSGI app wrapped so that every request reaching it is kept: method, path, Authorization, body."""

    def __init__(self, app: Any):
        self.app = app
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            self.seen.append(
                Seen(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_AUTHORIZATION"), body)
            )
        return self.app(environ, start_response)


@pytest.fixture
def counted_mock() -> Iterator[tuple[str, Recording]]:
    """The mock (one key, ``KEY``) over HTTP on a free port, every request kept; yields its root URL."""
    recording = Recording(create_app(api_keys=[KEY], log_requests=False))
    with LiveServer(recording) as server:
        yield server.url, recording


def run_live(pytester: pytest.Pytester, base_url: str, *args: str, key: str | None = KEY) -> pytest.RunResult:
    """The suite against ``base_url``, the key (if any) in ``CONTRACT_API_KEY``."""
    env = {"CONTRACT_API_KEY": key} if key else {}
    return run_suite(pytester, "--contract-base-url", base_url, *args, env=env)


def assert_stopped_once(result: pytest.RunResult, seen: list[Any], *, fix: str) -> str:
    """Exit 6, at most 40 lines, no traceback, at most 3 requests, the fix named, the key never shown."""
    text = result.stdout.str() + result.stderr.str()
    lines = result.outlines + result.errlines
    assert result.ret == EXIT_UNUSABLE, text
    assert len(lines) <= MAX_LINES, text
    assert "Traceback" not in text and "Error" not in text.replace("Error response", ""), text
    assert len(seen) <= 3, seen
    assert fix in text, text
    assert KEY not in text
    result.stdout.fnmatch_lines(["the target is not usable, so no contract test ran (exit 6):"])
    return text


# --- a plugin that is a good guest --------------------------------------------------------------


SCRATCH_CONFTEST = """
import pytest


def pytest_addoption(parser):
    parser.addoption("--api-key", default="none")
    parser.addoption("--base-url", default="http://localhost")
    parser.addoption("--profile", default="dev")


@pytest.fixture
def settings(pytestconfig):
    return {name: pytestconfig.getoption(name) for name in ("api_key", "base_url", "profile")}
"""


@pytest.mark.sdk
def test_a_project_defining_the_short_option_names_runs_green_with_the_kit(pytester: pytest.Pytester) -> None:
    """``--api-key``, ``--base-url`` and ``--profile`` in a project's conftest; ``mock_gateway`` still works."""
    pytester.makeconftest(SCRATCH_CONFTEST)
    pytester.makepyfile(
        test_own="""
        def test_own_options(settings):
            assert settings == {"api_key": "k", "base_url": "http://app.test", "profile": "staging"}
        """,
        test_app="""
        from openai import OpenAI

        def test_mock_gateway_answers_the_sdk(mock_gateway):
            reply = OpenAI().responses.create(model="qwen3.6-plus", input="你好")
            assert reply.output_text and reply.status == "completed"
        """,
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--api-key", "k", "--base-url", "http://app.test", "--profile", "staging"
    )
    result.assert_outcomes(passed=2)
    assert "responses contract" not in result.stdout.str()


def test_the_plugin_adds_only_namespaced_options(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig()
    group = next(g for g in config._parser._groups if g.name == "responses-contract")
    names = [name for option in group.options for name in option.names()]
    assert names and all(name.startswith("--contract-") for name in names), names


def test_importing_the_plugin_registers_nothing_and_imports_nothing_heavy() -> None:
    """No hypothesis profile, no hypothesis, no httpx at import: the plugin loads in every pytest run."""
    code = (
        "import sys, contract_tests.plugin\n"
        "heavy = sorted(m for m in ('hypothesis', 'httpx', 'flask', 'mockserver', 'schemas') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_an_openai_base_url_in_the_environment_changes_nobody_elses_run(
    pytester: pytest.Pytester, counted_mock: tuple[str, Recording]
) -> None:
    """A project's own tests with ``OPENAI_BASE_URL`` set: no preflight, no request, no run folder, exit 0."""
    url, recording = counted_mock
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    monkeypatch.setenv("TMPDIR", str(pytester.path))
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    finally:
        monkeypatch.undo()
    result.assert_outcomes(passed=1)
    assert recording.seen == [] and "responses contract" not in result.stdout.str()
    assert not list(pytester.path.glob("responses-contract-*"))


# --- the four mistakes: one message, exit 6, at most 3 requests ---------------------------------


def test_a_base_url_without_v1_asks_did_you_mean(
    pytester: pytest.Pytester, counted_mock: tuple[str, Recording]
) -> None:
    url, recording = counted_mock
    result = run_live(pytester, url)
    assert_stopped_once(result, recording.seen, fix=f"did you mean {url}/v1? use --contract-base-url {url}/v1")
    assert [(s.method, s.path) for s in recording.seen] == [("GET", "/models"), ("GET", "/v1/models")]


def test_a_wrong_key_stops_every_worker_after_one_request(
    pytester: pytest.Pytester, counted_mock: tuple[str, Recording]
) -> None:
    """With ``-n 2`` the preflight still runs once: one request in all."""
    url, recording = counted_mock
    result = run_live(pytester, f"{url}/v1", "-n", "2", key="sk-wrong")
    assert_stopped_once(result, recording.seen, fix="set CONTRACT_API_KEY to a valid key for this gateway")
    result.stdout.fnmatch_lines(
        ["*refused the key from CONTRACT_API_KEY (HTTP 401: *", "requests: 1 of a budget of 40"]
    )
    assert len(recording.seen) == 1


def test_no_key_stops_the_run_without_a_request(pytester: pytest.Pytester, counted_mock: tuple[str, Recording]) -> None:
    url, recording = counted_mock
    result = run_live(pytester, f"{url}/v1", key=None)
    assert_stopped_once(
        result, recording.seen, fix="set CONTRACT_API_KEY (or OPENAI_API_KEY, or pass --contract-api-key)"
    )
    assert recording.seen == []


def test_a_static_file_server_is_not_this_api(pytester: pytest.Pytester, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><head><title>Team wiki</title></head><body>hello</body></html>")
    with static_file_server(tmp_path) as (where, seen):
        result = run_live(pytester, f"http://{where}")
    assert_stopped_once(result, seen, fix="not the JSON of an OpenAI-compatible API")
    result.stdout.fnmatch_lines(["*give --contract-base-url the base URL the gateway's clients use*"])


# --- one budget for all workers -----------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_share_one_budget(pytester: pytest.Pytester, counted_mock: tuple[str, Recording]) -> None:
    url, recording = counted_mock
    result = run_live(pytester, f"{url}/v1", "-n", "2", "--contract-budget", "20")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert len(recording.seen) == 20, [(s.method, s.path) for s in recording.seen]
    result.stdout.fnmatch_lines(
        [
            f"target: {url}/v1, gateway profile",
            "requests: 20 of a budget of 20: request budget of 20 reached, the remaining tests were skipped*",
        ]
    )


# --- reproductions that run as pasted -----------------------------------------------------------


@pytest.mark.slow
def test_the_printed_curl_reproduces_the_failing_request(pytester: pytest.Pytester) -> None:
    """A broken server over HTTP: the failure's curl, run by a shell with the key in the environment."""
    from .broken_servers import usage_does_not_add_up

    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to paste the reproduction into a shell")

    recording = Recording(usage_does_not_add_up(api_keys=[KEY]))
    with LiveServer(recording) as server:
        result = run_live(pytester, f"{server.url}/v1", "-k", "documented_request_succeeds")
        assert result.ret == 1, result.stdout.str()[-3000:]
        lines = result.outlines
        intro = next(i for i, line in enumerate(lines) if "to send it again, with CONTRACT_API_KEY set:" in line)
        curl = lines[intro + 1].strip()
        assert curl.startswith("curl ") and '-H "Authorization: $CONTRACT_API_KEY"' in curl  # the documented bare form
        failing, sent_by_the_suite = recording.seen[-1], len(recording.seen)
        done = subprocess.run(
            ["bash", "-c", curl],
            env={**os.environ, "CONTRACT_API_KEY": KEY},
            capture_output=True,
            check=True,
            timeout=60,
        )
    assert len(recording.seen) == sent_by_the_suite + 1
    again = recording.seen[-1]
    assert (again.method, again.path, again.authorization, again.body) == (
        failing.method,
        failing.path,
        failing.authorization,
        failing.body,
    )
    usage = json.loads(done.stdout)["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] + 1  # the same violation
    assert KEY not in result.stdout.str()


def test_an_in_process_failure_gives_json_and_the_mock_command_that_reproduces_it() -> None:
    """The report's mock command and curl, run by a shell (on a free port instead of 8080)."""
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash are needed to paste the reproduction into a shell")
    request = {"model": "qwen3.6-plus", "input": "it's 你好", "max_output_tokens": 16}
    command = 'python -m mockserver --profile openai --api-key "$CONTRACT_API_KEY"'
    target = Target(
        app=create_app(profile="openai", api_keys=[IN_PROCESS_KEY]), api_key=IN_PROCESS_KEY, server_command=command
    )
    reply = target.create(request)
    report = failure_report("example", "openai", [], reply, target.secrets).splitlines()
    start = report.index("request that broke it (answered HTTP 200 by the mock in-process):")
    assert report[start + 1 : start + 3] == [
        "  POST /v1/responses",
        "  headers: Authorization: Bearer $CONTRACT_API_KEY, Content-Type: application/json",
    ]
    assert json.loads(report[start + 3]) == request
    assert report[start + 4].startswith("to send it again, serve the same mock over HTTP")
    assert report[start + 5] == f"  {command}"
    curl = report[start + 6].strip()
    env = {**os.environ, "CONTRACT_API_KEY": "sk-any-key-of-mine"}
    words = shlex.split(command.replace("$CONTRACT_API_KEY", env["CONTRACT_API_KEY"]))  # as the shell expands it
    assert words[:3] == ["python", "-m", "mockserver"]
    with mock_process(*words[3:], "--quiet") as server:  # on a port it picks, not 8080
        done = subprocess.run(
            ["bash", "-c", curl.replace("http://127.0.0.1:8080", server.base)],
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )
    again = json.loads(done.stdout)
    # same request, same seed: the same reply but for ids and timestamps
    assert again["usage"] == reply.json["usage"]
    assert _without_ids(again["output"]) == _without_ids(reply.json["output"])


def _without_ids(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "id"} for item in items]


def test_the_suites_mock_command_carries_its_profile() -> None:
    from contract_tests.options import ContractOptions

    options = ContractOptions(None, IN_PROCESS_KEY, "openai", False, None, None, "mock", None, "OPENAI_API_KEY")
    assert mock_command(options) == 'python -m mockserver --profile openai --api-key "$OPENAI_API_KEY"'
