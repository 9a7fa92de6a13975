"""The mutable state behind one app: store, key usage, seed, sources, recent requests.

Kept in ``app.extensions["mock"]`` so that views, the admin endpoints and
tests reach the same objects, and so that two apps in one process (a test
and a fixture) never share state: everything that remembers or draws at
random lives here, per app (the valid-request memo and the fault dice too).

The seed and the key counters live in the store (``Store.get_value``/``incr``):
with a store shared between worker processes (``--workers``, ``--store``),
setting the seed or resetting on one worker holds on all of them; so do the
last requests (``recent``, for ``/__mock__/requests`` and the inspector page)
when the store is shared (``recent.py``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app

from schemas.behaviour import Behaviour, behaviour

from ..config import MockConfig
from ..faultspec import NO_FAULTS, Faults
from .recent import RecentRequests
from .store import SEED_VALUE, Store, forget_fault_counts, read_seed

if TYPE_CHECKING:
    from ..http.auth import KeyChecker
    from ..sources import Source
    from ..sources.generator import GeneratorSource
    from ..upstream.verdicts import Verdicts


@dataclass
class MockState:
    """Everything one app remembers and consults while it serves."""

    config: MockConfig
    store: Store
    keys: KeyChecker
    #: The sources tried before the generator, in order (custom, scenarios, replay).
    sources: list[Source]
    #: The last source: answers everything (and resolves turns for input token counting and compaction).
    generator: GeneratorSource
    #: The ``--fault`` faults, parsed once.
    faults: Faults = NO_FAULTS
    #: The last API requests (in the store when it is shared, so every worker shows all of them).
    recent: RecentRequests = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Draws for ``--fault-rate`` and latency ranges.
    rng: random.Random = field(default_factory=random.Random)
    #: With ``--proxy-to``: the verdicts on proxied replies (``upstream/verdicts.py``).
    verdicts: Verdicts | None = None
    #: What log lines said once have said (``first_notice``).
    notices: set[tuple[str, ...]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.recent = RecentRequests(self.store)

    @property
    def behaviour(self) -> Behaviour:
        """The profile's behaviour (``schemas/profiles.json``)."""
        return behaviour(self.config.profile)

    @property
    def seed(self) -> int:
        """The reply seed, kept in the store so that every worker sharing it sees the same one."""
        return read_seed(self.store, self.config.seed)

    @seed.setter
    def seed(self, value: int) -> None:
        """Set the reply seed for every worker sharing the store."""
        self.store.set_value(SEED_VALUE, int(value))

    def all_sources(self) -> list[Source]:
        """The sources in the order they are asked: ``sources``, then the generator."""
        return [*self.sources, self.generator]

    def remember(self, entry: dict[str, Any]) -> None:
        """Keep one entry of ``/__mock__/requests``."""
        self.recent.add(entry)

    def first_notice(self, notice: tuple[str, ...]) -> bool:
        """Whether ``notice`` is said for the first time (then noted): a hint each later request would only repeat.

        Past ``NOTICE_LIMIT`` different ones, each is said every time rather than kept.
        """
        if notice in self.notices:
            return False
        if len(self.notices) < NOTICE_LIMIT:
            self.notices.add(notice)
        return True

    def reset(self) -> None:
        """Forget stored responses, key usage, fault and scenario counts, recent requests, notices; restore the seed."""
        self.store.clear()
        self.keys.reset()
        forget_fault_counts(self.store)
        for source in self.all_sources():
            source.reset()
        self.recent.clear()
        self.notices.clear()
        with self.lock:
            self.seed = self.config.seed


#: The most different notices a state keeps (``MockState.first_notice``).
NOTICE_LIMIT = 1024


def mock_state() -> MockState:
    """The state of the app handling the current request."""
    return current_app.extensions["mock"]
