"""The pytest plugin: namespaced options, the ``mock_gateway`` fixtures, preflight, budget and summary.

Registered through the ``pytest11`` entry point, so it is loaded in every
pytest run of every project in an environment where the kit is installed.
It is a good guest there: its options are all ``--contract-*``, it offers
only the ``mock_gateway*`` fixtures (the suite's own ``contract`` and
``target`` live in ``contract_tests/conftest.py`` and apply to the suite's
modules alone), importing it imports nothing heavy and registers nothing
(no hypothesis profile), and its hooks do nothing unless the suite's own
tests were collected.

Fixtures:

- ``mock_gateway``: for users' own tests; routes the ``openai`` SDK's (and any
  httpx/httpx2 client's) calls for a base URL to the mock in-process, and sets
  ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` so that ``OpenAI()`` finds it.
  Override ``mock_gateway_base_url`` / ``mock_gateway_config`` to change the
  URL or the mock's configuration (``{"profile": "openai", "seed": 3}``).

A run of the suite against a live target starts with the preflight
(:mod:`contract_tests.preflight`): once per run, whatever the number of
pytest-xdist workers, before any test. When the target cannot be tested the
suite's tests are deselected, the summary gives the one message that names
the fix, and the run exits with :data:`~contract_tests.preflight.EXIT_UNUSABLE` (6).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .options import ContractOptions, add_options, report_files
from .run import SESSION, WORKER_INPUT, is_worker, named_run_folder, remove_run_folder, run_folder

#: The suite's own test modules (the folder as imported and as resolved): the preflight runs only
#: when one of them was collected.
SUITE_FOLDERS = tuple({str(Path(__file__).parent) + os.sep, str(Path(__file__).resolve().parent) + os.sep})


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """With ``--contract-html`` or ``--contract-markdown``, the process that starts the run writes them at its end."""
    html, markdown = report_files(config)
    if (html or markdown) and not is_worker(config):
        from .reporting import ReportWriter

        config.pluginmanager.register(ReportWriter(config, html, markdown), "responses-contract-report")


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


# --- one run, several processes: the shared folder, the preflight --------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist's controller, before a worker starts: tell it where the run's shared folder is."""
    node.workerinput[WORKER_INPUT] = str(run_folder(node.config))


def _in_suite(item: pytest.Item) -> bool:
    return str(item.path).startswith(SUITE_FOLDERS)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only tests that will run count
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Before the first test against a live target: the preflight; when it fails, no suite test runs."""
    suite = [item for item in items if _in_suite(item)]
    if not suite or config.option.collectonly:
        return
    options = ContractOptions.from_config(config)
    if not options.live:
        return
    from .budget import RequestBudget
    from .preflight import preflight_for_run

    folder = run_folder(config)
    verdict = preflight_for_run(folder, options, RequestBudget(folder, options.budget))
    if not verdict.ok:
        items[:] = [item for item in items if not _in_suite(item)]
        config.hook.pytest_deselected(items=suite)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The process that started the run exits with 6 when the preflight found the target unusable.

    A pytest-xdist worker that ran the suite hands its session's payload to the controller when a report is asked for.
    """
    if is_worker(session.config) and any(report_files(session.config)):
        from .reporting import worker_payload
        from .runreport import WORKER_OUTPUT

        payload = worker_payload(session.config)
        if payload is not None:
            session.config.workeroutput[WORKER_OUTPUT] = payload  # type: ignore[attr-defined]
    verdict = _failed_verdict(session.config)
    if verdict is not None:
        from .preflight import EXIT_UNUSABLE

        session.exitstatus = EXIT_UNUSABLE


def pytest_unconfigure(config: pytest.Config) -> None:
    remove_run_folder(config)


def _failed_verdict(config: pytest.Config) -> Any:
    folder = named_run_folder(config)
    if folder is None or is_worker(config):
        return None
    from .preflight import read_verdict

    verdict = read_verdict(folder)
    return verdict if verdict is not None and not verdict.ok else None


# --- reports: the key masked everywhere; the end-of-run summary ---------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Mask the key in every report (tracebacks with ``-l``, captured output, JUnit XML); mark the suite's own.

    The mark (an attribute pytest-xdist carries to the controller with the
    report) tells the HTML report which tests are the suite's checks.
    """
    report = yield
    if _in_suite(item):
        report.responses_contract = True
    session = item.config.stash.get(SESSION, None)
    secrets = session.target.secrets if session else ()
    if secrets:
        _mask_report(report, secrets)
    return report


def _mask_report(report: pytest.TestReport, secrets: tuple[str, ...]) -> None:
    from .reproduce import mask

    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2]), secrets))
    elif longrepr is not None:
        text = str(longrepr)
        if mask(text, secrets) != text:
            report.longrepr = mask(text, secrets)
    report.sections = [(title, mask(content, secrets)) for title, content in report.sections]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """What was checked and what it cost; or, when the preflight failed, the one message naming the fix."""
    session = config.stash.get(SESSION, None)
    lines: list[str] = []
    if session is not None:
        from .summary import summary_lines

        lines = summary_lines(session)
    elif not is_worker(config) and (folder := named_run_folder(config)) is not None:
        lines = _run_lines(config, folder)  # a pytest-xdist controller, or a run the preflight stopped
    if lines:
        terminalreporter.section("responses contract")
        for line in lines:
            terminalreporter.write_line(line)


def _run_lines(config: pytest.Config, folder: Path) -> list[str]:
    from .budget import read_state, spent_line
    from .preflight import EXIT_UNUSABLE, read_verdict

    verdict, state = read_verdict(folder), read_state(folder)
    if verdict is None and state is None:
        return []
    options = ContractOptions.from_config(config)
    lines = []
    if verdict is not None and not verdict.ok:
        lines += [
            f"the target is not usable, so no contract test ran (exit {EXIT_UNUSABLE}):",
            f"  {verdict.message}",
        ]
    else:
        where = options.base_url if options.live else f"in-process ({options.app or 'the mock'})"
        lines.append(f"target: {where}, {options.profile} profile")
    if state is not None:
        lines.append(spent_line(state))
    return lines
