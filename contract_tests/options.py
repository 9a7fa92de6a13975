"""The suite's command-line options and environment variables, resolved once per run.

Each option has a ``--contract-*`` spelling and, unless another installed
plugin owns it, a short one (``--base-url``, ``--api-key``, ``--profile``):
pytest-base-url defines ``--base-url`` and pytest-profiling ``--profile``, and
two plugins adding one option name make every pytest run of the environment
crash. Where pytest-base-url is installed its ``--base-url`` is read instead.

| option | environment | default |
| --- | --- | --- |
| ``--base-url`` | ``CONTRACT_BASE_URL``, ``OPENAI_BASE_URL`` | the mock, in-process |
| ``--api-key`` | ``CONTRACT_API_KEY``, ``OPENAI_API_KEY`` | a fixed key the in-process mock accepts |
| ``--profile gateway|openai`` | ``CONTRACT_PROFILE`` | ``gateway`` |
| ``--strict-openai`` | | off: OpenAI deviations are summarised, not failed |
| ``--contract-budget N`` | ``CONTRACT_BUDGET`` | 40 for a live target, none in-process |
| ``--contract-models a,b`` | ``CONTRACT_MODELS`` | what ``GET /v1/models`` lists, else ``qwen3.6-plus`` |
| ``--contract-hypothesis-profile mock|live|nightly`` | ``CONTRACT_HYPOTHESIS_PROFILE`` | live over HTTP, else mock |
| ``--contract-app module:factory`` | | ``mockserver:create_app`` |
| ``--contract-levels FILE`` | ``CONTRACT_LEVELS`` | ``schemas/levels.json`` alone |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata

import pytest

#: Key of the in-process mock when none is given; the wrong-key test needs the mock to know one.
IN_PROCESS_KEY = "sk-c0ntract5u1te9f3a7c2e8b1d4f6a0c9e2b7d5f8a1c3e6b0d4f7a2"
LIVE_BUDGET = 40
HYPOTHESIS_PROFILES = ("mock", "live", "nightly")

#: Short option names other pytest plugins own: (option, distribution that defines it).
_TAKEN = {"--base-url": "pytest-base-url", "--profile": "pytest-profiling"}


def _installed(distribution: str) -> bool:
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "responses-contract", "contract suite for POST /v1/responses (pytest --pyargs contract_tests)"
    )

    def add(short: str | None, long: str, **kwargs: object) -> None:
        names = [long]
        if short and not (short in _TAKEN and _installed(_TAKEN[short])):
            names.insert(0, short)
        group.addoption(*names, **kwargs)

    add(
        "--base-url",
        "--contract-base-url",
        dest="contract_base_url",
        default=None,
        metavar="URL",
        help=(
            "live target, e.g. https://host/v1 (env CONTRACT_BASE_URL, then OPENAI_BASE_URL); "
            "default: the mock in-process"
        ),
    )
    add(
        "--api-key",
        "--contract-api-key",
        dest="contract_api_key",
        default=None,
        metavar="KEY",
        help="key for the target (env CONTRACT_API_KEY, then OPENAI_API_KEY; prefer the environment); never printed",
    )
    add(
        "--profile",
        "--contract-profile",
        dest="contract_profile",
        default=None,
        choices=("gateway", "openai"),
        help="the contract to check (env CONTRACT_PROFILE; default gateway)",
    )
    add(
        "--strict-openai",
        "--contract-strict-openai",
        dest="contract_strict_openai",
        action="store_true",
        help="fail on deviations from the openai profile instead of summarising them",
    )
    add(
        None,
        "--contract-budget",
        dest="contract_budget",
        type=int,
        default=None,
        metavar="N",
        help=(
            "at most N requests to the target, then the remaining tests are skipped "
            f"(env CONTRACT_BUDGET; default {LIVE_BUDGET} for a live target)"
        ),
    )
    add(
        None,
        "--contract-models",
        dest="contract_models",
        default=None,
        metavar="A,B",
        help="models to generate requests for (env CONTRACT_MODELS; default: GET /v1/models, else qwen3.6-plus)",
    )
    add(
        None,
        "--contract-hypothesis-profile",
        dest="contract_hypothesis_profile",
        default=None,
        choices=HYPOTHESIS_PROFILES,
        help=(
            "how many examples: mock (fast), live (few, no shrinking), nightly (thorough); "
            "default mock in-process, live over HTTP"
        ),
    )
    add(
        None,
        "--contract-levels",
        dest="contract_levels",
        default=None,
        metavar="FILE",
        help=(
            "a levels file (rule -> violation|observation, overrides per JSON path, known issues with an expiry "
            "date) merged over schemas/levels.json; env CONTRACT_LEVELS"
        ),
    )
    add(
        None,
        "--contract-app",
        dest="contract_app",
        default=None,
        metavar="MODULE:FACTORY",
        help="check this WSGI app (or app factory) in-process instead of the mock",
    )


@dataclass(frozen=True)
class ContractOptions:
    base_url: str | None
    api_key: str
    profile: str
    strict_openai: bool
    budget: int | None
    models: tuple[str, ...] | None
    hypothesis_profile: str
    app: str | None
    levels: str | None = None

    @property
    def live(self) -> bool:
        return self.base_url is not None

    def __repr__(self) -> str:  # never the key
        return (
            f"ContractOptions(base_url={self.base_url!r}, profile={self.profile!r}, "
            f"budget={self.budget}, models={self.models})"
        )

    @classmethod
    def from_config(cls, config: pytest.Config) -> ContractOptions:
        base_url = _first(
            config.getoption("contract_base_url"), _base_url_plugin(config), "CONTRACT_BASE_URL", "OPENAI_BASE_URL"
        )
        api_key = _first(config.getoption("contract_api_key"), None, "CONTRACT_API_KEY", "OPENAI_API_KEY")
        profile = _first(config.getoption("contract_profile"), None, "CONTRACT_PROFILE") or "gateway"
        if profile not in ("gateway", "openai"):
            raise pytest.UsageError(f"CONTRACT_PROFILE={profile!r}: expected gateway or openai")
        budget_text = config.getoption("contract_budget") or os.environ.get("CONTRACT_BUDGET")
        budget = int(budget_text) if budget_text not in (None, "") else (LIVE_BUDGET if base_url else None)
        models = _first(config.getoption("contract_models"), None, "CONTRACT_MODELS")
        hypothesis_profile = _first(
            config.getoption("contract_hypothesis_profile"), None, "CONTRACT_HYPOTHESIS_PROFILE"
        ) or ("live" if base_url else "mock")
        if hypothesis_profile not in HYPOTHESIS_PROFILES:
            raise pytest.UsageError(
                f"hypothesis profile {hypothesis_profile!r}: expected one of {', '.join(HYPOTHESIS_PROFILES)}"
            )
        if base_url and not api_key:
            raise pytest.UsageError("a live target needs a key: set CONTRACT_API_KEY (or OPENAI_API_KEY, or --api-key)")
        return cls(
            base_url=base_url.rstrip("/") if base_url else None,
            api_key=api_key or IN_PROCESS_KEY,
            profile=profile,
            strict_openai=bool(config.getoption("contract_strict_openai")),
            budget=budget,
            models=tuple(m.strip() for m in models.split(",") if m.strip()) if models else None,
            hypothesis_profile=f"contract-{hypothesis_profile}",
            app=config.getoption("contract_app"),
            levels=_first(config.getoption("contract_levels"), None, "CONTRACT_LEVELS"),
        )


def _first(option: str | None, other: str | None, *env: str) -> str | None:
    if option:
        return option
    if other:
        return other
    return next((os.environ[name] for name in env if os.environ.get(name)), None)


def _base_url_plugin(config: pytest.Config) -> str | None:
    """pytest-base-url's ``--base-url``, when that plugin owns the option."""
    try:
        return config.getoption("base_url")
    except ValueError:
        return None
