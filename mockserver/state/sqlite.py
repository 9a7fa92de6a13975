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

One table per kind of record (``store.KINDS``), so each has its own ids and cap.

The writes of the request path (``put``, ``set_value``, ``incr``, ``delete``)
are one statement each, run in autocommit: SQLite takes its write lock and
lets it go inside that one call, in C, with Python's GIL released. A write
that needs several statements in a transaction (``BEGIN IMMEDIATE`` ...
``COMMIT``) holds the lock across the Python code between them, and a thread
that waits there for its GIL (several threads per process) keeps every other
worker waiting, each waiter sleeping in SQLite's busy handler (1, 2, 5, 10 ms
...). A ``put`` evicts past the cap in its table's insert trigger, which
reads the cap from ``meta`` (so processes that open one file share one cap:
the last one's).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from .store import CONVERSATIONS, RESPONSES, Change, Record, dump_record, load_record

#: The table and the row counter of each kind of record (``store.KINDS``).
TABLES = {RESPONSES: ("responses", "count"), CONVERSATIONS: ("conversations", "count:conversations")}


class SQLiteStore:
    """Records in one SQLite file (WAL), shared by every process that opens it.

    Each thread of each process has its own connection (made on first use,
    and made again after a fork), so no connection ever crosses a thread or a
    process. A write of one statement runs in autocommit; ``update`` and
    ``clear`` take the lock up front (``BEGIN IMMEDIATE``). Either waits for
    the lock up to ``busy_timeout``, so concurrent writers queue instead of
    failing.
    """

    shared = True
    BUSY_TIMEOUT_MS = 10_000

    def __init__(self, path: Path, max_items: int, *, owned_dir: Path | None = None):
        self.path = Path(path)
        self.max_items = max_items
        self._owned_dir = owned_dir  # a temporary directory this store made (removed by close_and_remove)
        self._local = threading.local()
        self._pid = os.getpid()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:  # create the schema once, up front
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT INTO meta (name, n) VALUES ('cap', ?) ON CONFLICT(name) DO UPDATE SET n = excluded.n",
                (max_items,),
            )

    @classmethod
    def temporary(cls, max_items: int) -> SQLiteStore:
        """A store in a fresh temporary directory, removed by ``close_and_remove``.

        In memory (``/dev/shm``) where there is room: a store on disk costs
        the workers half their throughput in page writes, though nothing of
        a temporary store outlives the server (measured: two workers sharing
        a file on disk served 930 requests/s, on ``/dev/shm`` 1,650, two
        memory stores that share nothing 1,380, in one run).
        """
        directory = Path(tempfile.mkdtemp(prefix="mockserver-store-", dir=_memory_dir()))
        return cls(directory / "store.db", max_items, owned_dir=directory)

    @property
    def url(self) -> str:
        """The ``--store`` URL that opens this store again."""
        return f"sqlite:///{self.path}"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=True
        )
        conn.execute(f"PRAGMA busy_timeout={self.BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across crashes of the process
        conn.execute("PRAGMA recursive_triggers=ON")  # a replaced row counts out as a deleted one
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, statements: Any) -> Any:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = statements(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap.

        One statement: a re-put replaces the row (so it moves to the newest
        end), and the insert trigger counts it and evicts past the cap.
        """
        table = TABLES[kind][0]
        self._conn().execute(f"INSERT OR REPLACE INTO {table} (id, record) VALUES (?, ?)", (key, dump_record(record)))

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""
        table = TABLES[kind][0]
        row = self._conn().execute(f"SELECT record FROM {table} WHERE id = ?", (key,)).fetchone()
        return None if row is None else load_record(row[0])

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
        return self._conn().execute(f"DELETE FROM {table} WHERE id = ?", (key,)).rowcount > 0

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""
        table = TABLES[kind][0]
        return [row[0] for row in self._conn().execute(f"SELECT id FROM {table} ORDER BY seq")]

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""

        def statements(conn: sqlite3.Connection) -> None:
            for table, _ in TABLES.values():
                conn.execute(f"DELETE FROM {table}")

        self._write(statements)

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        row = self._conn().execute("SELECT value FROM kv WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        self._conn().execute(
            "INSERT INTO kv (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, dump_record(value)),
        )

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count (one statement: the write and the read)."""
        rows = (
            self._conn()
            .execute(
                "INSERT INTO kv (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = CAST(value AS INTEGER) + ? RETURNING value",
                (name, str(amount), amount),
            )
            .fetchall()
        )  # all rows read: only then has the statement finished and let the lock go
        return int(rows[0][0])

    def __len__(self) -> int:
        return int(self._conn().execute("SELECT n FROM meta WHERE name = 'count'").fetchone()[0])

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


#: Room a temporary store wants in ``/dev/shm`` (a full store of 10,000 replies with its log is ~100 MiB).
MEMORY_DIR_ROOM = 512 * 1024 * 1024


def _memory_dir() -> str | None:
    """``/dev/shm`` when it is a writable directory with room (``MEMORY_DIR_ROOM``), else None (the system's)."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize < MEMORY_DIR_ROOM or not os.access("/dev/shm", os.W_OK | os.X_OK):
        return None
    return "/dev/shm"


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
""" + "".join(_table_schema(table, counter) for table, counter in TABLES.values())
