"""What one run of the suite shares, and how findings become a failed test.

The ``contract`` fixture is a :class:`ContractSession`: the resolved options
(profile, strictness), the target, the models to generate requests for, the
tally of OpenAI deviations for the end-of-run summary, and the few
``expect_*`` helpers every test module uses so that a failure always reads
the same way: the broken rules with their JSON pointers, then the request as
curl with the key masked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import settings

from schemas.behaviour import Behaviour, behaviour
from schemas.findings import Finding
from schemas.levels import Levels, LevelsError, default_levels, load_levels

from . import checks
from .options import ContractOptions
from .reproduce import failure_report
from .target import Reply, Target

DEFAULT_MODEL = "qwen3.6-plus"


@dataclass
class CompatTally:
    """OpenAI deviations seen in replies: known ones by ``deviations.json`` pattern, new ones by path."""

    known: Counter[str] = field(default_factory=Counter)
    new: Counter[str] = field(default_factory=Counter)
    replies: int = 0

    def add(self, deviations: Sequence[tuple[Finding, str | None]]) -> None:
        self.replies += 1
        for finding, pattern in deviations:
            if pattern is not None:
                self.known[pattern] += 1
            else:
                self.new[_generalised(finding.path) + f": {finding.message}"] += 1


def _generalised(pointer: str) -> str:
    return "/".join("*" if part.isdigit() else part for part in pointer.split("/"))


@dataclass
class Reported:
    """Findings that did not fail the run (observations, known issues), kept for the end-of-run summary."""

    findings: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def add(self, found: Sequence[Finding], what: str) -> None:
        for f in found:
            self.findings[(f.level, f.rule, _generalised(f.path), f.note or f.message[:160])] += 1


@dataclass
class ContractSession:
    options: ContractOptions
    target: Target
    models: tuple[str, ...]
    compat: CompatTally = field(default_factory=CompatTally)
    levels: Levels = field(default_factory=default_levels)
    reported: Reported = field(default_factory=Reported)

    def __post_init__(self) -> None:
        """The levels in force: the user's ``--contract-levels`` file over the default; ``--strict-openai``
        makes deviations from OpenAI violations."""
        try:
            levels = load_levels(self.options.levels)
        except LevelsError as exc:
            raise pytest.UsageError(f"--contract-levels: {exc}") from None
        if self.options.strict_openai:
            levels = replace(levels, rules={**levels.rules, "openai_compat": "violation"})
        self.levels = levels

    @property
    def profile(self) -> str:
        return self.options.profile

    @property
    def behaviour(self) -> Behaviour:
        """The profile's behaviour (``schemas/profiles.json``)."""
        return behaviour(self.profile)

    @property
    def model(self) -> str:
        """The model for the fixed (non-generated) requests."""
        return self.models[0]

    def given_settings(self, test: Any) -> Any:
        """Apply this run's hypothesis profile to an inner ``@given`` test.

        The suite never loads a hypothesis profile globally: the plugin is
        active in every pytest run of the environment, and other projects'
        property tests must keep their own settings.
        """
        return settings(settings.get_profile(self.options.hypothesis_profile))(test)

    # --- turning findings into failures -----------------------------------------------------------

    def expect(self, findings: Sequence[Finding], reply: Reply | None, what: str) -> None:
        """Fail the test with every violation and the request as curl (key masked).

        Each finding gets its level from the levels file (``--contract-levels``):
        observations and known issues are kept for the summary and fail nothing.
        """
        levelled = [self.levels.apply(f) for f in findings]
        failing = [f for f in levelled if f.fails]
        self.reported.add([f for f in levelled if not f.fails], what)
        if failing:
            pytest.fail(failure_report(what, self.profile, failing, reply, self.target.secrets), pytrace=False)

    def expect_reply(self, request: dict[str, Any], reply: Reply, what: str) -> dict[str, Any]:
        """A valid request's reply: 200, the profile's schema, the invariants; tally OpenAI deviations."""
        self.expect(checks.reply_status(reply), reply, what)
        body = reply.json
        self.expect(self.body_findings(request, body), reply, what)
        return body

    def body_findings(self, request: dict[str, Any], body: dict[str, Any]) -> list[Finding]:
        findings = checks.reply_schema(body, self.profile) + checks.invariants(body, request, self.profile)
        if self.profile != "openai":
            deviations = checks.openai_deviations(body)
            self.compat.add(deviations)
            if self.options.strict_openai:
                findings += [finding for finding, _ in deviations]
        return findings

    def expect_error(self, reply: Reply, what: str, failure: str | None = None) -> None:
        """An error reply as the profile says (``failure``: the kind in ``profiles.json``)."""
        self.expect(checks.error_reply(reply, self.profile, failure), reply, what)

    def expect_stream(self, request: dict[str, Any], reply: Reply, what: str) -> dict[str, Any] | None:
        """A streamed reply: the stream rules, then its final response like a plain reply."""
        findings, final = checks.stream(reply, self.profile)
        if final is not None:
            findings += self.body_findings(request, final)
        self.expect(findings, reply, what)
        return final


def discover_models(target: Target) -> tuple[str, ...]:
    """The models ``GET /v1/models`` lists (the default model first), else the default model."""
    reply = target.get("/models")
    data = reply.json.get("data") if reply.status == 200 and isinstance(reply.json, dict) else None
    ids = [m["id"] for m in data or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if not ids:
        return (DEFAULT_MODEL,)
    if DEFAULT_MODEL in ids:
        ids.remove(DEFAULT_MODEL)
        ids.insert(0, DEFAULT_MODEL)
    return tuple(ids)
