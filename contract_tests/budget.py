"""The request budget: one count for the whole run, however many pytest-xdist workers send.

Against a paid gateway the budget is a promise about money, so it cannot be
per process: with ``-n 2`` two counters of 20 would let 40 requests through.
The count lives in a small JSON file in the run's folder
(:mod:`contract_tests.run`), read and written under a file lock, so every
process spends from the same purse and the end-of-run summary reports what
all of them spent.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock


@dataclass(frozen=True)
class BudgetState:
    limit: int | None
    spent: int = 0
    #: Requests refused because the budget was spent (each skipped a test).
    refused: int = 0

    @property
    def reached(self) -> bool:
        return self.refused > 0


class RequestBudget:
    """At most ``limit`` requests (None: no limit, only counted) across every process using ``folder``."""

    FILE = "budget.json"

    def __init__(self, folder: Path, limit: int | None):
        folder.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self._path = folder / self.FILE
        self._lock = FileLock(str(folder / "budget.lock"))

    def spend(self) -> bool:
        """Count one request; False (and nothing counted but the refusal) when the budget is spent."""
        with self._lock:
            state = self._read()
            allowed = self.limit is None or state.spent < self.limit
            state = BudgetState(self.limit, state.spent + (1 if allowed else 0), state.refused + (0 if allowed else 1))
            write_json_atomically(self._path, state.__dict__)
        return allowed

    def state(self) -> BudgetState:
        with self._lock:
            return self._read()

    def _read(self) -> BudgetState:
        return read_state(self._path.parent) or BudgetState(self.limit)


def read_state(folder: Path) -> BudgetState | None:
    """What the run has spent so far, or None when nothing was ever counted in ``folder``."""
    try:
        data = json.loads((folder / RequestBudget.FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return BudgetState(data.get("limit"), int(data.get("spent", 0)), int(data.get("refused", 0)))


def spent_line(state: BudgetState) -> str:
    """``requests: 12 of a budget of 40``, and why tests were skipped when the budget ran out."""
    line = f"requests: {state.spent}"
    if state.limit is not None:
        line += f" of a budget of {state.limit}"
        if state.reached:
            line += (
                f": request budget of {state.limit} reached, the remaining tests were skipped (raise --contract-budget)"
            )
    return line


def write_json_atomically(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that a reader sees the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)
