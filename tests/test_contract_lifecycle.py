"""The contract suite's lifecycle checks: pass on the openai mock, skip with a reason at the gateway, catch breaks.

Each run is the suite in a subprocess (``pytest --pyargs contract_tests -k
lifecycle``), as CI runs it.
"""

from __future__ import annotations

import pytest

from .test_contract_suite import run_suite

pytest_plugins = ["pytester"]

LIFECYCLE = "test_lifecycle"


@pytest.mark.slow
def test_the_lifecycle_checks_pass_against_the_openai_mock(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "--contract-profile", "openai", "-k", LIFECYCLE, "-rs")
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed") == 6 and not outcomes.get("skipped"), result.stdout.str()


@pytest.mark.slow
def test_the_lifecycle_checks_skip_at_the_gateway_saying_why(pytester: pytest.Pytester) -> None:
    result = run_suite(pytester, "--contract-profile", "gateway", "-k", LIFECYCLE, "-rs")
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("skipped") == 6 and not outcomes.get("passed"), result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "SKIPPED * the target does not serve the stateful lifecycle: POST */responses/input_tokens answered "
            "HTTP 404 (the gateway profile: new-api routes none of the stateful routes, and the upstream answers "
            "background synchronously)"
        ]
    )
    assert result.stdout.str().count("POST ") >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("factory", "test", "rule"),
    [
        ("cancel_does_nothing", "cancelled", "[cancel]"),
        ("resume_starts_over", "resumes_after", "stream"),
        ("counts_no_tokens", "input_tokens", "[input_tokens]"),
        ("conversation_forgets", "conversation", "[conversation]"),
    ],
)
def test_the_lifecycle_checks_catch_a_broken_server(pytester: pytest.Pytester, factory: str, test: str, rule: str):
    result = run_suite(
        pytester,
        "--contract-profile",
        "openai",
        "--contract-app",
        f"tests.broken_lifecycle:{factory}",
        "-k",
        f"{LIFECYCLE} and {test}",
    )
    assert result.ret == 1 and result.parseoutcomes().get("failed") == 1, result.stdout.str()
    assert rule in result.stdout.str()
