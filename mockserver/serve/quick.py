"""Which requests the server answers on its I/O thread: those that can never wait.

waitress reads a request on its I/O thread and hands it to a task thread to
run the app. Under the GIL that handoff, and the threads taking the GIL
from each other at every socket and SQLite call that follows, cost more than
the app itself: one worker spent about 880 µs of CPU a request, of which
the app in-process is about 300. Run on the I/O thread, with no other thread
involved, the same request cost about 490 µs (one worker 1,186 -> 2,039
requests/s, two workers 1,638 -> 2,442, in one run; bench/README.md, "Fourth
round").

A request that waits there would hold up every other connection of its
worker, so only requests that cannot wait are run there:

- the app is as ``create_app`` built it (no hook, route or middleware added
  since, when the server is made: code the mock cannot judge);
- it answers from the generator alone (no scenario, recording, proxy or
  source of your own, each of which may wait or call out);
- streams are not paced (``--stream-delay``, ``--ttft``, ``--tokens-per-second``);
- no fault is set for every request (``--fault``) and the request asks for
  none (``X-Mock-Fault``: a fault's latency and first-byte wait sleep);
- the store answers without the network (memory, LMDB or SQLite; a Redis
  round trip would hold the thread).

Every other request goes to the task threads, as before. What waitress
checks before either (size limits, timeouts, malformed HTTP) is the same
for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import faultspec
from ..config import MockConfig
from ..http.app import as_built
from ..state import MockState
from ..state.lmdb_store import LMDBStore
from ..state.sqlite import SQLiteStore
from ..state.store import MemoryStore

#: The fault header as waitress keys a request's headers (upper case, ``-`` as ``_``).
FAULT_HEADER = faultspec.HEADER.upper().replace("-", "_")

#: Given waitress's parsed request: whether it can be run on the I/O thread.
Quick = Callable[[Any], bool]


def quick_requests(app: Any) -> Quick | None:
    """For the mock's app, which requests never wait; None when some request might (or the app is not the mock)."""
    config = getattr(app, "config", {}).get("MOCK")
    state = getattr(app, "extensions", {}).get("mock")
    if not isinstance(config, MockConfig) or not isinstance(state, MockState):
        return None
    if app.extensions.get("mock_as_built") != as_built(app):  # changed since create_app: code it does not know
        return None
    return asks_no_fault if never_waits(config, state) else None


def never_waits(config: MockConfig, state: MockState) -> bool:
    """Whether nothing in the app sleeps or calls out, unless a request asks for a fault."""
    return (
        not state.sources
        and not config.stream_delay
        and not config.pacing.active
        and not config.faults
        and isinstance(state.store, (MemoryStore, SQLiteStore, LMDBStore))
    )


def asks_no_fault(request: Any) -> bool:
    """Whether waitress's parsed ``request`` has no ``X-Mock-Fault`` header (a fault may sleep)."""
    return FAULT_HEADER not in request.headers
