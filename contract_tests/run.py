"""What the processes of one pytest run share: a temporary folder, found by pytest-xdist workers.

A run of the suite may be one process or a pytest-xdist controller with
workers. The request budget and the preflight's verdict must hold for the
whole run, so they live as files in one folder: the process that starts the
run (the controller, or the only process) names it, and hands the name to
each worker through xdist's ``workerinput``. Naming it creates nothing: the
folder appears when the suite first needs it and is removed when the
starting process ends, so a run of someone else's tests never touches disk.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

#: The key in xdist's ``workerinput`` that carries the folder's path to the workers.
WORKER_INPUT = "responses_contract_run_folder"
_FOLDER = pytest.StashKey[Path]()
#: The run's :class:`~contract_tests.session.ContractSession`, once the ``contract`` fixture has set it up.
SESSION = pytest.StashKey[Any]()


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def run_folder(config: pytest.Config) -> Path:
    """The run's shared folder (not created here): the controller's name for it, in every process."""
    if is_worker(config) and WORKER_INPUT in config.workerinput:  # type: ignore[attr-defined]
        return Path(config.workerinput[WORKER_INPUT])  # type: ignore[attr-defined]
    if _FOLDER not in config.stash:
        config.stash[_FOLDER] = Path(tempfile.gettempdir()) / f"responses-contract-{uuid.uuid4().hex}"
    return config.stash[_FOLDER]


def named_run_folder(config: pytest.Config) -> Path | None:
    """The run's folder if this process has named it or been given it; None otherwise (names nothing)."""
    if is_worker(config) and WORKER_INPUT in config.workerinput:  # type: ignore[attr-defined]
        return Path(config.workerinput[WORKER_INPUT])  # type: ignore[attr-defined]
    return config.stash.get(_FOLDER, None)


def remove_run_folder(config: pytest.Config) -> None:
    """Remove the folder at the end of the run, from the process that named it (never from a worker)."""
    folder = config.stash.get(_FOLDER, None)
    if folder is not None and not is_worker(config):
        shutil.rmtree(folder, ignore_errors=True)
