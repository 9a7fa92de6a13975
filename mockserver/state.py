"""The mutable state behind one app: store, key counters, seed, recent requests.

Kept in ``app.extensions["mock"]`` so that views, the admin endpoints and
tests reach the same objects, and so that two apps in one process (a test
and a fixture) never share state.

The seed and the key counters live in the store (``Store.get_value``/``incr``):
with a store shared between worker processes (``--workers``, ``--store``),
setting the seed or resetting on one worker holds on all of them. Only
``recent`` (the last requests, for the admin view) is per process.
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
from .faults import NO_FAULTS, Faults, forget_counts, parse_all
from .store import Store

#: A responder answers a create request before the generator does (scenarios,
#: replayed recordings). It returns None to pass, or a Flask response.
Responder = Callable[[dict[str, Any]], Any]


#: The name of the seed among the store's values.
SEED_VALUE = "seed"


@dataclass
class MockState:
    config: MockConfig
    store: Store
    keys: KeyChecker
    responders: list[Responder] = field(default_factory=list)
    #: The ``--fault`` faults, parsed once.
    faults: Faults = NO_FAULTS
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def seed(self) -> int:
        """The reply seed, kept in the store so that every worker sharing it sees the same one."""
        return int(self.store.get_value(SEED_VALUE, self.config.seed))

    @seed.setter
    def seed(self, value: int) -> None:
        self.store.set_value(SEED_VALUE, int(value))

    @classmethod
    def for_config(cls, config: MockConfig, store: Store | None = None) -> MockState:
        if store is None:
            from .stores import open_store

            default = "sqlite:///:temp:" if config.workers > 1 else None
            store = open_store(config.store_url or default, config.max_stored)
        state = cls(config=config, store=store, keys=KeyChecker(config, store), faults=parse_all(config.faults))
        state.seed = config.seed  # this run's --seed, not one a persistent store kept from an earlier run
        forget_counts(store)  # and this run's times=N fault counts
        return state

    def remember(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.recent.append(entry)

    def reset(self) -> None:
        """Forget stored responses, key usage, scenario counts and recent requests; restore the configured seed."""
        self.store.clear()
        self.keys.reset()
        forget_counts(self.store)
        for responder in self.responders:
            if hasattr(responder, "reset"):
                responder.reset(self.store)
        with self.lock:
            self.recent.clear()
            self.seed = self.config.seed


def mock_state() -> MockState:
    return current_app.extensions["mock"]
