"""The last API requests, for ``/__mock__/requests`` and the inspector page (``GET /__mock__/``).

With one process and its own memory store they are a bounded deque here.
With a store that other processes share (``--workers N``, ``--store
sqlite://...`` or ``redis://...``) they live in the store as a ring of
named values, so the page any worker renders shows every worker's requests::

    recent-seq      counter: the number of the newest entry (incremented per request)
    recent-floor    value:   entries up to this number were forgotten (an admin reset)
    recent:<n>      value:   entry number seq, in slot n = seq % limit (a newer one overwrites it)

Two writes per request (the counter and the slot), and no lock held across
them: a reader skips a slot that a newer entry has taken over, or that has
not been written yet.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .store import Store

SEQ = "recent-seq"
FLOOR = "recent-floor"


def slot_name(number: int, limit: int) -> str:
    """The named value that holds entry ``number`` of a ring of ``limit`` slots."""
    return f"recent:{number % limit}"


class RecentRequests:
    """The last ``limit`` API requests: in this process, or in ``store`` when the store is shared."""

    def __init__(self, store: Store, limit: int = 200):
        self.store = store
        self.limit = limit
        self.shared = bool(getattr(store, "shared", False))
        self._local: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        """Keep ``entry`` as the newest."""
        if not self.shared:
            with self._lock:
                self._local.append(entry)
            return
        number = self.store.incr(SEQ)
        self.store.set_value(slot_name(number, self.limit), {"seq": number, "entry": entry})

    def latest(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` of the newest entries, oldest first."""
        limit = min(limit or self.limit, self.limit)
        if not self.shared:
            with self._lock:
                return list(self._local)[-limit:]
        newest = int(self.store.get_value(SEQ, 0))
        oldest = max(int(self.store.get_value(FLOOR, 0)), newest - limit) + 1
        entries = []
        for number in range(oldest, newest + 1):
            held = self.store.get_value(slot_name(number, self.limit))
            if isinstance(held, dict) and held.get("seq") == number:
                entries.append(held["entry"])
        return entries

    def clear(self) -> None:
        """Forget every entry (an admin reset)."""
        with self._lock:
            self._local.clear()
        if self.shared:
            self.store.set_value(FLOOR, int(self.store.get_value(SEQ, 0)))
