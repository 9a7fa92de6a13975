"""One run of the suite as data, for the HTML report (``--contract-html``) and the Markdown summary.

A run may be one process or a pytest-xdist controller with workers. Each
process that ran the suite's tests turns its session into a plain payload
(:func:`session_payload`: coverage counts, observations, OpenAI deviations,
the structured violations; every text already masked); workers hand theirs
to the controller through xdist's ``workeroutput``. The controller (or the
only process) adds them up with the test outcomes it saw
(:class:`CheckResult`, from pytest's reports) into one :class:`RunReport`.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.behaviour import deviations

from .budget import BudgetState
from .coverage import Dimension, Observed, matrix
from .options import ContractOptions

#: The key in xdist's ``workeroutput`` that carries a worker's payload.
WORKER_OUTPUT = "responses_contract_report"


def session_payload(session: Any) -> dict[str, Any]:
    """What one process's :class:`~contract_tests.session.ContractSession` adds to the run's report."""
    return {
        "models": list(session.models),
        "observed": session.observed.to_json(),
        "reported": [[*key, count] for key, count in session.reported.findings.items()],
        "compat": {
            "known": dict(session.compat.known),
            "new": dict(session.compat.new),
            "replies": session.compat.replies,
        },
        "violations": session.violations,
        "levels": session.levels.source,
    }


@dataclass
class CheckResult:
    """One test of the suite and how it ended."""

    nodeid: str
    outcome: str = "passed"  # passed | failed | skipped | error
    duration: float = 0.0
    #: Why it was skipped, or the first lines of its failure (masked).
    message: str = ""

    @property
    def module(self) -> str:
        return Path(self.nodeid.split("::")[0]).stem

    @property
    def name(self) -> str:
        """``test_no_key_gets_401[openai]`` -> ``no key gets 401 [openai]``."""
        test = self.nodeid.split("::")[-1]
        base, _, params = test.partition("[")
        words = base.removeprefix("test_").replace("_", " ")
        return f"{words} [{params}" if params else words


@dataclass
class Deviation:
    """A row of the gateway-vs-OpenAI table: where, what OpenAI and the gateway do, the SDK's impact, how often."""

    path: str
    openai: str
    gateway: str
    impact: str
    replies: int
    known: bool = True


@dataclass
class RunReport:
    """Everything the HTML report and the Markdown summary show."""

    target: str
    profile: str
    live: bool
    started: str
    models: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    budget: BudgetState | None = None
    unusable: str | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    #: Observations and known issues: (level, rule, path, what, count).
    reported: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    compat_replies: int = 0
    strict_openai: bool = False
    coverage: list[Dimension] = field(default_factory=list)
    levels: str = "schemas/levels.json"

    @property
    def totals(self) -> dict[str, int]:
        counted = Counter(check.outcome for check in self.checks)
        return {outcome: counted.get(outcome, 0) for outcome in ("passed", "failed", "error", "skipped")}

    @property
    def ok(self) -> bool:
        totals = self.totals
        return self.unusable is None and not totals["failed"] and not totals["error"]

    @property
    def verdict(self) -> str:
        if self.unusable is not None:
            return "target not usable: no contract test ran"
        return "passed" if self.ok else "failed"

    @property
    def requests(self) -> str:
        """``23 of a budget of 40`` (or just the count without a budget)."""
        if self.budget is None:
            return "not counted"
        limit = self.budget.limit
        return f"{self.budget.spent}" + (f" of a budget of {limit}" if limit is not None else "")


def build_report(
    options: ContractOptions,
    payloads: list[dict[str, Any]],
    checks: list[CheckResult],
    *,
    budget: BudgetState | None,
    unusable: str | None,
    started: datetime.datetime,
) -> RunReport:
    """The run's report from every process's payload and the outcomes of its tests."""
    where = options.base_url if options.live else f"in-process ({options.app or 'the mock'})"
    observed = Observed()
    reported: Counter[tuple[str, str, str, str]] = Counter()
    known: Counter[str] = Counter()
    new: Counter[str] = Counter()
    replies = 0
    models: list[str] = []
    violations: list[dict[str, Any]] = []
    levels = "schemas/levels.json"
    for payload in payloads:
        observed.add(payload["observed"])
        for level, rule, path, what, count in payload["reported"]:
            reported[(level, rule, path, what)] += count
        known.update(payload["compat"]["known"])
        new.update(payload["compat"]["new"])
        replies += payload["compat"]["replies"]
        models += [m for m in payload["models"] if m not in models]
        violations += payload["violations"]
        levels = payload.get("levels", levels)
    table = [Deviation(d.path, d.openai, d.gateway, d.impact, known.get(d.path, 0)) for d in deviations()]
    table += [Deviation(what, "", "", "not in schemas/deviations.json", n, known=False) for what, n in new.items()]
    return RunReport(
        target=where,
        profile=options.profile,
        live=options.live,
        started=started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        models=models,
        checks=sorted(checks, key=lambda c: c.nodeid),
        budget=budget,
        unusable=unusable,
        violations=violations,
        reported=sorted((*key, count) for key, count in reported.items()),
        deviations=table,
        compat_replies=replies,
        strict_openai=options.strict_openai,
        coverage=matrix(options.profile, observed) if payloads else [],
        levels=levels,
    )


def payload_from_worker(text: str) -> dict[str, Any]:
    """A worker's payload, as :func:`session_payload` made it and xdist carried it (JSON text)."""
    return json.loads(text)
