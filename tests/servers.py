"""Servers for the tests: each on a port the OS picks, each stopped so that nothing follows a passing run.

- :class:`LiveServer`: the real waitress server (``mockserver``'s settings) in a
  thread of the test process, for tests that need a socket but want the app
  object at hand.
- :func:`mock_process`: ``python -m mockserver`` in a child process.
- :func:`redis_server`: a private ``redis-server`` on a Unix socket.

No test picks a "free" port and hopes it is still free when the server binds
it: the server binds port 0 itself and the port is read back from it (the
bound socket, or the child's "Serving on" line).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.servers import ServerProcess, wait_until

# The one import of the mock's internal server factory in the tests: a move of
# the module costs this line.
from mockserver.serve import create_server

__all__ = ["LiveServer", "ServerProcess", "held_connections", "mock_process", "port_of", "redis_server", "wait_until"]

#: How long a stopping server gives a request still running to finish.
STOP_TIMEOUT = 5.0


class LiveServer:
    """``app`` served by waitress in a thread, on a loopback port the OS picked.

    The socket is bound and listening when the object is built, so ``url``
    is known before the server runs (``with``). ``options`` go to
    ``mockserver.serve.create_server`` (``threads``, ``channel_timeout``,
    waitress's own keywords).

    Stopping follows what waitress needs to leave nothing behind (read
    ``waitress/server.py``, ``channel.py``, ``task.py``, ``trigger.py``):
    a task thread that finishes a request wakes the I/O loop by writing a
    byte into the server's trigger pipe. ``server.close()`` alone closes that
    pipe while task threads still run, so a late request writes its ``x``
    into a closed descriptor (``OSError: [Errno 9]`` logged after the tests
    passed) or, when the number was meanwhile reused by a new connection,
    into someone else's socket. So :meth:`stop` first lets every task thread
    finish and exit, then ends the I/O loop and joins its thread, and only
    then closes the sockets and the pipe.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", **options: Any) -> None:
        self.app = app
        self.server = create_server(app, host=host, port=0, **options)
        self.host = host
        self.port = int(self.server.effective_port)
        self.url = f"http://{host}:{self.port}"
        self._stopping = threading.Event()
        self._loop = threading.Thread(target=self._serve, name=f"waitress-loop-{self.port}", daemon=True)

    def __enter__(self) -> LiveServer:
        self._loop.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        """waitress's I/O loop (what ``server.run()`` runs), one poll at a time so that :meth:`stop` can end it."""
        adj = self.server.adj
        while not self._stopping.is_set():
            self.server.asyncore.loop(
                timeout=adj.asyncore_loop_timeout, map=self.server._map, use_poll=adj.asyncore_use_poll, count=1
            )

    def stop(self) -> None:
        """Join the task threads, then the I/O loop's thread, then close every socket."""
        dispatcher = self.server.task_dispatcher
        # 1. Each task thread finishes the request in hand and exits; queued requests are cancelled.
        #    The loop still runs meanwhile, so the tasks' output is flushed and their trigger still open.
        dispatcher.shutdown(timeout=STOP_TIMEOUT)
        still_running = len(dispatcher.threads)
        # 2. The loop wakes on the trigger, sees the flag and returns.
        self._stopping.set()
        if self._loop.is_alive():
            self.server.pull_trigger()
            self._loop.join(STOP_TIMEOUT)
            if self._loop.is_alive():
                raise RuntimeError(f"the I/O loop of the server on port {self.port} did not stop")
        # 3. No thread of this server is left to touch them: close the connections, the trigger, the listener.
        for channel in list(self.server.active_channels.values()):
            channel.handle_close()
        self.server.close()
        if still_running:
            raise RuntimeError(
                f"the server on port {self.port} did not stop cleanly: {still_running} request(s) still running "
                f"{STOP_TIMEOUT:g} s after the test (a stream left open?)"
            )


def mock_process(*args: str, keep_lines: int = 200) -> ServerProcess:
    """``python -m mockserver ARGS --port 0``: the child binds a port and says which in its "Serving on" line.

    Use it as a context manager; ``base`` is ``http://127.0.0.1:PORT`` and
    ``output`` the last ``keep_lines`` lines it printed. Stopping sends
    SIGTERM and waits, so every line it wrote is in ``output`` afterwards.
    """
    return ServerProcess("mockserver", *args, "--port", "0", keep_lines=keep_lines)


def port_of(server: ServerProcess) -> int:
    return int(server.base.rsplit(":", 1)[1])


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A private ``redis-server`` listening on a Unix socket in ``folder`` (no TCP port at all); yields its URL.

    Skips the test when redis-server or the redis client is not installed.
    """
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): Redis store not tested")
    redis = pytest.importorskip("redis", reason="the redis client is not installed (pip install redis)")
    socket_path = folder / "redis.sock"
    command = [executable, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"unix://{socket_path}"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            return bool(redis.Redis.from_url(url).ping())
        except redis.ConnectionError:
            return False

    try:
        if not wait_until(answers, 20):
            raise RuntimeError("redis-server did not answer on its socket within 20 s")
        yield url
    finally:
        process.terminate()
        process.wait(10)


def held_connections(pids: list[int]) -> int:
    """How many connections the processes ``pids`` hold open: their sockets that are not listening ones.

    Zero, once every client has closed its connections, means the server has
    answered every request or noticed that its client left (a cut stream then
    ends at its next event). Counted from the processes' descriptors, not the
    kernel's TCP table: a connection reset by its client leaves the table at
    once but stays open in the server until the server closes it.
    """
    listening = _listening_inodes()
    held = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    held += target.startswith("socket:[") and target[8:-1] not in listening
    return held


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes
