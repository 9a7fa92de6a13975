"""Records in one SQLite file: shared by every process on this machine that opens it.

Records are JSON text (``store.dump_record``), the same as in memory. The
store evicts oldest-first past ``max_items`` (an exact count, kept in the same
transaction as the insert), and holds named JSON values and counters (the
seed, key usage) next to the records, so that those are shared exactly when
the records are.

Schema (WAL mode, so readers never wait for the writer)::

    responses(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, record TEXT)  -- seq: insertion order
    conversations(...)                           -- the same, for conversation records
    meta(name TEXT PRIMARY KEY, n INTEGER)       -- 'count', 'count:conversations': rows (kept by triggers);
                                                 -- 'cap': the most records of one kind
    kv(name TEXT PRIMARY KEY, value TEXT)        -- named JSON values and counters
    lists(seq INTEGER PRIMARY KEY, name TEXT, value TEXT)  -- named lists, newest last (trimmed now and then)

One table per kind of record (``store.KINDS``), so each has its own ids and cap.

The writes of the request path (``put``, ``set_value``, ``incr``, ``delete``)
are one statement each, run in autocommit: SQLite takes its write lock and
lets it go inside that one call, in C, with Python's GIL released. A write
that needs several statements in a transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``) holds the lock across the Python code between them, and a thread
that waits there for its GIL (several threads per process) keeps every other
worker waiting. A writer that finds the lock taken tries again after short
pauses (``_patiently``). A ``put`` evicts past the cap in its table's insert trigger, which
reads the cap from ``meta`` (so processes that open one file share one cap:
the last one's).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .store import CONVERSATIONS, RESPONSES, Change, Record, dump_record, load_record
from .temporary import store_directory

T = TypeVar("T")

#: The table and the row counter of each kind of record (``store.KINDS``).
TABLES = {RESPONSES: ("responses", "count"), CONVERSATIONS: ("conversations", "count:conversations")}


class SQLiteStore:
    """Records in one SQLite file (WAL), shared by every process that opens it.

    Each thread of each process has its own connection (made on first use,
    and made again after a fork), so no connection ever crosses a thread or a
    process. A write of one statement runs in autocommit; ``update`` and
    ``clear`` take the lock up front (``BEGIN IMMEDIATE``). Either waits for
    the lock up to ``BUSY_TIMEOUT_MS`` (``_patiently``), so concurrent writers
    queue instead of failing.
    """

    shared = True
    BUSY_TIMEOUT_MS = 10_000
    #: A named list is trimmed to its newest values once every this many values added.
    TRIM_EVERY = 64

    def __init__(self, path: Path, max_items: int, *, owned_dir: Path | None = None):
        self.path = Path(path)
        self.max_items = max_items
        self._owned_dir = owned_dir  # a temporary directory this store made (removed by close_and_remove)
        self._local = threading.local()
        self._pid = os.getpid()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:  # create the schema once, up front (each statement of it may be run again)
            _patiently(lambda: conn.executescript(_SCHEMA), self.BUSY_TIMEOUT_MS)
            _patiently(
                lambda: conn.execute(
                    "INSERT INTO meta (name, n) VALUES ('cap', ?) ON CONFLICT(name) DO UPDATE SET n = excluded.n",
                    (max_items,),
                ),
                self.BUSY_TIMEOUT_MS,
            )
        finally:
            conn.close()

    @classmethod
    def temporary(cls, max_items: int) -> SQLiteStore:
        """A store in a fresh temporary directory (``temporary.py``: in memory where there is room),
        removed by ``close_and_remove``."""
        directory = store_directory()
        return cls(directory / "store.db", max_items, owned_dir=directory)

    @property
    def url(self) -> str:
        """The ``--store`` URL that opens this store again."""
        return f"sqlite:///{self.path}"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=True)
        conn.execute("PRAGMA busy_timeout=0")  # a busy lock is waited for by _patiently, not by SQLite
        try:
            _patiently(lambda: conn.execute("PRAGMA journal_mode=WAL"), self.BUSY_TIMEOUT_MS)
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes of the process
            conn.execute("PRAGMA recursive_triggers=ON")  # a replaced row counts out as a deleted one
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one statement (all read, so it has ended and let the lock go), waiting out a busy lock."""
        return _patiently(lambda: self._conn().execute(sql, params).fetchall(), self.BUSY_TIMEOUT_MS)

    def _write(self, statements: Any) -> Any:
        def transaction() -> Any:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = statements(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return _patiently(transaction, self.BUSY_TIMEOUT_MS)

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap.

        One statement: a re-put replaces the row (so it moves to the newest
        end), and the insert trigger counts it and evicts past the cap.
        """
        table = TABLES[kind][0]
        self._run(f"INSERT OR REPLACE INTO {table} (id, record) VALUES (?, ?)", (key, dump_record(record)))

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""
        table = TABLES[kind][0]
        rows = self._run(f"SELECT record FROM {table} WHERE id = ?", (key,))
        return load_record(rows[0][0]) if rows else None

    def update(self, key: str, change: Change, *, kind: str = RESPONSES) -> Record | None:
        """Apply ``change`` in one write transaction; the record afterwards, or None when there is none."""
        table = TABLES[kind][0]

        def statements(conn: sqlite3.Connection) -> Record | None:
            row = conn.execute(f"SELECT record FROM {table} WHERE id = ?", (key,)).fetchone()
            if row is None:
                return None
            changed = change(load_record(row[0]))
            if changed is None:
                return load_record(row[0])
            conn.execute(f"UPDATE {table} SET record = ? WHERE id = ?", (dump_record(changed), key))
            return changed

        return self._write(statements)

    def delete(self, key: str, *, kind: str = RESPONSES) -> bool:
        """Forget a record; whether there was one."""
        table = TABLES[kind][0]
        return bool(self._run(f"DELETE FROM {table} WHERE id = ? RETURNING id", (key,)))

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""
        table = TABLES[kind][0]
        return [row[0] for row in self._run(f"SELECT id FROM {table} ORDER BY seq")]

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""

        def statements(conn: sqlite3.Connection) -> None:
            for table, _ in TABLES.values():
                conn.execute(f"DELETE FROM {table}")

        self._write(statements)

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        rows = self._run("SELECT value FROM kv WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else default

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        self._run(
            "INSERT INTO kv (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, dump_record(value)),
        )

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count (one statement: the write and the read)."""
        rows = self._run(
            "INSERT INTO kv (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = CAST(value AS INTEGER) + ? RETURNING value",
            (name, str(amount), amount),
        )
        return int(rows[0][0])

    def push(self, name: str, value: Any, *, keep: int) -> None:
        """Add ``value`` as the newest of the named list: one statement, and every ``TRIM_EVERY``-th a trim.

        Reading takes the ``keep`` newest, so values older than those may wait
        for the next trim; they are never read back.
        """
        seq = self._run("INSERT INTO lists (name, value) VALUES (?, ?) RETURNING seq", (name, dump_record(value)))[0][0]
        if seq % self.TRIM_EVERY == 0:
            self._run(
                "DELETE FROM lists WHERE name = ? AND seq < "
                "(SELECT seq FROM lists WHERE name = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (name, name, max(keep - 1, 0)),
            )

    def newest(self, name: str, count: int) -> list[Any]:
        """Up to ``count`` of the named list's newest values, oldest first."""
        rows = self._run(
            "SELECT value FROM (SELECT seq, value FROM lists WHERE name = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            (name, max(count, 0)),
        )
        return [json.loads(row[0]) for row in rows]

    def drop_list(self, name: str) -> None:
        """Forget the named list."""
        self._run("DELETE FROM lists WHERE name = ?", (name,))

    def __len__(self) -> int:
        return int(self._run("SELECT n FROM meta WHERE name = 'count'")[0][0])

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close_and_remove(self) -> None:
        """Close, and delete the file if this store made it in a temporary directory."""
        self.close()
        if self._owned_dir is not None and os.getpid() == self._pid:
            import shutil

            shutil.rmtree(self._owned_dir, ignore_errors=True)


#: SQLite's result codes for a lock another connection holds (the low byte of extended codes).
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
#: The first and the longest pause between tries at a busy lock, in seconds.
FIRST_PAUSE, LONGEST_PAUSE = 0.00005, 0.002


def _patiently(work: Callable[[], T], timeout_ms: int) -> T:
    """``work()``, tried again while another connection holds the lock, for up to ``timeout_ms`` in all.

    Why not SQLite's own busy timeout: its handler sleeps 1, 2, 5, 10, 15,
    20 ... ms between tries, and under load two workers meet on the lock
    several times a second, each time for a lock held some 50 µs; so one
    request in a hundred waited tens of milliseconds (``--workers 2``: p99
    60 ms against 27 ms for one worker). Here the pauses start at 50 µs and
    double up to 2 ms. A statement that found the lock busy changed nothing,
    so trying it again is safe; a transaction is rolled back before it is.
    """
    deadline: float | None = None
    pause = FIRST_PAUSE
    while True:
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in _BUSY_CODES:
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + timeout_ms / 1000
            if now >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def _table_schema(table: str, counter: str) -> str:
    """One kind's table, its row counter in ``meta`` and the triggers that keep the counter and the cap."""
    return f"""
CREATE TABLE IF NOT EXISTS {table}
    (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL);
INSERT OR IGNORE INTO meta (name, n) VALUES ('{counter}', 0);
DROP TRIGGER IF EXISTS {table}_counted_in;
CREATE TRIGGER IF NOT EXISTS {table}_kept AFTER INSERT ON {table}
    BEGIN
        UPDATE meta SET n = n + 1 WHERE name = '{counter}';
        DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} ORDER BY seq LIMIT max(0,
            (SELECT n FROM meta WHERE name = '{counter}') - (SELECT n FROM meta WHERE name = 'cap')));
    END;
CREATE TRIGGER IF NOT EXISTS {table}_counted_out AFTER DELETE ON {table}
    BEGIN UPDATE meta SET n = n - 1 WHERE name = '{counter}'; END;
"""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lists (seq INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS lists_by_name ON lists (name, seq);
""" + "".join(_table_schema(table, counter) for table, counter in TABLES.values())
