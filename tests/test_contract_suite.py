"""The contract suite itself: it passes on the mock, and fails naming the rule on broken servers.

Most tests run the suite in a subprocess with pytester, the way CI runs it
(``pytest --pyargs contract_tests ...``), against the mock in-process, over
HTTP, or against a server from ``tests/broken_servers.py`` that breaks one
rule. The rest unit-test the checks, the masking and the ``mock_gateway``
fixture with the openai SDK (both majors: those are marked ``sdk``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from contract_tests import checks, examples
from contract_tests.reproduce import MASK, as_curl, mask
from contract_tests.target import Reply, Sent
from schemas.behaviour import behaviour

from .conftest import FIXTURES, ROOT, load_fixture
from .servers import mock_process

pytest_plugins = ["pytester"]

#: Environment that would point the suite somewhere else; cleared for every run.
_CONTRACT_ENV = (
    "CONTRACT_BASE_URL",
    "OPENAI_BASE_URL",
    "CONTRACT_API_KEY",
    "OPENAI_API_KEY",
    "CONTRACT_PROFILE",
    "CONTRACT_BUDGET",
    "CONTRACT_MODELS",
    "CONTRACT_HYPOTHESIS_PROFILE",
    "CONTRACT_LEVELS",
    "CONTRACT_SECOND_API_KEY",
)


def run_suite(pytester: pytest.Pytester, *args: str, env: dict[str, str] | None = None) -> pytest.RunResult:
    """``pytest --pyargs contract_tests ARGS`` in a fresh process, in an empty directory."""
    pytester.chdir()
    monkeypatch = pytest.MonkeyPatch()
    try:
        for name in _CONTRACT_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("PYTHONPATH", str(ROOT))
        return pytester.runpytest_subprocess(
            "--pyargs", "contract_tests", "-p", "no:cacheprovider", "-p", "no:randomly", *args, timeout=240
        )
    finally:
        monkeypatch.undo()


def assert_passed(result: pytest.RunResult) -> None:
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and not outcomes.get("failed") and not outcomes.get("errors"), result.stdout.str()[-6000:]
    assert outcomes.get("passed", 0) >= 15


# --- the suite passes on the mock ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_suite_passes_in_process_against_the_mock(pytester: pytest.Pytester, profile: str) -> None:
    result = run_suite(pytester, "--contract-profile", profile)  # how long it takes: make bench (the contract row)
    assert_passed(result)
    result.stdout.fnmatch_lines([f"target: in-process (the mock), {profile} profile, models: qwen3.6-plus, *"])
    if profile == "gateway":  # the five documented deviations, summarised, not failed
        result.stdout.fnmatch_lines(
            [
                "OpenAI compatibility: * replies checked against the openai profile; deviations reported, not failed*",
                "  known (schemas/deviations.json):",
                "    /error  (* replies)*",
            ]
        )
    else:
        assert "OpenAI compatibility" not in result.stdout.str()


@pytest.fixture
def mock_server() -> Any:
    """``python -m mockserver`` with one key, on a port it picks; stopped after the test."""
    key = "sk-over-http-7d1c4e9a2b6f0c3e8a5d1b7f4c2e9a6b3d0f5c8e1a4b"
    with mock_process("--api-key", key, "--quiet") as server:
        yield f"{server.base}/v1", key


@pytest.mark.slow
def test_suite_passes_over_http_against_a_mock_server(pytester: pytest.Pytester, mock_server: tuple[str, str]) -> None:
    url, key = mock_server
    junit = pytester.path / "contract.xml"
    # the mock's hypothesis profile: the same examples every run (the live one draws new ones each time)
    result = run_suite(
        pytester,
        "--contract-base-url",
        url,
        "--contract-budget",
        "500",
        "--contract-hypothesis-profile",
        "mock",
        f"--junitxml={junit}",
        env={"CONTRACT_API_KEY": key},
    )
    assert_passed(result)
    result.stdout.fnmatch_lines([f"target: {url}, gateway profile, *", "requests: * of a budget of 500"])
    everything = result.stdout.str() + result.stderr.str() + junit.read_text()
    assert key not in everything and key[3:20] not in everything


def test_a_live_budget_skips_the_remaining_tests_with_a_clear_message(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "--contract-budget", "6", "-rs")
    assert result.ret == 0
    assert result.parseoutcomes().get("skipped", 0) >= 5
    result.stdout.fnmatch_lines(
        [
            "requests: 6 of a budget of 6: request budget of 6 reached, the remaining tests were skipped*",
            "SKIPPED * request budget of 6 reached (--contract-budget)",
        ]
    )


# --- the suite catches broken servers -----------------------------------------------------------


#: Servers that break one rule each (tests/broken_servers.py): the test that must fail and the finding it reports.
@pytest.mark.slow
def test_strict_openai_fails_on_the_gateways_deviations(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "--contract-strict-openai", "-k", "documented_request_succeeds")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["  [[]openai_compat] /error: required property is missing", "*deviations failed (--contract-strict-openai)"]
    )


@pytest.mark.slow
def test_a_target_that_does_not_store_skips_the_stateful_test(pytester: pytest.Pytester) -> None:
    """In the openai profile (the gateway profile expects new-api's NoRoute 404 there, not a stored response)."""
    result = run_suite(
        pytester,
        "--contract-profile",
        "openai",
        "--contract-app",
        "tests.broken_servers:does_not_store",
        "-rs",
        "-k",
        "stored_response or unknown_response",
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["SKIPPED * the target does not store responses: GET right after create is a 404"])


@pytest.mark.parametrize(
    ("factory", "observed"), [("new_api_router", False), ("gateway_profile_mock", True)], ids=["noroute", "served"]
)
def test_the_gateway_stateful_checks_pass_whether_or_not_the_target_serves_the_stored_routes(
    pytester: pytest.Pytester, factory: str, observed: bool
) -> None:
    """new-api answers GET/DELETE /v1/responses/{id} with its NoRoute 404; a target that serves them is observed."""
    result = run_suite(
        pytester, "--contract-app", f"tests.broken_servers:{factory}", "-k", "stored_response or unknown_response"
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=2)
    assert ("[retrieval_route] /: GET /v1/responses/" in result.stdout.str()) == observed


@pytest.mark.slow
def test_a_failing_report_never_contains_the_key(pytester: pytest.Pytester) -> None:
    """Even with ``-l`` (locals in tracebacks), ``-rA``, ``-v`` and a JUnit file: the key is masked."""
    key = "sk-leakcheck-5f0e3d2c1b0a99887766554433221100ffeeddccbbaa"
    junit = pytester.path / "report.xml"
    result = run_suite(
        pytester,
        "--contract-app",
        "tests.broken_servers:usage_does_not_add_up",
        "-l",
        "-rA",
        "-v",
        "--tb=long",
        f"--junitxml={junit}",
        env={"CONTRACT_API_KEY": key},
    )
    assert result.ret == 1
    written = result.stdout.str() + result.stderr.str() + junit.read_text()
    assert "[usage_arithmetic]" in written and "Bearer $CONTRACT_API_KEY" in written
    for leak in (key, key[3:], key[10:25]):
        assert leak not in written


# --- the plugin is inert elsewhere ---------------------------------------------------------------


def test_the_plugin_is_inert_in_other_projects(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_other="""
        from hypothesis import given, settings, strategies as st

        def test_plain():
            assert settings.default.max_examples == 100  # no contract profile loaded

        @given(st.integers())
        def test_property(n):
            assert isinstance(n, int)
        """
    )
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        help_text = pytester.runpytest_subprocess("--help")
    finally:
        monkeypatch.undo()
    result.assert_outcomes(passed=2)
    assert "responses contract" not in result.stdout.str()
    help_text.stdout.fnmatch_lines(["*--contract-budget=N*", "*--contract-app=MODULE:FACTORY*"])


def test_the_packaged_documented_example_equals_the_fixtures() -> None:
    assert examples.documented_request() == load_fixture("documented_request.json")
    assert examples.documented_response() == load_fixture("documented_response.json")


# --- checks, unit by unit ------------------------------------------------------------------------


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, headers or {}, json.dumps(body, ensure_ascii=False))


def test_the_documented_reply_keeps_every_rule(documented_request: dict, documented_response: dict) -> None:
    assert checks.reply_schema(documented_response, "gateway") == []
    assert checks.invariants(documented_response, documented_request, "gateway") == []
    assert checks.documented_shape(documented_response, documented_response, same_keys=True) == []
    known = [pattern for _, pattern in checks.openai_deviations(documented_response)]
    assert None not in known and len(known) == 4  # the four deviations.json lists


@pytest.mark.parametrize(
    ("edit", "rule", "path"),
    [
        (lambda r: r["usage"].__setitem__("total_tokens", 1), "usage_arithmetic", "/usage/total_tokens"),
        (
            lambda r: r["usage"]["output_tokens_details"].__setitem__("reasoning_tokens", 10_000),
            "usage_arithmetic",
            "/usage/output_tokens_details/reasoning_tokens",
        ),
        (
            lambda r: r["usage"]["x_details"][0].__setitem__("total_tokens", 1),
            "usage_arithmetic",
            "/usage/x_details/0/total_tokens",
        ),
        (lambda r: r.__setitem__("completed_at", r["created_at"] - 1), "timestamps", "/completed_at"),
        (lambda r: r.__setitem__("id", "chatcmpl-1"), "id_prefix", "/id"),
        (lambda r: r["output"][1].__setitem__("id", "item_1"), "id_prefix", "/output/1/id"),
        (lambda r: r.__setitem__("model", "qwen-turbo"), "model_echo", "/model"),
        (lambda r: r.__setitem__("object", "chat.completion"), "object", "/object"),
        (lambda r: r.__setitem__("status", "incomplete"), "status_consistency", "/incomplete_details"),
        (
            lambda r: r.__setitem__("incomplete_details", {"reason": "max_output_tokens"}),
            "status_consistency",
            "/incomplete_details",
        ),
        (
            lambda r: r.update(status="failed", error={"code": "server_error", "message": "rate limit"}),
            "failed_reply",
            "/status",
        ),
        (lambda r: r["output"][1]["content"][0].__setitem__("text", ""), "output_text", "/output"),
        (lambda r: r["usage"].update(output_tokens=2000, total_tokens=2047), "token_limit", "/usage/output_tokens"),
    ],
)
def test_each_invariant_catches_its_break(documented_response: dict, edit: Any, rule: str, path: str) -> None:
    request = {"model": "qwen3.6-plus", "input": "你好", "max_output_tokens": 1024}
    edit(documented_response)
    found = checks.invariants(documented_response, request, "gateway")
    assert (rule, path) in {(f.rule, f.path) for f in found}, found


def test_max_tokens_is_a_cap_only_where_the_profile_says(documented_response: dict) -> None:
    cut = {
        **documented_response,
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {**documented_response["usage"], "output_tokens": 16, "total_tokens": 63},
    }
    request = {"model": "qwen3.6-plus", "input": "你好", "max_tokens": 16}
    assert [f.rule for f in checks.token_limit(cut, request, behaviour("gateway"))] == ["max_tokens_effect"]
    assert checks.token_limit(cut, request, behaviour("openai")) == []
    assert [
        f.rule for f in checks.token_limit(documented_response, {**request, "max_tokens": 100}, behaviour("openai"))
    ] == ["token_limit"]


def test_json_output_is_checked_against_the_requested_format(documented_response: dict) -> None:
    fmt = {"type": "json_schema", "name": "reply", "strict": True, "schema": {"type": "object", "required": ["answer"]}}
    assert [f.rule for f in checks.json_output("not json", {"text": {"format": {"type": "json_object"}}})] == [
        "json_output"
    ]
    assert checks.json_output('{"answer": "x"}', {"text": {"format": fmt}}) == []
    assert "required" in checks.json_output('{"other": 1}', {"text": {"format": fmt}})[0].message


def test_strict_tool_arguments_are_checked_against_the_tools_parameters() -> None:
    tool = {
        "type": "function",
        "name": "get_weather",
        "strict": True,
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }
    request = {"tools": [tool]}
    call = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert checks.tool_arguments(call, 1, request) == []
    broken = checks.tool_arguments({**call, "arguments": '{"town": "Paris"}'}, 1, request)
    assert [f.rule for f in broken] == ["tool_arguments", "tool_arguments"] and broken[0].path == "/output/1/arguments"
    assert checks.tool_arguments({**call, "arguments": '{"town": 1}'}, 1, {"tools": [{**tool, "strict": False}]}) == []
    assert [f.path for f in checks.tool_arguments({**call, "name": "other"}, 1, request)] == ["/output/1/name"]


def test_gateway_errors_are_checked_against_the_profile() -> None:
    body = load_fixture("errors/gateway_unknown_model.json")
    request_id = body["error"]["message"].rsplit("request id: ", 1)[1].rstrip(")")
    reply = _reply(503, body, {"X-Oneapi-Request-Id": request_id})
    assert checks.error_reply(reply, "gateway", "unknown_model") == []
    as_500 = _reply(500, body, {"X-Oneapi-Request-Id": request_id})
    assert [f.rule for f in checks.error_reply(as_500, "gateway", "missing_input")] == ["no_5xx"]
    no_header = checks.error_reply(_reply(503, body), "gateway", "unknown_model")
    assert [f.rule for f in no_header] == ["request_id_header"]
    other_id = checks.error_reply(_reply(503, body, {"X-Oneapi-Request-Id": "elsewhere"}), "gateway", "unknown_model")
    assert [f.rule for f in other_id] == ["request_id_message"]
    assert [f.rule for f in checks.error_reply(_reply(200, {"ok": True}), "gateway")] == ["rejects_invalid"]


def test_streams_are_checked_by_the_stream_validator() -> None:
    raw = (FIXTURES / "recordings" / "mock" / "002-documented-stream.sse").read_text(encoding="utf-8")
    reply = Reply(200, {"Content-Type": "text/event-stream"}, raw)
    findings, final = checks.stream(reply, "gateway")
    assert findings == [] and final is not None and final["status"] == "completed"
    garbled = (
        raw.replace('"delta":"', '"delta":"~', 1) if '"delta":"' in raw else raw.replace('"delta": "', '"delta": "~', 1)
    )
    rules = {f.rule for f in checks.stream(Reply(200, {"Content-Type": "text/event-stream"}, garbled), "gateway")[0]}
    assert "stream.text_reassembly" in rules or "stream_text" in rules


# --- masking and curl ---------------------------------------------------------------------------


def test_mask_hides_the_key_and_any_long_run_of_it() -> None:
    key = "sk-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"
    text = f"Bearer {key}; echoed: ...{key[5:20]}...; short {key[:6]}"
    masked = mask(text, [key])
    assert key not in masked and key[5:20] not in masked
    assert masked.count(MASK) == 2 and "short sk-012" in masked


def test_curl_reproduction_reads_the_key_from_the_environment() -> None:
    key = "sk-curl-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    sent = Sent(
        "POST",
        "https://gw.example/v1/responses",
        {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        json.dumps({"model": "m", "input": "it's"}).encode(),
    )
    command = as_curl(sent, [key])
    assert key not in command
    assert command == (
        'curl -sS -X POST https://gw.example/v1/responses -H "Authorization: Bearer $CONTRACT_API_KEY" '
        '-H \'Content-Type: application/json\' --data-raw \'{"model": "m", "input": "it\'"\'"\'s"}\''
    )
    bare = as_curl(
        Sent("GET", "https://gw.example/v1/models", {"Authorization": key}, None, key_variable="OPENAI_API_KEY"), [key]
    )
    assert bare.endswith('-H "Authorization: $OPENAI_API_KEY"')


# --- the mock_gateway fixture with the openai SDK (both majors) ---------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Network sockets raise (Unix sockets stay: asyncio's event loop needs a socketpair)."""
    real = socket.socket

    class Guarded(real):  # type: ignore[misc, valid-type]
        def __init__(self, family: int = -1, *args: Any, **kwargs: Any) -> None:
            if family in (socket.AF_INET, socket.AF_INET6, -1):
                raise OSError("network sockets are disabled in this test")
            super().__init__(family, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", Guarded)


def greet(client: Any = None) -> str:
    """The README's example app: asks the gateway (``OPENAI_BASE_URL``) for a greeting."""
    from openai import OpenAI

    client = client or OpenAI()
    return client.responses.create(model="qwen3.6-plus", input="你好").output_text


@pytest.mark.sdk
def test_the_readme_app_runs_against_the_mock_gateway(mock_gateway: Any, no_network: None) -> None:
    assert greet()
    assert [call.request.url.path for call in mock_gateway.calls] == ["/v1/responses"]


@pytest.mark.sdk
def test_mock_gateway_streams_to_the_sdk(mock_gateway: Any, no_network: None) -> None:
    from openai import OpenAI

    client = OpenAI(max_retries=0)
    with client.responses.stream(model="qwen3.6-plus", input="Explain tea") as stream:
        deltas = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert deltas and deltas == final.output_text
    follow_up = client.responses.create(model="qwen3.6-plus", input="And then?", previous_response_id=final.id)
    assert follow_up.previous_response_id == final.id  # the gateway relays previous_response_id, not retrieval


@pytest.mark.sdk
def test_mock_gateway_serves_the_async_sdk(mock_gateway: Any, no_network: None) -> None:
    from openai import AsyncOpenAI

    async def main() -> tuple[str, list[str]]:
        client = AsyncOpenAI(max_retries=0)
        reply = await client.responses.create(model="qwen3.6-plus", input="hi")
        stream = await client.responses.create(model="qwen3.6-plus", input="hi", stream=True)
        return reply.output_text, [event.type async for event in stream]

    text, types = asyncio.run(main())
    assert text and types[0] == "response.created" and types[-1] == "response.completed"


@pytest.mark.sdk
@pytest.mark.parametrize("mock_gateway_config", [{"profile": "openai", "api_keys": ["sk-only-this"]}])
def test_mock_gateway_takes_the_mocks_configuration(mock_gateway: Any, no_network: None) -> None:
    import openai

    assert mock_gateway.api_key == "sk-only-this"
    with pytest.raises(openai.AuthenticationError) as raised:
        openai.OpenAI(api_key="sk-wrong", max_retries=0).responses.create(model="qwen3.6-plus", input="hi")
    assert raised.value.code == "invalid_api_key"


@pytest.mark.sdk
def test_mock_gateway_faults_reach_the_sdk_as_on_a_socket(mock_gateway: Any, no_network: None) -> None:
    """A dropped connection in-process raises what a cut socket raises.

    That is RemoteProtocolError, or the SDK's APIConnectionError.
    """
    import openai

    client = openai.OpenAI(max_retries=0)
    seen: list[str] = []
    with pytest.raises(Exception) as dropped:
        for event in client.responses.create(
            model="qwen3.6-plus", input="hi", stream=True, extra_headers={"X-Mock-Fault": "drop-after=3"}
        ):
            seen.append(event.type)
    assert isinstance(dropped.value, openai.APIConnectionError) or "RemoteProtocolError" in {
        c.__name__ for c in type(dropped.value).__mro__
    }
    assert len(seen) <= 3 and "response.completed" not in seen
    with pytest.raises(openai.APIConnectionError):
        client.responses.create(model="qwen3.6-plus", input="hi", extra_headers={"X-Mock-Fault": "drop-after=30"})
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="qwen3.6-plus", input="hi", extra_headers={"X-Mock-Fault": "status=429"})


@pytest.mark.sdk
def test_mock_gateway_keeps_other_urls_off_the_network(mock_gateway: Any, no_network: None) -> None:
    """openai 2.x wraps respx's refusal in ``APIConnectionError``; 3.x lets ``AllMockedAssertionError`` through."""
    import openai
    import respx

    with pytest.raises((openai.APIConnectionError, respx.models.AllMockedAssertionError)):
        openai.OpenAI(base_url="https://api.openai.com/v1", api_key="sk-x", max_retries=0).models.list()


@pytest.mark.sdk
def test_the_readme_example_passes_with_pytest_socket(pytester: pytest.Pytester) -> None:
    """The README's app test, verbatim, under ``--disable-socket``."""
    pytest.importorskip("pytest_socket")
    pytester.makepyfile(
        app="""
        from openai import OpenAI

        def greet(client: OpenAI | None = None) -> str:
            client = client or OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY
            return client.responses.create(model="qwen3.6-plus", input="你好").output_text
        """,
        test_app="""
        from app import greet

        def test_greet(mock_gateway):
            assert greet()  # answered by the mock in-process: no server, no sockets
        """,
    )
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("PYTHONPATH", f"{pytester.path}:{ROOT}")
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--disable-socket", "--allow-unix-socket")
    finally:
        monkeypatch.undo()
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_gateway_echoing_background_true_is_an_observation_not_a_failure(pytester: pytest.Pytester) -> None:
    """Never cry wolf: clients read a synchronous reply's status, not its ``background`` echo."""
    result = run_suite(
        pytester, "--contract-app", "tests.broken_servers:echoes_background", "-k", "unknown_and_unsupported"
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*background_echo*/background: the reply echoes background: true*"])
