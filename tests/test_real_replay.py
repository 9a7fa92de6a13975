"""The contract suite against a strict replay of real traffic reports observations at most, never a violation.

A mock replays recordings built from ``fixtures/real`` (``tests/real_replay.py``): the documented request
gets the gateway's documented reply, each upstream reply answers a request for its own model, the
distributor's 503 an unknown model; an unmatched request is an error, not a generated reply. The shipped
suite's documented-request test and a suite-style test of every recording run through the plugin, so the
levels, the checks and the summary are the ones a CI run uses.
"""

from __future__ import annotations

import pytest

from .real_replay import requests_and_replies
from .test_contract_suite import run_suite

pytest_plugins = ["pytester"]

SUITE_STYLE_TEST = """
import pytest
from tests.real_replay import requests_and_replies

@pytest.mark.parametrize("name, request_body, status, body", requests_and_replies(), ids=lambda v: str(v)[:40])
def test_real_exchange(contract, name, request_body, status, body):
    reply = contract.target.create(request_body)
    if status == 200:
        contract.expect_reply(request_body, reply, name)
    else:
        contract.expect_error(reply, name, "unknown_model")

def test_an_unrecorded_request_is_an_error_not_a_generated_reply(contract):
    reply = contract.target.create({"model": "qwen3.6-plus", "input": "never recorded"})
    assert reply.status == 400 and "no recorded exchange" in reply.text
"""


def test_the_shipped_documented_test_passes_on_the_real_documented_reply(pytester: pytest.Pytester) -> None:
    result = run_suite(
        pytester, "--contract-app", "tests.real_replay:strict_replay", "-k", "documented_request_succeeds"
    )
    result.assert_outcomes(passed=1)


def test_every_real_reply_gets_observations_at_most(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_real=SUITE_STYLE_TEST)
    pytester.makeconftest("from contract_tests.conftest import contract, target  # noqa: F401  the suite's fixtures")
    result = run_suite_file(pytester)
    result.assert_outcomes(passed=len(requests_and_replies()) + 1)
    text = result.stdout.str()
    assert "observations:" in text and "[id_prefix] /id" in text and "[error_type] /error/type" in text
    assert "contract violation" not in text


def run_suite_file(pytester: pytest.Pytester) -> pytest.RunResult:
    """The test file above with the contract plugin's fixtures, against the strict replay of the corpus."""
    from .conftest import ROOT

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))
        for name in ("CONTRACT_BASE_URL", "OPENAI_BASE_URL", "CONTRACT_API_KEY", "OPENAI_API_KEY", "CONTRACT_LEVELS"):
            patch.delenv(name, raising=False)
        models = sorted({r[1]["model"] for r in requests_and_replies()})
        return pytester.runpytest_subprocess(
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "--contract-app",
            "tests.real_replay:strict_replay",
            "--contract-models",
            ",".join(models),
            "-q",
            timeout=240,
        )
