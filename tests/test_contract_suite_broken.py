"""The contract suite fails, naming the rule, on servers that break one rule, and tells the profiles apart.

Each run is a whole ``pytest --pyargs contract_tests`` process against a
server from ``tests/broken_servers.py`` (in-process, ``--contract-app``),
run side by side. A file of its own, so that pytest-xdist (``--dist
loadfile``) runs these minutes of subprocesses beside the rest of
``test_contract_suite.py`` instead of after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from contract_tests.options import IN_PROCESS_KEY

from .conftest import ROOT
from .test_contract_suite import _CONTRACT_ENV

BROKEN = {
    "missing_required_field": (
        "test_generated_requests_get_valid_replies",
        "[schema] /created_at: required property is missing",
    ),
    "wrong_type": ("test_generated_requests_get_valid_replies", "[schema] /created_at: * is not of type 'number'*"),
    "drops_total_tokens": (
        "test_generated_requests_get_valid_replies",
        "[schema] /usage/total_tokens: required property is missing",
    ),
    "usage_null": ("test_generated_requests_get_valid_replies", "[schema] /usage: None is not of type 'object'"),
    "text_null": (
        "test_generated_requests_get_valid_replies",
        "[schema] /output/*/content/0/text: None is not of type 'string'",
    ),
    "stream_out_of_order": (
        "test_generated_requests_stream_valid_events",
        "[stream.part_order] event #* (response.output_text.delta)/content_index: *before its part was added*",
    ),
    "usage_does_not_add_up": (
        "test_generated_requests_get_valid_replies",
        "[usage_arithmetic] /usage/total_tokens: * != input_tokens * + output_tokens *",
    ),
    "server_error_on_some_input": (
        "test_documented_request_succeeds_with_the_documented_shape",
        "[status_200] /: HTTP 500 for a valid request*",
    ),
    "missing_input_is_a_500": (
        "test_a_request_without_input_is_a_4xx_not_a_5xx",
        "[no_5xx] /: HTTP 500 for a client error (the gateway profile says 400)",
    ),
    "accepts_invalid_requests": (
        "test_invalid_requests_get_a_4xx_in_the_error_envelope",
        "[rejects_invalid] /: HTTP 200: the request was accepted, a 4xx was expected",
    ),
    "failed_under_200": (
        "test_generated_requests_get_valid_replies",
        "[failed_reply] /status: HTTP 200 but status 'failed' (server_error: Requests rate limit exceeded)",
    ),
    "max_tokens_caps_the_reply": (
        "test_max_tokens_takes_the_profiles_effect",
        "[max_tokens_effect] *max_tokens=16, which the gateway profile says has no effect",
    ),
    "stream_with_sequence_gap": (
        "test_generated_requests_stream_valid_events",
        "[stream.sequence_number] event #3 (*)/sequence_number: expected 3, got 4",
    ),
    "stream_deltas_do_not_reassemble": (
        "test_generated_requests_stream_valid_events",
        "[stream.text_reassembly] event #*",
    ),
}

#: The mock in one profile, checked as the other: the envelope and status differences the suite must name.
SWAPPED = {
    ("openai_profile_mock", "gateway"): [
        "[schema] /usage/x_details: required property is missing",  # a violation: every real gateway reply has it
        "[error_status] /: unknown_model: the gateway profile answers HTTP 503, got 400*",  # observations from here
        "[error_type] /error/type: *: the gateway profile says 'new_api_error', got 'invalid_request_error'*",
        "[request_id_message] /error/message: gateway messages end with '(request id: ...)'*",
        "[request_id_header] /: no X-Oneapi-Request-Id header*",
    ],
    ("gateway_profile_mock", "openai"): [
        "[no_5xx] /: HTTP 503 for a client error (the openai profile says 400)",
        "[schema] /error: required property is missing",
        "[error_type] /error/type: *: the openai profile says 'invalid_request_error', got 'new_api_error'*",
        "[error_param] /error/param: the openai envelope always carries param*",
    ],
}


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    stdout: pytest.LineMatcher
    text: str


@pytest.fixture(scope="module")
def suite_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], SuiteRun]:
    """The suite against every broken and profile-swapped server, run side by side (one process each).

    A broken server runs only the test that must catch it (``-k``): the rest
    of the suite would pass or fail the same way on every server, and twelve
    whole-suite runs cost minutes. The profile swaps run the whole suite,
    since their differences show up across several tests.
    """
    jobs = [(factory, "gateway") for factory in BROKEN] + list(SWAPPED)
    env = {k: v for k, v in os.environ.items() if k not in _CONTRACT_ENV} | {"PYTHONPATH": str(ROOT)}

    def run(job: tuple[str, str]) -> SuiteRun:
        factory, profile = job
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "contract_tests",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--contract-app",
            f"tests.broken_servers:{factory}",
            "--contract-profile",
            profile,
        ]
        if factory in BROKEN:
            command += ["-k", BROKEN[factory][0]]
        done = subprocess.run(
            command,
            check=False,
            cwd=tmp_path_factory.mktemp(factory),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return SuiteRun(done.returncode, pytest.LineMatcher(done.stdout.splitlines()), done.stdout + done.stderr)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(jobs, pool.map(run, jobs), strict=True))


@pytest.mark.slow
@pytest.mark.timeout(900)  # the first of these builds suite_runs: 16 suite runs, two at a time on a shared machine
@pytest.mark.parametrize("factory", list(BROKEN))
def test_suite_catches_a_broken_server(suite_runs: dict[tuple[str, str], SuiteRun], factory: str) -> None:
    test_name, finding = BROKEN[factory]
    run = suite_runs[(factory, "gateway")]
    assert run.returncode == 1, run.text[-3000:]
    run.stdout.fnmatch_lines([f"FAILED *::{test_name}*"])
    run.stdout.fnmatch_lines(["  " + finding.replace("[", "[[]")])
    run.stdout.fnmatch_lines(
        [
            f"request that broke it (answered HTTP * by --contract-app tests.broken_servers:{factory} in-process):",
            "  POST /v1/responses",
            "  headers: *Authorization: *",
        ]
    )
    assert IN_PROCESS_KEY not in run.text


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("factory", "profile"), list(SWAPPED))
def test_suite_tells_the_profiles_apart(
    suite_runs: dict[tuple[str, str], SuiteRun], factory: str, profile: str
) -> None:
    """A mock in one profile checked as the other fails, naming envelope and status differences."""
    run = suite_runs[(factory, profile)]
    assert run.returncode == 1, run.text[-3000:]
    for difference in SWAPPED[(factory, profile)]:
        run.stdout.fnmatch_lines(["  " + difference.replace("[", "[[]")])
