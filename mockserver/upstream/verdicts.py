"""The verdicts on proxied replies: how many exchanges passed, how many broke the contract, and the latest findings.

The counts live in the store (``Store.incr``), so with ``--workers`` and a
shared store ``/__mock__/health`` counts every worker's exchanges; the list
of the latest findings (for the inspector page) is this process's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from schemas.findings import Finding

from ..state.store import Store

EXCHANGES = "proxy-exchanges"
VIOLATIONS = "proxy-violations"
OBSERVATIONS = "proxy-observations"


class Verdicts:
    """Counts of proxied exchanges and their findings; the last ``limit`` findings with what they were about."""

    def __init__(self, store: Store, limit: int = 200):
        self.store = store
        self._latest: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, what: str, request_id: str, findings: list[Finding]) -> None:
        """One judged exchange (``what``: method and path) and its levelled findings."""
        self.store.incr(EXCHANGES)
        for finding in findings:
            self.store.incr(VIOLATIONS if finding.fails else OBSERVATIONS)
        entries = [
            {
                "at": round(time.time(), 3),
                "what": what,
                "request_id": request_id,
                "rule": finding.rule,
                "path": finding.path,
                "level": finding.level,
                "message": finding.message,
            }
            for finding in findings
        ]
        with self._lock:
            self._latest.extend(entries)

    def counts(self) -> dict[str, int]:
        """``exchanges`` judged, ``violations`` and ``observations`` found (across workers sharing the store)."""
        return {
            "exchanges": int(self.store.get_value(EXCHANGES, 0)),
            "violations": int(self.store.get_value(VIOLATIONS, 0)),
            "observations": int(self.store.get_value(OBSERVATIONS, 0)),
        }

    def latest(self) -> list[dict[str, Any]]:
        """The latest findings, newest first."""
        with self._lock:
            return list(reversed(self._latest))

    def reset(self) -> None:
        """Forget the counts and the findings (``POST /__mock__/reset``)."""
        for name in (EXCHANGES, VIOLATIONS, OBSERVATIONS):
            self.store.set_value(name, 0)
        with self._lock:
            self._latest.clear()
