"""The suite's own fixtures, ``contract`` and ``target``: for the test modules beside this file only.

They live here, not in the ``pytest11`` plugin, so that installing the kit
offers no fixture with a generic name to every project of the environment:
pytest applies a package's ``conftest.py`` to the tests in that package,
which is where ``pytest --pyargs contract_tests`` finds them.

- ``contract``: the :class:`~contract_tests.session.ContractSession` of the run
  (options, target, models, the helpers that turn findings into a report).
- ``target``: the :class:`~contract_tests.target.Target` under test (the mock
  in-process, another WSGI app with ``--contract-app``, or ``--contract-base-url`` over HTTP).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .run import SESSION
from .session import ContractSession, open_session
from .target import Target


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Iterator[ContractSession]:
    """The run's options, target and models; see :mod:`contract_tests.session`."""
    session = open_session(pytestconfig)
    pytestconfig.stash[SESSION] = session
    try:
        yield session
    finally:
        session.target.close()


@pytest.fixture(scope="session")
def target(contract: ContractSession) -> Target:
    """The server under test: ``.post``/``.get``/``.delete``/``.create`` return a ``Reply``."""
    return contract.target
