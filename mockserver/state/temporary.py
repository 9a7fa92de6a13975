"""Where a temporary store goes (``--workers N``'s default, ``sqlite:///:temp:``, ``lmdb:///:temp:``).

In memory (``/dev/shm``) where there is room: a store on disk cost two
workers half their throughput in page writes, though nothing of a temporary
store outlives the server (measured with SQLite: two workers sharing a file
on disk served 930 requests/s, on ``/dev/shm`` 1,650, two memory stores that
share nothing 1,380, in one run). Elsewhere, the system's temporary folder.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

#: Room a temporary store wants in ``/dev/shm`` (a full store of 10,000 replies with its log is ~100 MiB).
MEMORY_DIR_ROOM = 512 * 1024 * 1024

#: The name every temporary store's folder starts with.
PREFIX = "mockserver-store-"


def store_directory() -> Path:
    """A fresh folder for a temporary store: in ``memory_dir()`` when there is one, else the system's.

    The process that made it removes it when it exits, if nothing did before
    (the server removes its store when it stops; an app made in a process of
    your own has no such moment): left in ``/dev/shm``, it would hold memory
    until the machine restarts.
    """
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=memory_dir()))
    atexit.register(_remove_if_ours, folder, os.getpid())
    return folder


def _remove_if_ours(folder: Path, pid: int) -> None:
    """Remove ``folder`` in the process that made it (a forked worker exits without touching its parent's)."""
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def memory_dir() -> str | None:
    """``/dev/shm`` when it is a writable directory with room (``MEMORY_DIR_ROOM``), else None (the system's)."""
    try:
        stat = os.statvfs("/dev/shm")
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize < MEMORY_DIR_ROOM or not os.access("/dev/shm", os.W_OK | os.X_OK):
        return None
    return "/dev/shm"
