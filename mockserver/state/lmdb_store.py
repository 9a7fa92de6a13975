"""Records in one LMDB environment (a memory-mapped B+tree), shared by every process on this machine that opens it.

Why LMDB next to SQLite: what the workers share on every request (the
seed's read, the reply's record, the recent-requests entry) cost them about
90 µs a request through SQLite's WAL, most of it system calls (per request
some 19 page reads, 22 page writes and 14 lock calls: every commit of one
worker empties the other's page cache). LMDB reads through its memory map
without a system call and takes its write lock as a process-shared mutex:
the same three operations cost about 25 µs (2, 14 and 7 µs in a temporary
store; measured: ``bench/README.md``, "Fifth round").
It is the default store of ``--workers N`` (a temporary one); SQLite stays
for a store file a person keeps and opens with other tools.

Layout: named databases in one environment (a directory)::

    responses        seq (8 bytes, big-endian) -> id, NUL, record JSON   -- insertion order, oldest first
    responses-ids    id -> seq                                           -- where a record is
    conversations, conversations-ids                                     -- the same, for conversations
    meta             b"cap" -> the most records of one kind (the last opener's, as with SQLite)
    values           name -> JSON text                                   -- named values and counters

and the named lists (the recent requests) in ``lists/N``, one environment
per process that writes to them (its part)::

    lists            name, NUL, time added (ns, 8 bytes) -> JSON text    -- newest last

LMDB lets one writer in at a time per environment, and every request adds
a recent-requests entry: in the one environment, two workers' entries and
records waited for each other's writer lock, and each wait is a sleep and a
wake-up in the system. A part of its own spares a process that (two
workers under load: 3,524 -> 3,684 requests/s; bench/README.md, "Seventh
round"). A process holds its part while it lives (``_claimed_part``);
reading takes the newest values of every part, in the order they were
added.

Records are keyed by their insertion number, not their id: a new record
goes at the right edge of the tree and eviction takes the left edge, so a
worker's memory map touches a few pages per write instead of one page of
each of thousands of records (the pages a process has read count in its
resident memory).

Every call is one transaction. LMDB lets one writer in at a time (readers
never wait); a write transaction holds that lock only for the few
microseconds of its own calls, except ``update``, which also runs the
caller's ``change`` inside it (that is what makes it atomic).

Writes are not flushed to disk at each commit (``sync=False``): a named
store survives the mock's crashes and restarts whole, and a crash of the
machine may undo its last writes, as with SQLite's ``synchronous=NORMAL``.
A temporary store (``--workers N``'s default), which nothing needs after
the server, is written through the map itself (``writemap``: a put in half
the time, no write system calls), and its map is sized to 90% of the room
its filesystem has when it is made, so a store that outgrows it gets
LMDB's "map full" error, not the fault a write past a full filesystem
would be.

LMDB allows one environment per file in a process, so the stores of one
process that open the same directory share it (``_environment``), and a
forked child opens its own (an environment does not survive a fork).

Resident memory: every page of the map a process has read counts in its
resident size until the process lets go of it, though the pages are the
store file's, shared by every worker and held once by the system. Left
alone, each worker's resident size grew by the whole file (measured: 42
MiB of 89). So every ``RELEASE_EVERY`` calls a process drops its map's
page-table entries (``madvise(MADV_DONTNEED)``, on Linux): nothing in the
file changes, and the pages a later call reads are mapped again. Mapping
them again is the cost (a page fault each, dear on a virtual machine): with
two workers under load a release every 32 calls cost 523-528 µs of CPU a
request, every 128 calls 482 (bench/README.md, "Sixth round"), for a
worker's peak resident size of 51 against 57 MiB.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import shutil
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..jsontext import dumps_compact
from .store import CONVERSATIONS, RESPONSES, Change, Record, load_record
from .temporary import store_directory

#: The most a named store's file may grow to. Address space only: the
#: file grows as pages are written (a full store of 10,000 replies is
#: ~50 MiB), and a mapping this size costs nothing on a 64-bit system.
MAP_SIZE = 64 << 30
#: A temporary store's map: this share of its filesystem's room (``temporary``).
TEMPORARY_SHARE = 0.9

#: The named databases (``max_dbs``) and the records' two per kind.
TABLES = {RESPONSES: (b"responses", b"responses-ids"), CONVERSATIONS: (b"conversations", b"conversations-ids")}
_NAMES = (*(name for pair in TABLES.values() for name in pair), b"meta", b"values")
#: The one named database of a part of the named lists (``lists/N``).
_LIST_NAMES = (b"lists",)

#: Readers at once, over every process and thread (LMDB's default of 126 is short of 64 workers × 8 threads).
MAX_READERS = 1024

#: The folder (in the store's directory) of the named lists' parts, one environment per process.
LISTS = "lists"
#: The most one process's part of the named lists may grow to (address space: it is trimmed to its newest).
LISTS_MAP_SIZE = 256 << 20

#: A process lets go of the pages of the map it has read once every this many calls
#: (a call reads a few pages: about 6 MiB are held in between).
RELEASE_EVERY = 128

_SEQ = struct.Struct(">Q")
_CAP = b"cap"


class LMDBStore:
    """Records in one LMDB environment (a directory), shared by every process that opens it."""

    shared = True
    #: A named list is trimmed to its newest values once every this many values added.
    TRIM_EVERY = 64

    def __init__(self, path: Path, max_items: int, *, owned_dir: Path | None = None, map_size: int = MAP_SIZE):
        self.path = Path(path)
        self.max_items = max_items
        self._owned_dir = owned_dir  # a temporary directory this store made (removed by close_and_remove)
        self._map_size = map_size  # kept here, so that a forked worker maps the file as its parent did
        self._lists_map_size = min(map_size, LISTS_MAP_SIZE)
        self._pid = os.getpid()
        self.path.mkdir(parents=True, exist_ok=True)
        env, dbs = self._open()
        with env.begin(write=True) as txn:
            txn.put(_CAP, _SEQ.pack(max_items), db=dbs[b"meta"])

    @classmethod
    def temporary(cls, max_items: int) -> LMDBStore:
        """A store in a fresh temporary directory (in ``/dev/shm`` where there is room), removed by
        ``close_and_remove``."""
        directory = store_directory()
        room = os.statvfs(directory)
        map_size = min(MAP_SIZE, int(room.f_bavail * room.f_frsize * TEMPORARY_SHARE))
        return cls(directory / "store.lmdb", max_items, owned_dir=directory, map_size=map_size)

    @property
    def url(self) -> str:
        """The ``--store`` URL that opens this store again."""
        return f"lmdb:///{self.path}"

    def _open(self) -> tuple[Any, dict[bytes, Any]]:
        """This process's environment for the directory and its named databases."""
        opened = _environment(self.path, map_size=self._map_size, writemap=self._owned_dir is not None)
        opened.calls += 1
        if opened.calls % RELEASE_EVERY == 0:
            _release_mapped_pages(opened)
        return opened.env, opened.dbs

    # --- records -------------------------------------------------------------------------------

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap.

        A re-put moves the record to the newest end, as SQLite's replace does.
        A store whose map is full (a temporary one as large as its filesystem
        allowed) drops the oldest quarter of this kind to make room, as the
        cap would have, until the record fits or none is left to drop.
        """
        import lmdb

        ident = key.encode()
        value = ident + b"\0" + dumps_compact(record)
        while True:
            try:
                return self._put(ident, value, kind)
            except lmdb.MapFullError:
                if not self._drop_oldest_quarter(kind):
                    raise

    def _drop_oldest_quarter(self, kind: str) -> bool:
        """Evict the oldest quarter of a kind's records (at least one); whether there was any."""
        env, dbs = self._open()
        records, ids = (dbs[name] for name in TABLES[kind])
        with env.begin(write=True) as txn:
            count = txn.stat(records)["entries"]
            if count:
                _evict_oldest(txn, records, ids, max(1, count // 4))
        return bool(count)

    def _put(self, ident: bytes, value: bytes, kind: str) -> None:
        env, dbs = self._open()
        records, ids = (dbs[name] for name in TABLES[kind])
        with env.begin(write=True) as txn:
            old = txn.get(ident, db=ids)
            if old is not None:
                txn.delete(old, db=records)
            cursor = txn.cursor(db=records)
            seq = _SEQ.unpack(cursor.key())[0] + 1 if cursor.last() else 1
            packed = _SEQ.pack(seq)
            txn.put(packed, value, db=records, append=True)
            txn.put(ident, packed, db=ids)
            cap = _SEQ.unpack(txn.get(_CAP, db=dbs[b"meta"]))[0]
            excess = txn.stat(records)["entries"] - cap
            if excess > 0:
                _evict_oldest(txn, records, ids, excess)

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""
        env, dbs = self._open()
        records, ids = (dbs[name] for name in TABLES[kind])
        with env.begin() as txn:
            seq = txn.get(key.encode(), db=ids)
            value = None if seq is None else txn.get(seq, db=records)
        return None if value is None else load_record(_record_text(value))

    def update(self, key: str, change: Change, *, kind: str = RESPONSES) -> Record | None:
        """Apply ``change`` in one write transaction; the record afterwards, or None when there is none.

        The record keeps its place in the insertion order (as SQLite's ``UPDATE`` does).
        """
        env, dbs = self._open()
        records, ids = (dbs[name] for name in TABLES[kind])
        ident = key.encode()
        with env.begin(write=True) as txn:  # an exception in ``change`` aborts it: the record stays as it was
            seq = txn.get(ident, db=ids)
            value = None if seq is None else txn.get(seq, db=records)
            if value is None:
                return None
            changed = change(load_record(_record_text(value)))
            if changed is None:
                return load_record(_record_text(value))
            txn.put(seq, ident + b"\0" + dumps_compact(changed), db=records)
            return changed

    def delete(self, key: str, *, kind: str = RESPONSES) -> bool:
        """Forget a record; whether there was one."""
        env, dbs = self._open()
        records, ids = (dbs[name] for name in TABLES[kind])
        ident = key.encode()
        with env.begin(write=True) as txn:
            seq = txn.get(ident, db=ids)
            if seq is None:
                return False
            txn.delete(seq, db=records)
            txn.delete(ident, db=ids)
            return True

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""
        env, dbs = self._open()
        records = dbs[TABLES[kind][0]]
        with env.begin() as txn:
            values = txn.cursor(db=records).iternext(keys=False)
            return [_record_id(value).decode() for value in values]

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""
        env, dbs = self._open()
        with env.begin(write=True) as txn:
            for pair in TABLES.values():
                for name in pair:
                    txn.drop(dbs[name], delete=False)

    def __len__(self) -> int:
        env, dbs = self._open()
        with env.begin() as txn:
            return int(txn.stat(dbs[TABLES[RESPONSES][0]])["entries"])

    # --- named values and counters -------------------------------------------------------------

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        env, dbs = self._open()
        with env.begin() as txn:
            text = txn.get(name.encode(), db=dbs[b"values"])
        return default if text is None else load_record(text)

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        env, dbs = self._open()
        with env.begin(write=True) as txn:
            txn.put(name.encode(), dumps_compact(value), db=dbs[b"values"])

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count (the read and the write in one transaction)."""
        env, dbs = self._open()
        values = dbs[b"values"]
        with env.begin(write=True) as txn:
            text = txn.get(name.encode(), db=values)
            count = (0 if text is None else int(load_record(text))) + amount
            txn.put(name.encode(), str(count).encode(), db=values)
        return count

    # --- named lists ---------------------------------------------------------------------------

    def push(self, name: str, value: Any, *, keep: int) -> None:
        """Add ``value`` as the newest of the named list; every ``TRIM_EVERY``-th value of this process, a trim
        of this process's part of the list to ``keep``.

        Each process writes to an environment of its own (its part,
        ``lists/N``: ``_claimed_part``), so the one write every request makes
        never waits for another worker's writer lock. Reading takes the
        ``keep`` newest over every part, so values older than those may wait
        for the next trim; they are never read back.

        It still counts as a call of the store (``_open``): the store's pages
        are let go every ``RELEASE_EVERY`` calls, pushes included, as before
        the lists had parts. Not counted, they were let go every 64 requests
        instead of 43, and a worker's peak resident size grew by 3.5 MiB, past
        twice the baseline's (bench/README.md, "Seventh round").
        """
        self._open()
        lists = self._own_lists()
        prefix = name.encode() + b"\0"
        with lists.env.begin(write=True) as txn:
            cursor = txn.cursor(db=lists.dbs[b"lists"])
            newest = _newest_key(cursor, prefix)
            after = _SEQ.unpack(newest[len(prefix) :])[0] + 1 if newest is not None else 0
            txn.put(prefix + _SEQ.pack(max(time.time_ns(), after)), dumps_compact(value), db=lists.dbs[b"lists"])
            pushed = lists.pushed[prefix] = lists.pushed.get(prefix, 0) + 1
            if pushed % self.TRIM_EVERY == 0:
                _keep_newest(txn, lists.dbs[b"lists"], prefix, max(keep, 1))

    def newest(self, name: str, count: int) -> list[Any]:
        """Up to ``count`` of the named list's newest values over every process's part, oldest first."""
        if count <= 0:
            return []
        prefix = name.encode() + b"\0"
        found: list[tuple[bytes, str, bytes]] = []
        for part in self._list_parts():
            with part.env.begin() as txn:
                cursor = txn.cursor(db=part.dbs[b"lists"])
                if _newest_key(cursor, prefix) is None:
                    continue
                for key, text in itertools.islice(cursor.iterprev(), count):
                    if not key.startswith(prefix):
                        break
                    found.append((bytes(key[len(prefix) :]), part.data_file, bytes(text)))
        found.sort()  # by the time each value was added (then by part, for the same nanosecond)
        return [load_record(text) for _, _, text in found[-count:]]

    def drop_list(self, name: str) -> None:
        """Forget the named list (every process's part)."""
        prefix = name.encode() + b"\0"
        for part in self._list_parts():
            with part.env.begin(write=True) as txn:
                _drop_keys(txn, part.dbs[b"lists"], prefix, below=None)

    def _own_lists(self) -> _Opened:
        """This process's part of the named lists (``_claimed_part``)."""
        return self._list_part(_claimed_part(self.path / LISTS))

    def _list_parts(self) -> list[_Opened]:
        """Every part of the named lists, claimed now or before (the values of a process gone stay)."""
        try:
            folders = sorted(entry.path for entry in os.scandir(self.path / LISTS) if entry.name.isdigit())
        except FileNotFoundError:
            return []
        return [self._list_part(Path(folder)) for folder in folders]

    def _list_part(self, folder: Path) -> _Opened:
        """One part's environment, its map as the store's own (``writemap`` for a temporary store)."""
        writemap = self._owned_dir is not None
        return _environment(folder, map_size=self._lists_map_size, writemap=writemap, names=_LIST_NAMES)

    # --- the end -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close this process's environment for the directory (before a fork, and when the server stops).

        Every store of this process on the directory shares it; the next call of any of them opens it again.
        """
        _forget_environment(self.path)

    def close_and_remove(self) -> None:
        """Delete the directory if this store made it as a temporary one (in the process that made it)."""
        if self._owned_dir is not None and os.getpid() == self._pid:
            _forget_environment(self.path)
            _give_up_claim(self.path)
            shutil.rmtree(self._owned_dir, ignore_errors=True)


def _record_id(value: bytes) -> bytes:
    """The id from a ``responses`` value (id, NUL, JSON). The last NUL: JSON text never holds one raw,
    an id might."""
    return bytes(value[: bytes(value).rindex(b"\0")])


def _record_text(value: bytes) -> bytes:
    """The record's JSON from a ``responses`` value (id, NUL, JSON)."""
    return bytes(value).rpartition(b"\0")[2]


def _evict_oldest(txn: Any, records: Any, ids: Any, count: int) -> None:
    cursor = txn.cursor(db=records)
    cursor.first()
    for _ in range(count):
        value = cursor.value()
        txn.delete(_record_id(value), db=ids)
        if not cursor.delete():  # the cursor now stands on the next record
            break


def _newest_key(cursor: Any, prefix: bytes) -> bytes | None:
    """Place ``cursor`` on the newest key starting with ``prefix`` and return it, or None when there is none."""
    end = prefix[:-1] + b"\1"  # the first key after every ``prefix`` key (the prefix ends with NUL)
    placed = cursor.prev() if cursor.set_range(end) else cursor.last()
    if placed and cursor.key().startswith(prefix):
        return bytes(cursor.key())
    return None


def _keep_newest(txn: Any, db: Any, prefix: bytes, keep: int) -> None:
    """Delete the keys starting with ``prefix`` but the ``keep`` newest."""
    cursor = txn.cursor(db=db)
    if _newest_key(cursor, prefix) is None:
        return
    for _ in range(keep):
        if not cursor.prev() or not cursor.key().startswith(prefix):
            return  # ``keep`` or fewer: nothing to delete
    _drop_keys(txn, db, prefix, below=bytes(cursor.key()) + b"\0")


def _drop_keys(txn: Any, db: Any, prefix: bytes, *, below: bytes | None) -> None:
    """Delete the keys starting with ``prefix`` (only those below ``below``, when given)."""
    cursor = txn.cursor(db=db)
    if not cursor.set_range(prefix):
        return
    while cursor.key().startswith(prefix) and (below is None or cursor.key() < below):
        if not cursor.delete():
            break


# --- one environment per directory per process ------------------------------------------------


@dataclass
class _Opened:
    """An environment open in this process, its named databases, and the calls made through it."""

    env: Any
    dbs: dict[bytes, Any]
    data_file: str
    calls: int = 0  # counted without a lock: a lost count only moves the next release
    mapped: list[tuple[int, int]] | None = None  # the map's address ranges, found on the first release
    pushed: dict[bytes, int] = field(default_factory=dict)  # a list part's values added, by list: when to trim


_ENVIRONMENTS: dict[tuple[str, int], _Opened] = {}
_ENVIRONMENTS_LOCK = threading.Lock()


class _Process:
    """This process's id, kept up to date across forks: ``os.getpid()`` is a system call, and every store
    call asks for it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        os.register_at_fork(after_in_child=self.forked)

    def forked(self) -> None:
        self.pid = os.getpid()


_PROCESS = _Process()


def _environment(path: Path, *, map_size: int, writemap: bool, names: tuple[bytes, ...] = _NAMES) -> _Opened:
    """This process's environment for ``path`` and its named databases, opened on first use.

    LMDB must not open one file twice in a process, and an environment must
    not be used across a fork: so one per directory and process id.
    """
    key = (str(path), _PROCESS.pid)
    found = _ENVIRONMENTS.get(key)
    if found is not None:
        return found
    import lmdb

    with _ENVIRONMENTS_LOCK:
        found = _ENVIRONMENTS.get(key)
        if found is None:
            for inherited in [other for other in _ENVIRONMENTS if other[0] == key[0]]:  # from before a fork
                _ENVIRONMENTS.pop(inherited).env.close()  # py-lmdb refuses a second open of a path otherwise
            env = lmdb.open(
                str(path),
                map_size=map_size,
                max_dbs=len(names),
                max_readers=MAX_READERS,
                metasync=False,
                sync=False,
                writemap=writemap,
            )
            env.reader_check()  # reader slots left by a worker that was killed mid-read
            with env.begin(write=True) as txn:
                dbs = {name: env.open_db(name, txn=txn) for name in names}
            found = _ENVIRONMENTS[key] = _Opened(env, dbs, os.path.realpath(path / "data.mdb"))
    return found


#: This process's part of each store's named lists: (the lists folder, pid) -> (the part, the claim's descriptor).
_CLAIMED: dict[tuple[str, int], tuple[Path, int]] = {}
#: Parts tried before a process shares the first (each process alive holds one).
MAX_PARTS = 256


def _claimed_part(lists: Path) -> Path:
    """The part of the named lists this process writes to: the first no other living process holds.

    A process holds its part by an exclusive ``flock`` on the part's ``claim``
    file for as long as it lives; the system lets go of it when the process
    ends, however it ends, and the next process to start takes the part over
    with the values in it. So there are never more parts than processes that
    ran at once, and no two living processes write to the same one (where
    ``flock`` is missing, or every part is held, they share the first: as
    correct, only not spared each other's writer lock).
    """
    key = (str(lists), _PROCESS.pid)
    found = _CLAIMED.get(key)
    if found is not None:
        return found[0]
    with _ENVIRONMENTS_LOCK:
        found = _CLAIMED.get(key)
        if found is not None:
            return found[0]
        for inherited in [other for other in _CLAIMED if other[0] == key[0]]:  # the parent's, from before a fork
            os.close(_CLAIMED.pop(inherited)[1])  # the parent still holds its claim through its own descriptor
        try:
            import fcntl
        except ImportError:
            return lists / "0"
        for number in range(MAX_PARTS):
            part = lists / str(number)
            part.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(part / "claim", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(descriptor)
                continue
            _CLAIMED[key] = (part, descriptor)
            return part
    return lists / "0"


def _forget_environment(path: Path) -> None:
    """Close this process's environments for the store in ``path``: its own and its named lists' parts."""
    lists = str(path / LISTS) + os.sep
    with _ENVIRONMENTS_LOCK:
        keys = [
            key for key in _ENVIRONMENTS if key[1] == _PROCESS.pid and (key[0] == str(path) or key[0].startswith(lists))
        ]
        found = [_ENVIRONMENTS.pop(key) for key in keys]
    for opened in found:
        opened.env.close()


def _give_up_claim(path: Path) -> None:
    """Let go of this process's part of the named lists of the store in ``path`` (its directory is about to go)."""
    with _ENVIRONMENTS_LOCK:
        claimed = _CLAIMED.pop((str(path / LISTS), _PROCESS.pid), None)
    if claimed is not None:
        os.close(claimed[1])


#: ``madvise``'s advice to drop a range's page-table entries (Linux); the file's pages stay as they are.
MADV_DONTNEED = 4


def _release_mapped_pages(opened: _Opened) -> None:
    """Drop this process's page-table entries for its map of the data file (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    if opened.mapped is None:
        opened.mapped = _mapped_ranges(opened.data_file)
    # Only the pages in use: a walk of the whole map (90% of /dev/shm's room) took 28 µs, of these a few.
    used = (opened.env.info()["last_pgno"] + 1) * opened.env.stat()["psize"]
    for start, end in opened.mapped:
        _libc().madvise(ctypes.c_void_p(start), ctypes.c_size_t(min(end - start, used)), MADV_DONTNEED)


def _mapped_ranges(data_file: str) -> list[tuple[int, int]]:
    """Where ``data_file`` is mapped in this process: read from ``/proc/self/maps``, as LMDB's interface
    does not say (the map stays where it is while the environment is open)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            found = [line.split(None, 1)[0] for line in maps if line.rstrip("\n").endswith(" " + data_file)]
    except OSError:
        return []
    return [(int(start, 16), int(end, 16)) for start, end in (text.split("-") for text in found)]


_LIBC: Any = None


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC
