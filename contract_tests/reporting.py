"""Writing the run's HTML report and Markdown summary (``--contract-html FILE``, ``--contract-markdown FILE``).

:class:`ReportWriter` is a pytest plugin object, registered by the kit's
plugin only when one of the two files is asked for, and only in the process
that started the run (the only one, or pytest-xdist's controller). It sees
every test report (xdist forwards the workers' reports), receives each
worker's session payload when the worker ends (``pytest_testnodedown``),
and writes the files when the run ends, whatever its outcome, a target found
unusable by the preflight included.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from .budget import read_state
from .options import ContractOptions
from .run import SESSION, named_run_folder
from .runreport import WORKER_OUTPUT, CheckResult, build_report, payload_from_worker, session_payload

#: How much of a failure's text a check's row keeps (its first lines name the broken rules).
FAILURE_LINES = 3


class ReportWriter:
    """Collects the suite's outcomes and payloads; writes the HTML report and the Markdown summary at the end."""

    def __init__(self, config: pytest.Config, html: str | None, markdown: str | None):
        self.config = config
        self.html = Path(html) if html else None
        self.markdown = Path(markdown) if markdown else None
        self.started = datetime.datetime.now(datetime.UTC)
        self.checks: dict[str, CheckResult] = {}
        self.payloads: list[dict[str, Any]] = []
        self.written: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not getattr(report, "responses_contract", False):  # marked by the plugin: one of the suite's checks
            return
        check = self.checks.setdefault(report.nodeid, CheckResult(report.nodeid))
        check.duration += report.duration
        if report.failed:
            check.outcome = "failed" if report.when == "call" else "error"
            check.message = " / ".join(report.longreprtext.strip().splitlines()[:FAILURE_LINES])
        elif report.skipped and check.outcome == "passed":
            check.outcome = "skipped"
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            check.message = reason.removeprefix("Skipped: ")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A pytest-xdist worker ended: keep what its session saw."""
        text = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if text:
            self.payloads.append(payload_from_worker(text))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        options = ContractOptions.from_config(self.config)
        own = self.config.stash.get(SESSION, None)
        payloads = [*self.payloads, *([session_payload(own)] if own is not None else [])]
        folder = named_run_folder(self.config)
        budget = read_state(folder) if folder is not None else None
        unusable = None
        if folder is not None:
            from .preflight import read_verdict

            verdict = read_verdict(folder)
            unusable = verdict.message if verdict is not None and not verdict.ok else None
        if not payloads and not self.checks and unusable is None:
            return  # the suite did not run (another project's tests): write nothing
        report = build_report(
            options, payloads, list(self.checks.values()), budget=budget, unusable=unusable, started=self.started
        )
        secrets = tuple(key for key in (options.api_key, options.second_api_key) if key)
        if self.html is not None:
            from .html import report_html, write

            write(self.html, report_html(report, secrets))
            self.written.append(f"html report: {self.html}")
        if self.markdown is not None:
            from .html import write
            from .reproduce import mask
            from .summary import markdown_summary

            write(self.markdown, mask(markdown_summary(report), secrets))
            self.written.append(f"markdown summary: {self.markdown}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.written:
            terminalreporter.write_line(line)


def worker_payload(config: pytest.Config) -> str | None:
    """In a pytest-xdist worker that ran the suite: its session's payload as JSON text, for the controller."""
    import json

    session = config.stash.get(SESSION, None)
    return json.dumps(session_payload(session), ensure_ascii=False) if session is not None else None
