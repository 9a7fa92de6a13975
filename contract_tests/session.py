"""What one run of the suite shares, and how findings become a failed test.

The ``contract`` fixture is a :class:`ContractSession`: the resolved options
(profile, strictness), the target, the models to generate requests for, the
tally of OpenAI deviations for the end-of-run summary, and the few
``expect_*`` helpers every test module uses so that a failure always reads
the same way: the broken rules with their JSON pointers, then the request as
curl with the key masked.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from schemas.behaviour import Behaviour, behaviour
from schemas.findings import Finding
from schemas.levels import Levels, LevelsError, default_levels, load_levels

from . import checks
from .budget import RequestBudget
from .coverage import Observed
from .options import DEFAULT_MODEL, ContractOptions
from .preflight import preflight_for_run
from .reproduce import failure_report, mask, reproduction
from .run import run_folder
from .target import Reply, Target

#: The hypothesis settings of each ``--contract-hypothesis-profile``. Applied to the suite's own
#: ``@given`` tests only (:meth:`ContractSession.given_settings`), never registered or loaded globally:
#: the plugin is loaded in every pytest run of the environment, and other projects keep their settings.
HYPOTHESIS_SETTINGS: dict[str, dict[str, Any]] = {
    "mock": {
        "max_examples": 25,
        "deadline": None,
        "derandomize": True,  # the same examples on every run: CI stays reproducible
        "database": None,
        "print_blob": False,
        "suppress_health_check": list(HealthCheck),
        "phases": [Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    },
    "live": {
        "max_examples": 4,  # every example is a paid request, twice when it fails (the replay)
        "deadline": None,
        "database": None,
        "print_blob": False,
        "suppress_health_check": list(HealthCheck),
        "phases": [Phase.explicit, Phase.generate],  # no shrinking: each step would be another paid request
    },
    "nightly": {
        "max_examples": 200,
        "deadline": None,
        "print_blob": True,
        "suppress_health_check": list(HealthCheck),
    },
}


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


#: Longest reply text a violation keeps for the HTML report.
REPLY_SHOWN = 4000


@dataclass
class ContractSession:
    options: ContractOptions
    target: Target
    models: tuple[str, ...]
    compat: CompatTally = field(default_factory=CompatTally)
    levels: Levels = field(default_factory=default_levels)
    reported: Reported = field(default_factory=Reported)
    #: What the run sent and saw (the coverage matrix); the target tells it of every reply.
    observed: Observed = field(default_factory=Observed)
    #: Every failed expectation, structured for the HTML report (keys masked).
    violations: list[dict[str, Any]] = field(default_factory=list)
    #: The run's shared folder (budget, preflight, the lifecycle probe), when the run has one.
    folder: Path | None = None

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

    def second_target(self) -> Target | None:
        """The target as the second key sees it (``--contract-second-api-key``), or None without one."""
        key = self.options.second_api_key
        if not key:
            return None
        command = mock_command(self.options, second_key=True)
        return self.target.with_key(key, self.options.second_key_variable, server_command=command)

    def given_settings(self, test: Any) -> Any:
        """Apply this run's hypothesis profile to an inner ``@given`` test.

        The suite never loads a hypothesis profile globally: the plugin is
        active in every pytest run of the environment, and other projects'
        property tests must keep their own settings. The parent is
        hypothesis's own default, so a profile a user loaded does not leak in.
        """
        chosen = HYPOTHESIS_SETTINGS[self.options.hypothesis_profile]
        return settings(settings.get_profile("default"), **chosen)(test)

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
            self.violations.append(violation_record(what, failing, reply, self.target.secrets))
            pytest.fail(failure_report(what, self.profile, failing, reply, self.target.secrets), pytrace=False)

    def expect_reply(self, request: dict[str, Any], reply: Reply, what: str) -> dict[str, Any]:
        """A valid request's reply: 200, the profile's schema, the invariants; tally OpenAI deviations."""
        self.expect(checks.reply_status(reply), reply, what)
        body = reply.json
        self.expect(self.body_findings(request, body), reply, what)
        return body

    def body_findings(self, request: dict[str, Any], body: dict[str, Any]) -> list[Finding]:
        findings = checks.reply_findings(body, request, self.profile)
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


def violation_record(what: str, findings: Sequence[Finding], reply: Reply | None, secrets: Sequence[str]) -> dict:
    """A failed expectation as the HTML report shows it: the test, each finding, the request, reply, reproduction.

    Plain data (it travels from pytest-xdist workers to the controller), every text masked.
    """
    current = os.environ.get("PYTEST_CURRENT_TEST", "")  # "path::test (call)", set by pytest for this purpose
    record: dict[str, Any] = {
        "test": current.rsplit(" ", 1)[0],
        "what": what,
        "findings": [{"rule": f.rule, "path": f.path, "message": f.message, "note": f.note} for f in findings],
    }
    sent = reply.sent if reply is not None else None
    if reply is not None:
        record["status"] = reply.status
        record["reply"] = mask(reply.text[:REPLY_SHOWN], secrets)
    if sent is not None:
        body = sent.body.decode("utf-8", "backslashreplace") if sent.body is not None else ""
        record["request"] = mask(f"{sent.method} {sent.url}\n{body}".rstrip(), secrets)
        record["reproduction"] = mask("\n".join(reproduction(sent, reply.status, secrets)), secrets)
    return record


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


# --- opening the run's session (the ``contract`` fixture) ---------------------------------------


def open_session(config: pytest.Config) -> ContractSession:
    """The options, the target (behind the run's shared budget) and the models of this run.

    A live target has been checked by the preflight before the first test
    (``plugin.pytest_collection_modifyitems``); its verdict is read here, so
    its model list costs no second request.
    """
    options = ContractOptions.from_config(config)
    folder = run_folder(config)
    budget = RequestBudget(folder, options.budget)
    observed = Observed()
    if options.live:
        verdict = preflight_for_run(folder, options, budget)
        if not verdict.ok:
            pytest.skip(f"the target is not usable: {verdict.message}")
        target = Target(
            base_url=options.base_url,
            api_key=options.api_key,
            budget=budget,
            key_variable=options.key_variable,
            observe=observed.observe,
            masked=[options.second_api_key or ""],
        )
        models = options.models or verdict.models or discover_models(target)
    else:
        target = Target(
            app=in_process_app(options),
            api_key=options.api_key,
            budget=budget,
            key_variable=options.key_variable,
            in_process=f"--contract-app {options.app}" if options.app else "the mock",
            server_command=None if options.app else mock_command(options),
            observe=observed.observe,
            masked=[options.second_api_key or ""],
        )
        models = options.models or discover_models(target)
    return ContractSession(options=options, target=target, models=tuple(models), observed=observed, folder=folder)


def in_process_app(options: ContractOptions) -> Any:
    """The mock (or ``--contract-app``), configured with the run's profile and key."""
    spec = options.app or "mockserver:create_app"
    module_name, _, attribute = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute or "create_app")
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(f"--contract-app {spec}: {exc}") from None
    if hasattr(found, "wsgi_app") or not callable(found):
        return found  # an app object, not a factory
    parameters = inspect.signature(found).parameters
    # The mock as the profile's target routes: in the gateway profile the stored-response routes answer
    # new-api's NoRoute 404, which the suite's stateful checks expect there. Background responses finish
    # in a third of a second, so the lifecycle checks poll briefly.
    keys = [options.api_key, *([options.second_api_key] if options.second_api_key else [])]
    offered = {"profile": options.profile, "api_keys": keys, "log_requests": False, "background_pace": (0.05, 0.3)}
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        offered = {k: v for k, v in offered.items() if k in parameters}
    return found(**offered)


def mock_command(options: ContractOptions, *, second_key: bool = False) -> str:
    """The shell command that serves the in-process mock over HTTP as the suite configured it.

    With ``second_key`` it accepts the second key too (the isolation check's requests).
    """
    command = f'python -m mockserver --profile {options.profile} --api-key "${options.key_variable}"'
    if second_key:
        command += f' --api-key "${options.second_key_variable}"'
    return command
