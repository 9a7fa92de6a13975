"""Stored responses: what ``GET``/``DELETE /v1/responses/{id}`` and
``previous_response_id`` read.

A record is a plain JSON-able dict ``{"response", "input_items",
"conversation"}``, so a store shared between processes (``stores.py``) can
keep the same thing. The in-memory store evicts the oldest records past its
cap, so a mock left running for days stays bounded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Protocol

Record = dict[str, Any]


class Store(Protocol):
    """What the routes need from a store."""

    def put(self, response_id: str, record: Record) -> None: ...
    def get(self, response_id: str) -> Record | None: ...
    def delete(self, response_id: str) -> bool: ...
    def ids(self) -> list[str]: ...
    def clear(self) -> None: ...


class MemoryStore:
    """A thread-safe store in this process, oldest-first eviction past ``max_items``."""

    def __init__(self, max_items: int):
        self.max_items = max_items
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, response_id: str, record: Record) -> None:
        with self._lock:
            self._records[response_id] = record
            self._records.move_to_end(response_id)
            while len(self._records) > self.max_items:
                self._records.popitem(last=False)

    def get(self, response_id: str) -> Record | None:
        with self._lock:
            return self._records.get(response_id)

    def delete(self, response_id: str) -> bool:
        with self._lock:
            return self._records.pop(response_id, None) is not None

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
