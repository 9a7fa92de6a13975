"""The last API requests, for ``/__mock__/requests`` and the inspector page (``GET /__mock__/``).

With one process and its own memory store they are a bounded deque here.
With a store that other processes share (``--workers N``, ``--store
lmdb://...``, ``sqlite://...`` or ``redis://...``) they are the store's named list
``recent-requests``, so the page any worker renders shows every worker's
requests: one write per request (``Store.push``).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .store import Store

#: The store's named list of recent requests.
LIST = "recent-requests"


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
        self.store.push(LIST, entry, keep=self.limit)

    def latest(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` of the newest entries, oldest first."""
        limit = min(limit or self.limit, self.limit)
        if not self.shared:
            with self._lock:
                return list(self._local)[-limit:]
        return self.store.newest(LIST, limit)

    def clear(self) -> None:
        """Forget every entry (an admin reset)."""
        with self._lock:
            self._local.clear()
        if self.shared:
            self.store.drop_list(LIST)
