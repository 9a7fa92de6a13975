"""The mutable state behind one app: store, key counters, seed, recent requests.

Kept in ``app.extensions["mock"]`` so that views, the admin endpoints and
tests reach the same objects, and so that two apps in one process (a test
and a fixture) never share state.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from .auth import KeyChecker
from .config import MockConfig
from .store import MemoryStore, Store

#: A responder answers a create request before the generator does (scenarios,
#: replayed recordings). It returns None to pass, or a Flask response.
Responder = Callable[[dict[str, Any]], Any]


@dataclass
class MockState:
    config: MockConfig
    store: Store
    keys: KeyChecker
    seed: int
    responders: list[Responder] = field(default_factory=list)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_config(cls, config: MockConfig, store: Store | None = None) -> MockState:
        return cls(
            config=config,
            store=store if store is not None else MemoryStore(config.max_stored),
            keys=KeyChecker(config),
            seed=config.seed,
        )

    def remember(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.recent.append(entry)

    def reset(self) -> None:
        """Forget stored responses, key usage and recent requests; restore the configured seed."""
        self.store.clear()
        self.keys.reset()
        with self.lock:
            self.recent.clear()
            self.seed = self.config.seed


def mock_state() -> MockState:
    return current_app.extensions["mock"]
