"""Starting servers as subprocesses on free loopback ports, and reading their memory."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SERVING = re.compile(r"Serving on (http://[^/\s]+)")


class ServerProcess:
    """A server started with ``python -m ...``; its URL is read from its "Serving on" line.

    Port 0 is passed, so the server binds a free port itself (no race between
    picking a port and binding it).
    """

    def __init__(self, module: str, *args: str, start_timeout: float = 30.0, keep_lines: int = 200):
        self.argv = [sys.executable, "-m", module, *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        self.output: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self.base = ""
        found = threading.Event()

        def drain() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line.rstrip("\n"))
                match = _SERVING.search(line)
                if match and not self.base:
                    self.base = match.group(1)
                    found.set()
            found.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not found.wait(start_timeout) or not self.base:
            self.stop()
            raise RuntimeError(f"{' '.join(self.argv)} did not start:\n" + "\n".join(self.output))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def status(self, field: str) -> int:
        """A ``/proc/PID/status`` memory field (``VmHWM``, ``VmRSS``) in KiB; 0 where there is no /proc."""
        return proc_status(self.pid, field)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop in ``timeout`` seconds; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._drain.join(2)
        return self.proc.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_status(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (read from /proc; empty where there is none)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def proc_threads(pid: int) -> int:
    """How many threads process ``pid`` has (0 where there is no /proc)."""
    return proc_status(pid, "Threads")


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
