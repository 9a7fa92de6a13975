"""The pytest plugin: options, hypothesis profiles, the ``target``/``contract`` fixtures, the summary.

Registered through the ``pytest11`` entry point, so it is loaded in every
pytest run of an environment where the kit is installed. It is inert unless
the suite runs (``pytest --pyargs contract_tests``): it adds options,
fixtures and named hypothesis profiles (never loaded globally), and its
hooks do nothing until the ``contract`` fixture has been set up.

Fixtures:

- ``contract``: the :class:`~contract_tests.session.ContractSession` of the run
  (options, target, models, the helpers that turn findings into a report).
- ``target``: the :class:`~contract_tests.target.Target` under test (the mock
  in-process, another WSGI app with ``--contract-app``, or ``--base-url`` over HTTP).
- ``mock_gateway``: for users' own tests; routes the ``openai`` SDK's (and any
  httpx/httpx2 client's) calls for a base URL to the mock in-process, and sets
  ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` so that ``OpenAI()`` finds it.
  Override ``mock_gateway_base_url`` / ``mock_gateway_config`` to change the
  URL or the mock's configuration (``{"profile": "openai", "seed": 3}``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from .options import ContractOptions, add_options
from .reproduce import mask
from .session import ContractSession, discover_models
from .target import Target

_QUIET = list(HealthCheck)
settings.register_profile(
    "contract-mock",
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    database=None,
    print_blob=False,
    suppress_health_check=_QUIET,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
)
settings.register_profile(
    "contract-live",
    max_examples=4,  # every example is a paid request, twice when it fails (the replay)
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=_QUIET,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each step would be another paid request
)
settings.register_profile(
    "contract-nightly",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=_QUIET,
)

_SESSION = pytest.StashKey[ContractSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Iterator[ContractSession]:
    """The run's options, target and models; see :mod:`contract_tests.session`."""
    options = ContractOptions.from_config(pytestconfig)
    target = _make_target(options)
    try:
        models = options.models or discover_models(target)
        session = ContractSession(options=options, target=target, models=models)
        pytestconfig.stash[_SESSION] = session
        yield session
    finally:
        target.close()


@pytest.fixture(scope="session")
def target(contract: ContractSession) -> Target:
    """The server under test: ``.post``/``.get``/``.delete``/``.create`` return a ``Reply``."""
    return contract.target


def _make_target(options: ContractOptions) -> Target:
    if options.live:
        return Target(base_url=options.base_url, api_key=options.api_key, budget=options.budget)
    return Target(app=_in_process_app(options), api_key=options.api_key, budget=options.budget)


def _in_process_app(options: ContractOptions) -> Any:
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
    # serve_stored_routes: the suite's stateful checks still retrieve stored responses in the gateway profile
    # (where the mock now answers them with the gateway's NoRoute 404 unless asked to serve them).
    offered = {
        "profile": options.profile,
        "api_keys": [options.api_key],
        "log_requests": False,
        "serve_stored_routes": True,
    }
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        offered = {k: v for k, v in offered.items() if k in parameters}
    return found(**offered)


# --- mock_gateway: the in-process mock for users' own tests -------------------------------------


@pytest.fixture
def mock_gateway_base_url() -> str:
    """The base URL the ``mock_gateway`` fixture intercepts; override to change it."""
    return "https://mock-gateway.invalid/v1"


@pytest.fixture
def mock_gateway_config() -> dict[str, Any]:
    """Keyword arguments for ``mockserver.create_app``; override for another profile, seed or keys."""
    return {}


@pytest.fixture
def mock_gateway(
    mock_gateway_base_url: str, mock_gateway_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """Route httpx and httpx2 calls for ``mock_gateway_base_url`` to a fresh in-process mock.

    No server, no sockets: ``OpenAI()`` and ``AsyncOpenAI()`` (openai 2.x
    and 3.x), plain ``httpx``/``httpx2`` clients, streaming included. Calls to
    any other URL raise instead of reaching the network. Yields a
    :class:`~contract_tests.respx_mock.MockGateway` (``.base_url``,
    ``.api_key``, ``.app``, ``.calls``).
    """
    from .respx_mock import route_to_mock

    with route_to_mock(mock_gateway_base_url, **mock_gateway_config) as gateway:
        monkeypatch.setenv("OPENAI_BASE_URL", gateway.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", gateway.api_key)
        yield gateway


# --- reports: the key masked everywhere; the end-of-run summary ---------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mask the key in every report (tracebacks with ``-l``, captured output, JUnit XML)."""
    report = yield
    session = item.config.stash.get(_SESSION, None)
    secrets = session.target.secrets if session else ()
    if secrets:
        _mask_report(report, secrets)
    return report


def _mask_report(report: pytest.TestReport, secrets: tuple[str, ...]) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2]), secrets))
    elif longrepr is not None:
        text = str(longrepr)
        if mask(text, secrets) != text:
            report.longrepr = mask(text, secrets)
    report.sections = [(title, mask(content, secrets)) for title, content in report.sections]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return
    from .summary import summary_lines

    terminalreporter.section("responses contract")
    for line in summary_lines(session):
        terminalreporter.write_line(line)
