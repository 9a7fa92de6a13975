"""The suite's command-line options and environment variables, resolved once per run.

The plugin is loaded in every pytest run of an environment where the kit is
installed, so every option it adds is namespaced ``--contract-*``: a short
generic name (``--base-url``, ``--api-key``, ``--profile``) would collide
with a project's own ``conftest.py`` or with pytest-base-url and
pytest-profiling, and two definitions of one option make pytest refuse to start.

| option | environment | default |
| --- | --- | --- |
| ``--contract-base-url`` | ``CONTRACT_BASE_URL``, ``OPENAI_BASE_URL`` | the mock, in-process |
| ``--contract-api-key`` | ``CONTRACT_API_KEY``, ``OPENAI_API_KEY`` | a fixed key the in-process mock accepts |
| ``--contract-profile gateway|openai`` | ``CONTRACT_PROFILE`` | ``gateway`` |
| ``--contract-strict-openai`` | | off: OpenAI deviations are summarised, not failed |
| ``--contract-budget N`` | ``CONTRACT_BUDGET`` | 40 for a live target, none in-process |
| ``--contract-models a,b`` | ``CONTRACT_MODELS`` | what ``GET /v1/models`` lists, else ``qwen3.6-plus`` |
| ``--contract-hypothesis-profile mock|live|nightly`` | ``CONTRACT_HYPOTHESIS_PROFILE`` | live over HTTP, else mock |
| ``--contract-app module:factory`` | | ``mockserver:create_app`` |
| ``--contract-levels FILE`` | ``CONTRACT_LEVELS`` | ``schemas/levels.json`` alone |
| ``--contract-html FILE`` | ``CONTRACT_HTML`` | no HTML report |
| ``--contract-markdown FILE`` | ``CONTRACT_MARKDOWN`` | no Markdown summary |
| ``--contract-second-api-key`` | ``CONTRACT_SECOND_API_KEY`` | live: none (skipped); in-process: a fixed one |

A live target without a key is not an option error: the preflight
(:mod:`contract_tests.preflight`) reports it, with the other ways a target
can be unusable, in one message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

#: Key of the in-process mock when none is given; the wrong-key test needs the mock to know one.
IN_PROCESS_KEY = "sk-c0ntract5u1te9f3a7c2e8b1d4f6a0c9e2b7d5f8a1c3e6b0d4f7a2"
#: The in-process mock's second key, for the isolation check (a live target needs one given).
IN_PROCESS_SECOND_KEY = "sk-5ec0ndk3y4e1b9c7a2f5d8e0b3c6a9f2e5d8b1c4a7f0e3d6b9c2a5"
LIVE_BUDGET = 40
#: The model of the fixed requests when none is given and the target lists none.
DEFAULT_MODEL = "qwen3.6-plus"
HYPOTHESIS_PROFILES = ("mock", "live", "nightly")
PROFILES = ("gateway", "openai")
#: Where a live key may come from, in the order they are tried (the option first).
KEY_OPTION = "--contract-api-key"
KEY_VARIABLES = ("CONTRACT_API_KEY", "OPENAI_API_KEY")
#: Where a second key may come from: another customer's key, for the isolation check.
SECOND_KEY_OPTION = "--contract-second-api-key"
SECOND_KEY_VARIABLE = "CONTRACT_SECOND_API_KEY"
BASE_URL_OPTION = "--contract-base-url"
BASE_URL_VARIABLES = ("CONTRACT_BASE_URL", "OPENAI_BASE_URL")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "responses-contract", "contract suite for POST /v1/responses (pytest --pyargs contract_tests)"
    )
    group.addoption(
        BASE_URL_OPTION,
        dest="contract_base_url",
        default=None,
        metavar="URL",
        help=(
            "live target, e.g. https://host/v1 (env CONTRACT_BASE_URL, then OPENAI_BASE_URL); "
            "default: the mock in-process"
        ),
    )
    group.addoption(
        KEY_OPTION,
        dest="contract_api_key",
        default=None,
        metavar="KEY",
        help="key for the target (env CONTRACT_API_KEY, then OPENAI_API_KEY; prefer the environment); never printed",
    )
    group.addoption(
        SECOND_KEY_OPTION,
        dest="contract_second_api_key",
        default=None,
        metavar="KEY",
        help=(
            f"a second key for the target, ideally another customer's (env {SECOND_KEY_VARIABLE}; prefer the "
            "environment): the isolation check makes sure it cannot reach the first key's stored responses; "
            "never printed"
        ),
    )
    group.addoption(
        "--contract-profile",
        dest="contract_profile",
        default=None,
        choices=PROFILES,
        help="the contract to check (env CONTRACT_PROFILE; default gateway)",
    )
    group.addoption(
        "--contract-strict-openai",
        dest="contract_strict_openai",
        action="store_true",
        help="fail on deviations from the openai profile instead of summarising them",
    )
    group.addoption(
        "--contract-budget",
        dest="contract_budget",
        type=int,
        default=None,
        metavar="N",
        help=(
            "at most N requests to the target in the whole run (all pytest-xdist workers together), "
            f"then the remaining tests are skipped (env CONTRACT_BUDGET; default {LIVE_BUDGET} for a live target)"
        ),
    )
    group.addoption(
        "--contract-models",
        dest="contract_models",
        default=None,
        metavar="A,B",
        help="models to generate requests for (env CONTRACT_MODELS; default: GET /v1/models, else qwen3.6-plus)",
    )
    group.addoption(
        "--contract-hypothesis-profile",
        dest="contract_hypothesis_profile",
        default=None,
        choices=HYPOTHESIS_PROFILES,
        help=(
            "how many examples: mock (fast), live (few, no shrinking), nightly (thorough); "
            "default mock in-process, live over HTTP"
        ),
    )
    group.addoption(
        "--contract-app",
        dest="contract_app",
        default=None,
        metavar="MODULE:FACTORY",
        help="check this WSGI app (or app factory) in-process instead of the mock",
    )
    group.addoption(
        "--contract-levels",
        dest="contract_levels",
        default=None,
        metavar="FILE",
        help=(
            "a levels file (rule -> violation|observation, overrides per JSON path, known issues with an expiry "
            "date) merged over schemas/levels.json; env CONTRACT_LEVELS"
        ),
    )
    group.addoption(
        "--contract-html",
        dest="contract_html",
        default=None,
        metavar="FILE",
        help="write the run's report as one self-contained HTML file: checks, violations, coverage (env CONTRACT_HTML)",
    )
    group.addoption(
        "--contract-markdown",
        dest="contract_markdown",
        default=None,
        metavar="FILE",
        help="write the run's summary as Markdown, for a CI job summary (env CONTRACT_MARKDOWN)",
    )


def report_files(config: pytest.Config) -> tuple[str | None, str | None]:
    """Where to write the HTML report and the Markdown summary (option, else environment), each None: not asked."""
    html = _first(config.getoption("contract_html", None), "", ("CONTRACT_HTML",))[0]
    markdown = _first(config.getoption("contract_markdown", None), "", ("CONTRACT_MARKDOWN",))[0]
    return html, markdown


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
    #: What supplied the key (``--contract-api-key``, ``CONTRACT_API_KEY``, ``OPENAI_API_KEY``), None: nothing did.
    api_key_source: str | None = None
    #: What supplied the base URL (``--contract-base-url``, ``CONTRACT_BASE_URL``, ``OPENAI_BASE_URL``).
    base_url_source: str | None = None
    #: A levels file merged over ``schemas/levels.json`` (``--contract-levels``, ``CONTRACT_LEVELS``).
    levels: str | None = None
    #: A second key for the isolation check (``--contract-second-api-key``, ``CONTRACT_SECOND_API_KEY``);
    #: None: no isolation check (a live target given none).
    second_api_key: str | None = None

    @property
    def live(self) -> bool:
        return self.base_url is not None

    @property
    def key_variable(self) -> str:
        """The environment variable a pasted reproduction reads the key from."""
        return self.api_key_source if self.api_key_source in KEY_VARIABLES else KEY_VARIABLES[0]

    @property
    def second_key_variable(self) -> str:
        """The environment variable a pasted reproduction reads the second key from."""
        return SECOND_KEY_VARIABLE

    def __repr__(self) -> str:  # never the key
        return (
            f"ContractOptions(base_url={self.base_url!r}, profile={self.profile!r}, "
            f"budget={self.budget}, models={self.models})"
        )

    @classmethod
    def from_config(cls, config: pytest.Config) -> ContractOptions:
        base_url, base_url_source = _first(config.getoption("contract_base_url"), BASE_URL_OPTION, BASE_URL_VARIABLES)
        api_key, api_key_source = _first(config.getoption("contract_api_key"), KEY_OPTION, KEY_VARIABLES)
        profile = _first(config.getoption("contract_profile"), "", ("CONTRACT_PROFILE",))[0] or "gateway"
        if profile not in PROFILES:
            raise pytest.UsageError(f"CONTRACT_PROFILE={profile!r}: expected gateway or openai")
        budget_text = config.getoption("contract_budget")
        if budget_text is None:
            budget_text = os.environ.get("CONTRACT_BUDGET") or None
        try:
            budget = int(budget_text) if budget_text is not None else (LIVE_BUDGET if base_url else None)
        except ValueError:
            raise pytest.UsageError(f"CONTRACT_BUDGET={budget_text!r}: expected a number of requests") from None
        models = _first(config.getoption("contract_models"), "", ("CONTRACT_MODELS",))[0]
        hypothesis_profile = _first(
            config.getoption("contract_hypothesis_profile"), "", ("CONTRACT_HYPOTHESIS_PROFILE",)
        )[0] or ("live" if base_url else "mock")
        if hypothesis_profile not in HYPOTHESIS_PROFILES:
            raise pytest.UsageError(
                f"hypothesis profile {hypothesis_profile!r}: expected one of {', '.join(HYPOTHESIS_PROFILES)}"
            )
        live = bool(base_url)
        second_key = _first(config.getoption("contract_second_api_key"), SECOND_KEY_OPTION, (SECOND_KEY_VARIABLE,))[0]
        if not second_key and not live:
            second_key = IN_PROCESS_SECOND_KEY
        if second_key and second_key == (api_key or ("" if live else IN_PROCESS_KEY)):
            raise pytest.UsageError(
                f"{SECOND_KEY_OPTION} ({SECOND_KEY_VARIABLE}) is the first key: give a key of another customer "
                "or project, so that the isolation check can tell them apart"
            )
        return cls(
            base_url=base_url.rstrip("/") if base_url else None,
            api_key=api_key or ("" if live else IN_PROCESS_KEY),
            profile=profile,
            strict_openai=bool(config.getoption("contract_strict_openai")),
            budget=budget,
            models=tuple(m.strip() for m in models.split(",") if m.strip()) if models else None,
            hypothesis_profile=hypothesis_profile,
            app=config.getoption("contract_app"),
            api_key_source=api_key_source if api_key else None,
            base_url_source=base_url_source if base_url else None,
            levels=_first(config.getoption("contract_levels"), "", ("CONTRACT_LEVELS",))[0],
            second_api_key=second_key or None,
        )


def _first(option: str | None, option_name: str, variables: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The option's value, else the first environment variable set; with the name of what supplied it."""
    if option:
        return option, option_name
    for name in variables:
        if os.environ.get(name):
            return os.environ[name], name
    return None, None
