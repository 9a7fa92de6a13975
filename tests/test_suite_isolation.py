"""The contract suite's isolation check (``contract_tests/test_isolation.py``) finds a real leak, and only a leak.

It fails, naming ``[isolation]`` with a reproduction that reads the second
key from ``$CONTRACT_SECOND_API_KEY``, against a gateway that serves every
customer from one upstream account (any accepted key reaches the first
key's responses) and against one that isolates ``previous_response_id`` but
leaks through ``GET``; it passes against the mock over HTTP in both profiles
(in-process, ``test_contract_suite`` runs the whole suite, this check
included, in both) and against a target that keeps nothing to leak; without
a second key it skips, saying how to enable it. Keys are never printed.
Plus unit tests of the checks it uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contract_tests import checks
from contract_tests.options import IN_PROCESS_KEY, IN_PROCESS_SECOND_KEY
from contract_tests.target import Reply
from mockserver import create_app

from .broken_servers import shares_one_account
from .servers import LiveServer
from .test_contract_suite import run_suite

pytest_plugins = ["pytester"]

KEY_A = "sk-suite-first-8e1b4d7a0c3f6e9b2d5a8c1f4e7b0d3a6c9f2e5b8d1a"
KEY_B = "sk-suite-second-3c6f9b2e5a8d1c4f7b0e3a6d9c2f5b8e1a4d7c0f3b6e"
ISOLATION = ["-k", "second_key_cannot_reach", "-rs"]


def run_live(pytester: pytest.Pytester, base_url: str, *args: str, second: str | None = KEY_B) -> pytest.RunResult:
    env = {"CONTRACT_API_KEY": KEY_A, **({"CONTRACT_SECOND_API_KEY": second} if second else {})}
    return run_suite(pytester, "--contract-base-url", f"{base_url}/v1", *ISOLATION, *args, env=env)


def assert_no_key_shown(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    for key in (KEY_A, KEY_B, IN_PROCESS_KEY, IN_PROCESS_SECOND_KEY):
        assert key not in text and key[3:20] not in text


@pytest.fixture(params=["gateway", "openai"])
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def leaky_server(profile: str) -> Iterator[LiveServer]:
    """A gateway on one upstream account: any accepted key is sent on as the first key."""
    with LiveServer(shares_one_account(profile, [KEY_A, KEY_B])) as server:
        yield server


# --- it finds a leak ----------------------------------------------------------------------------


def test_a_gateway_on_one_upstream_account_fails_naming_the_isolation_rule(
    pytester: pytest.Pytester, leaky_server: LiveServer, profile: str
) -> None:
    result = run_live(pytester, leaky_server.url, "--contract-profile", profile, "--contract-budget", "30")
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        [
            "*create with the first key's previous_response_id, second key: 1 contract violation(s)*",
            "  [[]isolation] /previous_response_id: a follow-up with previous_response_id resp_*, a response the "
            "first key created, was answered to the second key (HTTP 200), while an unknown id gets HTTP 400",
            "request that broke it (answered HTTP 200); to send it again, with CONTRACT_SECOND_API_KEY set:",
            '  curl -sS -X POST */v1/responses -H "Authorization: Bearer $CONTRACT_SECOND_API_KEY" *'
            "previous_response_id*",
            "requests: * of a budget of 30",
        ]
    )
    assert_no_key_shown(result)


def test_a_gateway_that_leaks_only_through_get_fails_at_get(pytester: pytest.Pytester) -> None:
    with LiveServer(leaks_through_get([KEY_A, KEY_B])) as server:
        result = run_live(pytester, server.url, "--contract-profile", "openai")
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        [
            "*GET /responses/resp_*, second key: 1 contract violation(s) (openai profile)",
            "  [[]isolation] /: GET /responses/resp_* of resp_*, a response the first key created, answered the "
            "second key with HTTP 200*",
            '  curl -sS -X GET */v1/responses/resp_* -H "Authorization: Bearer $CONTRACT_SECOND_API_KEY"',
        ]
    )
    assert_no_key_shown(result)


def leaks_through_get(api_keys: list[str]) -> Any:
    """The openai-profile mock whose ``GET /v1/responses/{id}`` answers every accepted key as the first."""
    app = create_app(profile="openai", api_keys=api_keys, log_requests=False)
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"].startswith("/v1/responses/"):
            environ["HTTP_AUTHORIZATION"] = f"Bearer {api_keys[0]}"
        return inner(environ, start_response)

    app.wsgi_app = wsgi
    return app


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_in_process_the_suite_names_the_leak_and_how_to_serve_it(pytester: pytest.Pytester, profile: str) -> None:
    result = run_suite(
        pytester, "--contract-app", "tests.broken_servers:shares_one_account", "--contract-profile", profile, *ISOLATION
    )
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        [
            "  [[]isolation] /previous_response_id: *was answered to the second key (HTTP 200)*",
            "  headers: Authorization: Bearer $CONTRACT_SECOND_API_KEY, Content-Type: application/json",
        ]
    )
    assert_no_key_shown(result)


def test_the_lifecycle_isolation_check_names_a_cancel_that_leaks(pytester: pytest.Pytester) -> None:
    """Where the target serves the lifecycle, the second key cancelling the first key's response is a leak."""
    app = ["--contract-app", "tests.broken_servers:shares_one_account", "--contract-profile", "openai"]
    result = run_suite(pytester, *app, "-k", "stay_with_their_key")
    assert result.ret == 1, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        [
            "*POST /responses/resp_*/cancel, second key: 1 contract violation(s) (openai profile)",
            "  [[]isolation] /: POST /responses/resp_*/cancel of resp_*, a response the first key created, "
            "answered the second key with HTTP 200*",
        ]
    )
    assert_no_key_shown(result)
    isolated = run_suite(pytester, "--contract-profile", "openai", "-k", "stay_with_their_key")
    assert isolated.ret == 0, isolated.stdout.str()[-3000:]
    isolated.assert_outcomes(passed=1)
    at_the_gateway = run_suite(pytester, "--contract-profile", "gateway", "-k", "stay_with_their_key", "-rs")
    at_the_gateway.assert_outcomes(skipped=1)
    at_the_gateway.stdout.fnmatch_lines(["*the target does not serve the stateful lifecycle*"])


# --- it passes where nothing leaks --------------------------------------------------------------


def test_a_target_whose_get_finds_nothing_is_no_leak(pytester: pytest.Pytester, profile: str) -> None:
    """Never cry wolf: a target that keeps no responses for ``GET`` has nothing there to leak."""
    result = run_suite(
        pytester, "--contract-app", "tests.broken_servers:does_not_store", "--contract-profile", profile, *ISOLATION
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("config", "requests"),
    [({"profile": "gateway"}, 5), ({"profile": "openai"}, 11), ({"serve_stored_routes": True}, 11)],
    ids=["gateway", "openai", "gateway-serving-stored-routes"],
)
def test_the_mock_over_http_passes_and_the_requests_are_budgeted(
    pytester: pytest.Pytester, config: dict[str, Any], requests: int
) -> None:
    """In-process the default run checks the mock's isolation too (test_contract_suite runs it whole)."""
    app = create_app(api_keys=[KEY_A, KEY_B], log_requests=False, **config)
    with LiveServer(app) as server:
        profile = config.get("profile", "gateway")
        result = run_live(pytester, server.url, "--contract-profile", profile, "--contract-budget", "40")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=1)
    assert "isolation" not in result.stdout.str().split("responses contract")[-1]  # no observation either
    result.stdout.fnmatch_lines(["requests: * of a budget of 40"])
    spent = int(result.stdout.str().split("requests: ", 1)[1].split(" ", 1)[0])
    assert requests < spent <= requests + 3  # the check's own, and the preflight's
    assert_no_key_shown(result)


def test_without_a_second_key_a_live_run_skips_saying_how_to_enable_it(pytester: pytest.Pytester) -> None:
    with LiveServer(create_app(api_keys=[KEY_A], log_requests=False)) as server:
        result = run_live(pytester, server.url, second=None)
    assert result.ret == 0
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * isolation between keys not checked: no second key. Set CONTRACT_SECOND_API_KEY *"]
    )


def test_the_second_key_must_not_be_the_first(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, *ISOLATION, env={"CONTRACT_SECOND_API_KEY": IN_PROCESS_KEY})
    assert result.ret == 4  # pytest's usage error
    assert "CONTRACT_SECOND_API_KEY) is the first key" in result.stderr.str() + result.stdout.str()
    assert_no_key_shown(result)


# --- the checks ---------------------------------------------------------------------------------


def reply(status: int, body: str = "{}") -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, body)


def usage(input_tokens: int) -> str:
    return f'{{"id": "resp_2", "usage": {{"input_tokens": {input_tokens}, "output_tokens": 5, "total_tokens": 9}}}}'


def test_a_follow_up_accepted_like_an_unknown_one_leaks_only_with_more_input_tokens() -> None:
    """A target that ignores ids it does not know answers both 200: the token count tells a leak."""
    assert checks.leaked_follow_up(reply(200, usage(4)), reply(200, usage(4)), "resp_1") == []
    [leak] = checks.leaked_follow_up(reply(200, usage(40)), reply(200, usage(4)), "resp_1")
    assert (leak.rule, leak.path) == ("isolation", "/usage/input_tokens")
    assert "40 input tokens against 4" in leak.message
    [leak] = checks.leaked_follow_up(reply(200, usage(4)), reply(400), "resp_1")
    assert "while an unknown id gets HTTP 400" in leak.message
    assert checks.leaked_follow_up(reply(400), reply(400), "resp_1") == []
    assert checks.leaked_follow_up(reply(404), reply(200, usage(4)), "resp_1") == []


def test_a_refusal_that_tells_the_response_exists_is_an_observation() -> None:
    unknown = {"type": "invalid_request_error", "code": None}
    assert checks.refused_alike(reply(404, '{"error": {"type": "invalid_request_error"}}'), 404, unknown, "GET") == []
    [told] = checks.refused_alike(reply(403, '{"error": {"type": "permission_error"}}'), 404, unknown, "GET")
    assert told.rule == "isolation_existence"
    assert "HTTP 403 against 404" in told.message and "type 'permission_error' against 'invalid_request_error'" in (
        told.message
    )
    assert checks.refused_alike(reply(200), 404, unknown, "GET") == []  # a success is leaked_route's to report


def test_the_levels_file_says_a_leak_fails_and_a_tell_is_reported() -> None:
    from schemas.levels import default_levels

    assert default_levels().rules["isolation"] == "violation"
    assert default_levels().rules["isolation_existence"] == "observation"
