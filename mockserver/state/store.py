"""Stored records: responses (what ``GET``/``DELETE /v1/responses/{id}``,
``previous_response_id``, cancel and stream resume read) and conversations
(the Conversations API), plus a few shared values (seed, key usage).

Records come in kinds (``RESPONSES``, ``CONVERSATIONS``), each with its own
ids and its own cap. A response record is a plain JSON-able dict
``{"response", "input_items", "conversation", ...}`` (``records.py`` says
what it holds); a conversation record ``{"conversation", "items"}``.
``update`` changes one record atomically (read, change, write in one step,
also between worker processes), so a cancel or a conversation's new items
are never lost to a concurrent writer. Every store keeps records as JSON text, so the in-memory
store behaves exactly like the ones shared between processes (``lmdb_store.py``, ``sqlite.py``,
``redis_store.py``: LMDB, SQLite, Redis): ``get`` returns a fresh copy, and a record that is not JSON
fails in every test, not only with ``--workers``. JSON text also keeps a full
store cheap: one string per record instead of hundreds of objects, so memory
stays small and the garbage collector has nothing to walk (a store of 10,000
records as dicts cost ~70 ms pauses per full collection).

Stores evict the oldest records past their cap, so a mock left running for
days stays bounded. Besides records, a store holds named values (JSON) and
counters: the seed and key usage live there so that they are shared whenever
the store is.

``open_store(url, max_items)`` picks one from a URL:

- ``memory://`` : this process only (``MemoryStore``), the default with one worker;
- ``lmdb:///path/to/directory`` (or ``lmdb:///:temp:``, a fresh temporary
  one): every process on this machine that opens the same directory shares
  it (``lmdb_store.py``); the default with ``--workers N`` > 1 is a temporary one;
- ``sqlite:///path/to/file.db`` (or ``sqlite:///:temp:``): the same, in one
  SQLite file, which other tools can open (``sqlite.py``);
- ``redis://host:port/db`` (``?prefix=NAME`` to share one Redis between mocks):
  every machine that reaches the Redis shares it (``redis_store.py``).
"""

from __future__ import annotations

import collections
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from ..config import ConfigError
from ..jsontext import dumps_compact

Record = dict[str, Any]
#: Changes a record: the record to write instead, or None to leave it as it is (``Store.update``).
Change = Callable[[Record], Record | None]

#: The kinds of record a store keeps, each with its own ids and cap.
RESPONSES = "responses"
CONVERSATIONS = "conversations"
KINDS = (RESPONSES, CONVERSATIONS)


class Store(Protocol):
    """What the mock needs from a store: records by kind and id, named values and counters."""

    #: Whether other processes that open the same URL see the same records (several workers need it).
    shared: bool

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap."""

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""

    def update(self, key: str, change: Change, *, kind: str = RESPONSES) -> Record | None:
        """Apply ``change`` to the record atomically; the record as it is afterwards, or None when there is none.

        An exception raised by ``change`` leaves the record as it was and propagates.
        """

    def delete(self, key: str, *, kind: str = RESPONSES) -> bool:
        """Forget a record; whether there was one."""

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""

    # Named values, shared like the records (seed, key usage, scenario state).
    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count."""

    # Named lists of JSON values, newest last (the recent requests): one write per value added.
    def push(self, name: str, value: Any, *, keep: int) -> None:
        """Add ``value`` as the newest of the named list; at most the ``keep`` newest are read back."""

    def newest(self, name: str, count: int) -> list[Any]:
        """Up to ``count`` of the named list's newest values, oldest first."""

    def drop_list(self, name: str) -> None:
        """Forget the named list."""

    def __len__(self) -> int:
        """How many responses are stored."""

    def close(self) -> None:
        """Close what this process holds open (before a fork, and when the server stops)."""


def dump_record(record: Record) -> str:
    """A record as the JSON text every store keeps (compact, UTF-8 as is: ``jsontext``)."""
    return dumps_compact(record).decode("utf-8")


def load_record(text: str | bytes) -> Record:
    """A record back from its JSON text (a fresh copy each time)."""
    return json.loads(text)


class MemoryStore:
    """A thread-safe store in this process, oldest-first eviction past ``max_items`` (per kind)."""

    shared = False

    def __init__(self, max_items: int):
        self.max_items = max_items
        self._records: dict[str, OrderedDict[str, str]] = {kind: OrderedDict() for kind in KINDS}
        self._values: dict[str, str] = {}
        self._lists: dict[str, collections.deque[str]] = {}
        self._lock = threading.Lock()

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap."""
        text = dump_record(record)
        records = self._records[kind]
        with self._lock:
            records[key] = text
            records.move_to_end(key)
            while len(records) > self.max_items:
                records.popitem(last=False)

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""
        with self._lock:
            text = self._records[kind].get(key)
        return None if text is None else load_record(text)

    def update(self, key: str, change: Change, *, kind: str = RESPONSES) -> Record | None:
        """Apply ``change`` to the record under the lock; the record afterwards, or None when there is none."""
        records = self._records[kind]
        with self._lock:
            text = records.get(key)
            if text is None:
                return None
            record = load_record(text)
            changed = change(record)
            if changed is None:
                return load_record(text)
            records[key] = dump_record(changed)
            return changed

    def delete(self, key: str, *, kind: str = RESPONSES) -> bool:
        """Forget a record; whether there was one."""
        with self._lock:
            return self._records[kind].pop(key, None) is not None

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""
        with self._lock:
            return list(self._records[kind])

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""
        with self._lock:
            for records in self._records.values():
                records.clear()

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        text = self._values.get(name)
        return default if text is None else json.loads(text)

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        text = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._values[name] = text

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count."""
        with self._lock:
            value = int(json.loads(self._values.get(name, "0"))) + amount
            self._values[name] = str(value)
            return value

    def push(self, name: str, value: Any, *, keep: int) -> None:
        """Add ``value`` as the newest of the named list, keeping the ``keep`` newest."""
        with self._lock:
            values = self._lists.setdefault(name, collections.deque())
            values.append(json.dumps(value, ensure_ascii=False))
            while len(values) > keep:
                values.popleft()

    def newest(self, name: str, count: int) -> list[Any]:
        """Up to ``count`` of the named list's newest values, oldest first."""
        with self._lock:
            texts = list(self._lists.get(name, ()))[-count:] if count > 0 else []
        return [json.loads(text) for text in texts]

    def drop_list(self, name: str) -> None:
        """Forget the named list."""
        with self._lock:
            self._lists.pop(name, None)

    def __len__(self) -> int:
        return len(self._records[RESPONSES])

    def close(self) -> None:
        """Nothing to close: the records live in this process."""


#: The name of the reply seed among a store's values.
SEED_VALUE = "seed"


def read_seed(store: Store, default: int) -> int:
    """The reply seed in ``store`` (``default``, the configured one, until something sets it)."""
    return int(store.get_value(SEED_VALUE, default))


#: The store counter that fault ``times=N`` counts are kept under; a reset bumps it, which starts them all again.
FAULT_GENERATION = "fault-generation"


def forget_fault_counts(store: Store) -> None:
    """Start every fault ``times=N`` count again (an admin reset)."""
    store.incr(FAULT_GENERATION)


class StoreURLError(ConfigError):
    """A ``--store`` URL that names no usable store."""


def open_store(url: str | None, max_items: int) -> Store:
    """The store a URL names (see the module docstring); ``None`` is ``memory://``."""
    if not url or url == "memory://":
        return MemoryStore(max_items)
    parts = urlsplit(url)
    if parts.scheme in ("sqlite", "lmdb"):
        return _local_store(url, parts.scheme, parts.netloc, unquote(parts.path), max_items)
    if parts.scheme in ("redis", "rediss", "unix"):
        from .redis_store import RedisStore

        prefix = parse_qs(parts.query).get("prefix", ["mockserver"])[0]
        return RedisStore(url, max_items, prefix=prefix)
    raise StoreURLError(f"{url!r}: expected memory://, lmdb:///path, sqlite:///path.db or redis://host:port/db")


def _local_store(url: str, scheme: str, netloc: str, path: str, max_items: int) -> Store:
    """A store in a file or directory on this machine (``:temp:``: a fresh temporary one), or
    ``StoreURLError`` saying why it cannot be opened."""
    if scheme == "sqlite":
        import sqlite3

        from .sqlite import SQLiteStore as kind

        errors: tuple[type[Exception], ...] = (OSError, sqlite3.Error)
        shape = "a SQLite URL has three slashes and a path: sqlite:///path/to/file.db"
    else:
        import lmdb

        from .lmdb_store import LMDBStore as kind  # type: ignore[assignment]

        errors = (OSError, lmdb.Error)
        shape = "an LMDB URL has three slashes and a directory: lmdb:///path/to/store"
    if netloc:
        raise StoreURLError(f"{url!r}: {shape}")
    try:
        if path in ("", "/", "/:temp:"):
            return kind.temporary(max_items)
        return kind(Path(path), max_items)
    except errors as exc:
        raise StoreURLError(f"{url!r}: cannot open the store: {exc}") from None
