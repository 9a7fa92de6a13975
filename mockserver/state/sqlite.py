"""Records in one SQLite file: shared by every process on this machine that opens it.

Records are JSON text (``store.dump_record``), the same as in memory. The
store evicts oldest-first past ``max_items`` (an exact count, kept in the same
transaction as the insert), and holds named JSON values and counters (the
seed, key usage) next to the records, so that those are shared exactly when
the records are.

Schema (WAL mode, so readers never wait for the writer)::

    responses(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, record TEXT)  -- seq: insertion order
    meta(name TEXT PRIMARY KEY, n INTEGER)       -- 'count': rows in responses (kept by triggers)
    kv(name TEXT PRIMARY KEY, value TEXT)        -- named JSON values and counters
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from .store import Record, dump_record, load_record


class SQLiteStore:
    """Records in one SQLite file (WAL), shared by every process that opens it.

    Each thread of each process has its own connection (made on first use,
    and made again after a fork), so no connection ever crosses a thread or a
    process. Writes take the lock up front (``BEGIN IMMEDIATE``) and wait for
    it up to ``busy_timeout``, so concurrent writers queue instead of failing.
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

    @classmethod
    def temporary(cls, max_items: int) -> SQLiteStore:
        """A store in a fresh temporary directory, removed by ``close_and_remove``."""
        directory = Path(tempfile.mkdtemp(prefix="mockserver-store-"))
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
        conn.execute(
            "PRAGMA synchronous=NORMAL"
        )  # WAL + NORMAL: durable across crashes of the process, enough for a mock
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

    def put(self, response_id: str, record: Record) -> None:
        """Keep ``record`` under ``response_id`` (the newest), evicting the oldest past the cap."""
        text = dump_record(record)

        def statements(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM responses WHERE id = ?", (response_id,))  # a re-put moves to the newest end
            conn.execute("INSERT INTO responses (id, record) VALUES (?, ?)", (response_id, text))
            (count,) = conn.execute("SELECT n FROM meta WHERE name = 'count'").fetchone()
            if count > self.max_items:
                conn.execute(
                    "DELETE FROM responses WHERE seq IN (SELECT seq FROM responses ORDER BY seq LIMIT ?)",
                    (count - self.max_items,),
                )

        self._write(statements)

    def get(self, response_id: str) -> Record | None:
        """A fresh copy of the record, or None."""
        row = self._conn().execute("SELECT record FROM responses WHERE id = ?", (response_id,)).fetchone()
        return None if row is None else load_record(row[0])

    def delete(self, response_id: str) -> bool:
        """Forget a record; whether there was one."""
        return self._write(lambda conn: conn.execute("DELETE FROM responses WHERE id = ?", (response_id,)).rowcount > 0)

    def ids(self) -> list[str]:
        """Every stored id, oldest first."""
        return [row[0] for row in self._conn().execute("SELECT id FROM responses ORDER BY seq")]

    def clear(self) -> None:
        """Forget every record (named values stay)."""
        self._write(lambda conn: conn.execute("DELETE FROM responses"))

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        row = self._conn().execute("SELECT value FROM kv WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        text = json.dumps(value, ensure_ascii=False)
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO kv (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, text),
            )
        )

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count."""

        def statements(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO kv (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
                (name, str(amount), amount),
            )
            return int(conn.execute("SELECT value FROM kv WHERE name = ?", (name,)).fetchone()[0])

        return self._write(statements)

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


_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses
    (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (name, n) VALUES ('count', 0);
CREATE TRIGGER IF NOT EXISTS responses_counted_in AFTER INSERT ON responses
    BEGIN UPDATE meta SET n = n + 1 WHERE name = 'count'; END;
CREATE TRIGGER IF NOT EXISTS responses_counted_out AFTER DELETE ON responses
    BEGIN UPDATE meta SET n = n - 1 WHERE name = 'count'; END;
"""
