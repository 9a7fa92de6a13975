"""The HTML pages of the suite and the CLI: the run's report (``--contract-html``), the Markdown summary,
the coverage matrix they share, and ``drift``/``compat --format html``.

The suite runs in subprocesses, as CI runs it (``pytest --pyargs contract_tests``),
against the mock in-process and against a server whose usage does not add
up; the reports are then read as a person would, in headless Chromium.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import contract_tests.__main__ as cli
import schemas
from contract_tests.coverage import (
    CONTENT_PARTS,
    ERROR_CODES,
    EVENT_TYPES,
    OUTPUT_ITEMS,
    REQUEST_FIELDS,
    REQUEST_VALUES,
    STATUS_CODES,
    Observed,
    allowed,
    matrix,
    short_lines,
)
from contract_tests.target import Reply, Sent
from schemas import events
from schemas.behaviour import behaviour, deviations

from .browser import browser, page, screenshot  # noqa: F401  (fixtures)
from .conftest import ROOT, load_fixture
from .test_contract_suite import _CONTRACT_ENV
from .test_drift import MOCK, add_event_type, add_field, edit_body, edit_events, remove_total_tokens

#: A key that must never show in a report (the suite's in-process mock is started with it).
KEY = "sk-htmlreport-3e9d1c7b5a2f4e6d8c0b1a9f7e5d3c1b2a4f6e8d0c"


# --- the coverage model -------------------------------------------------------------------------


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_what_the_profile_allows_comes_from_its_schemas(profile):
    found = allowed(profile)
    assert set(found[REQUEST_FIELDS]) == set(schemas.load("request", profile)["properties"])
    assert {"message", "function_call", "reasoning"} <= set(found[OUTPUT_ITEMS])
    assert set(found[CONTENT_PARTS]) == {"output_text", "refusal"}
    assert set(events.ALL) - {events.REASONING_TEXT_DELTA, events.REASONING_TEXT_DONE} <= set(found[EVENT_TYPES])
    rules = behaviour(profile)
    assert {str(f.status) for f in rules.failures.values()} | {"200"} <= set(found[STATUS_CODES])
    assert {f.code for f in rules.failures.values() if f.code} <= set(found[ERROR_CODES])
    assert "/text/format/type = json_schema" in found[REQUEST_VALUES]
    reasoning = schemas.load("request", profile)["properties"]["reasoning"]
    assert ("/reasoning/effort = low" in found[REQUEST_VALUES]) == isinstance(reasoning, dict)  # openai: any object


def test_the_gateway_accepts_other_item_types_but_names_its_own():
    """The gateway's output item schema ends with "any other type": not a value one can cover."""
    named = ("code_interpreter_call", "function_call", "message", "reasoning", "web_search_call")
    assert allowed("gateway")[OUTPUT_ITEMS] == named
    assert len(allowed("openai")[OUTPUT_ITEMS]) > 10


def _reply(status, text, body=None, content_type="application/json"):
    sent = Sent("POST", "http://x/v1/responses", {}, json.dumps(body).encode() if body is not None else None)
    return Reply(status, {"Content-Type": content_type}, text, sent)


def test_observed_counts_what_was_sent_and_seen(documented_request, documented_response):
    observed = Observed()
    observed.observe(
        _reply(200, json.dumps(documented_response), {**documented_request, "reasoning": {"effort": "low"}})
    )
    error = {"error": {"code": "invalid_parameter", "message": "bad", "type": "new_api_error"}}
    observed.observe(_reply(400, json.dumps(error), {"model": "m", "input": "x", "temperature": 9}))
    stream = (ROOT / "fixtures" / "streams" / "mock_gateway.sse").read_text()
    observed.observe(_reply(200, stream, {"model": "m", "input": "x", "stream": True}, "text/event-stream"))
    counts = observed.counts
    assert counts[REQUEST_FIELDS]["model"] == 3 and counts[REQUEST_FIELDS]["temperature"] == 2
    assert counts[REQUEST_VALUES]["/reasoning/effort = low"] == 1
    assert counts[STATUS_CODES] == {"200": 2, "400": 1}
    assert counts[ERROR_CODES] == {"invalid_parameter": 1}
    assert counts[OUTPUT_ITEMS]["message"] == 2 and counts[CONTENT_PARTS]["output_text"] == 2
    assert counts[EVENT_TYPES][events.COMPLETED] == 1 and counts[EVENT_TYPES][events.OUTPUT_TEXT_DELTA] > 1
    dimensions = {d.name: d for d in matrix("gateway", observed)}
    assert [c.value for c in dimensions[CONTENT_PARTS].gaps] == ["refusal"]
    assert "403" in [c.value for c in dimensions[STATUS_CODES].gaps]
    assert any(
        line.startswith("content part types: 1 of 2 seen; not seen: refusal")
        for line in short_lines(list(dimensions.values()))
    )


def test_observed_counts_add_up_across_processes():
    one, two = Observed(), Observed()
    one.observe(_reply(401, '{"error": {"code": "", "message": "no"}}', {"model": "m"}))
    two.observe(_reply(401, '{"error": {"code": "", "message": "no"}}', {"model": "m", "input": "x"}))
    one.add(json.loads(json.dumps(two.to_json())))
    assert one.counts[STATUS_CODES]["401"] == 2 and one.counts[REQUEST_FIELDS] == {"model": 2, "input": 1}


# --- the suite's report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRun:
    returncode: int
    output: str
    html: str
    markdown: str
    html_path: Path


RUNS = {
    "mock": [],
    "mock-xdist": ["-n", "2", "-k", "auth or documented or models"],
    "usage": ["--contract-app", "tests.broken_servers:usage_does_not_add_up", "-k", "generated_requests_get_valid"],
}


@pytest.fixture(scope="module")
def report_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReportRun]:
    """``pytest --pyargs contract_tests --contract-html report.html --contract-markdown summary.md``, three ways."""
    env = {k: v for k, v in os.environ.items() if k not in _CONTRACT_ENV} | {
        "PYTHONPATH": str(ROOT),
        "CONTRACT_API_KEY": KEY,
    }

    def run(name: str) -> ReportRun:
        folder = tmp_path_factory.mktemp(name)
        command = [sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "-p", "no:cacheprovider"]
        command += ["-p", "no:randomly", "--contract-html", "report.html", "--contract-markdown", "summary.md"]
        done = subprocess.run(
            [*command, *RUNS[name]], cwd=folder, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        html_path = folder / "report.html"
        return ReportRun(
            done.returncode,
            done.stdout + done.stderr,
            html_path.read_text(encoding="utf-8"),
            (folder / "summary.md").read_text(encoding="utf-8"),
            html_path,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS), strict=True))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_report_of_a_passing_run_in_chromium(report_runs, page):  # noqa: F811
    run = report_runs["mock"]
    assert run.returncode == 0, run.output[-3000:]
    assert "html report: report.html" in run.output
    page.goto(run.html_path.as_uri())
    assert page.locator("#verdict").inner_text() == "passed"
    assert page.locator("#profile").inner_text() == "gateway"
    assert "in-process (the mock)" in page.locator("#target").inner_text()
    checks = page.locator("#checks-table tr.check")
    assert checks.count() >= 15
    skipped = checks.filter(has_text="the target does not serve the stateful lifecycle")  # the gateway: a reason
    assert skipped.count() > 0 and skipped.filter(has_text="skipped").count() == skipped.count()
    assert checks.filter(has_text="passed").count() == checks.count() - skipped.count()
    assert page.get_by_text("no key gets 401").is_visible()
    deviations_table = page.locator("#deviations-table")
    for deviation in deviations():
        assert deviations_table.get_by_text(deviation.path, exact=True).is_visible()
    summary = page.locator("#coverage-summary")
    for name in ("request fields", "request enum values", "output item types", "stream event types", "status codes"):
        assert summary.get_by_role("link", name=name).is_visible()
    assert page.locator("table.matrix tr.gap").count() > 0  # the gaps are marked
    screenshot(page, "contract-report")
    page.locator("#coverage").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('coverage').scrollIntoView()")
    screenshot(page, "contract-report-coverage")
    assert page.locator("#violations").is_visible() and "None: no check found a violation" in run.html
    assert KEY not in run.html and KEY not in run.markdown


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_report_names_usage_arithmetic_against_a_server_whose_usage_does_not_add_up(report_runs, page):  # noqa: F811
    run = report_runs["usage"]
    assert run.returncode == 1, run.output[-3000:]
    page.goto(run.html_path.as_uri())
    assert page.locator("#verdict").inner_text() == "failed"
    card = page.locator(".violation-card").first
    assert card.locator("code.rule").first.inner_text() == "usage_arithmetic"
    assert "/usage/total_tokens" in card.inner_text()
    assert "how to send it again" in card.inner_text() and "$CONTRACT_API_KEY" in card.inner_text()
    assert page.locator("#checks-table tr.check").filter(has_text="failed").count() == 1
    assert "`usage_arithmetic`" in run.markdown and "## Responses contract: failed" in run.markdown
    for leak in (KEY, KEY[3:], KEY[10:25]):
        assert leak not in run.html and leak not in run.markdown


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pytest_xdist_workers_add_up_into_one_report(report_runs):
    run = report_runs["mock-xdist"]
    assert run.returncode == 0, run.output[-3000:]
    passed = int(re.search(r"(\d+) passed", run.output).group(1))
    assert len(re.findall(r'<tr class="check passed-row">', run.html)) == passed >= 6
    assert "### Coverage of the contract" in run.markdown
    assert re.search(r"\| status codes \| [1-9]\d* of \d+ seen \|", run.markdown)


def test_the_report_is_one_file_that_reaches_for_nothing(report_runs):
    """No script, stylesheet, image or font from anywhere: the file is all there is."""
    html = report_runs["mock"].html
    assert not re.search(r"<(script|link|img|iframe)\b", html, re.IGNORECASE)
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html) and "@import" not in html and "url(" not in html


# --- drift and compat as HTML ---------------------------------------------------------------------


def test_drift_as_html_is_a_table_by_path_and_level_with_the_exchanges(tmp_path, capsys, page):  # noqa: F811
    copy = tmp_path / "new"
    import shutil

    shutil.copytree(MOCK, copy)
    edit_body(copy, remove_total_tokens)
    edit_body(copy, add_field)
    edit_events(copy, add_event_type)
    assert cli.main(["drift", str(copy), "--against", str(MOCK), "--format", "html"]) == 1
    html = capsys.readouterr().out
    path = tmp_path / "drift.html"
    path.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())
    assert page.locator("#verdict").inner_text() == "Drift: 1 violation(s) (exit 1)"
    violation = page.locator("#violation + table tr").filter(has_text="/usage/total_tokens")
    assert violation.count() == 1 and "001-documented.json" in violation.inner_text()
    observed = page.locator("#observation + table")
    assert observed.get_by_text("/x_trace_id").is_visible()
    assert observed.get_by_text("response.output_text.annotation.added", exact=False).first.is_visible()
    screenshot(page, "drift-report")


def test_compat_as_html(capsys):
    assert cli.main(["compat", str(MOCK), "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert html.startswith("<!doctype html>") and "Only known deviations from OpenAI (exit 0)" in html
    for deviation in deviations():
        assert f"<code>{deviation.path}</code>" in html


def test_a_known_issue_shows_in_the_markdown_summary_with_its_level(tmp_path):
    """The summary's observations section (unit: a report built from a payload)."""
    from contract_tests.options import ContractOptions
    from contract_tests.runreport import CheckResult, build_report
    from contract_tests.summary import markdown_summary

    options = ContractOptions(None, KEY, "gateway", False, None, None, "mock", None)
    payload = {
        "models": ["qwen3.6-plus"],
        "observed": {},
        "reported": [["observation", "id_prefix", "/id", "no resp_ prefix", 3]],
        "compat": {"known": {}, "new": {}, "replies": 0},
        "violations": [],
        "levels": "schemas/levels.json",
    }
    import datetime

    report = build_report(
        options,
        [payload],
        [CheckResult("test_x.py::test_a")],
        budget=None,
        unusable=None,
        started=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    text = markdown_summary(report)
    assert "- observation: `[id_prefix] /id`: no resp_ prefix (3x)" in text and "1 passed" in text
    assert load_fixture("documented_request.json")  # the fixtures the coverage tests read are there
