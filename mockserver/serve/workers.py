"""Several worker processes behind one listening socket (``--workers N``).

Why waitress per process on a shared socket, and not gunicorn: each worker
is exactly the single-process server (``serve.create_server``), so what holds
for one process holds for N. waitress reads whole requests in its I/O loop
before a thread sees them, so slow-loris clients and bodies that never end
tie up no worker thread, and oversized bodies are cut by the same limits;
gunicorn's gthread workers read the request in the worker thread, so every
stalled client holds a thread until gunicorn's timeout. Streaming needs no
extra care either: waitress sends each server-sent event as it is yielded.
The cost is a small supervisor of our own (below), which is what gunicorn's
arbiter would otherwise be.

How it works (the pre-fork model, as gunicorn's): the parent builds the app
once (so a bad configuration or replay directory fails once, before any
fork), binds the listening socket, and forks N workers that all accept on it;
the kernel hands each new connection to one idle worker. The parent forwards
SIGTERM/SIGINT, restarts a worker that dies (giving up if they keep dying),
and removes a temporary store when the last worker has stopped.

State is shared through the store (``state/``): responses, key usage and
the seed. The parent closes its own store connections before forking; the
SQLite store reconnects per process and thread, and redis-py renews its pool
after a fork.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from ..http.admin_access import access_line
from ..state.sqlite import SQLiteStore
from ..state.store import Store
from .server import bind_error, proxy_line

log = logging.getLogger("mockserver")

#: A worker that exits on its own is restarted, unless this many exit within
#: ``RESTART_WINDOW`` seconds: then something is wrong and the server stops.
MAX_RESTARTS = 5
RESTART_WINDOW = 10.0
#: How long stopping workers get before SIGKILL.
STOP_TIMEOUT = 10.0


class _Stop(Exception):
    pass


def listening_socket(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A bound, listening TCP socket for the workers to share (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return sock


def serve_workers(app: Any, *, host: str, port: int, workers: int, threads: int = 8, channel_timeout: int = 30) -> int:
    """Serve ``app`` from ``workers`` processes until SIGTERM or SIGINT; returns an exit code."""
    config = app.config["MOCK"]
    store = app.extensions["mock"].store
    if workers > 1 and not store.shared:
        raise ValueError("several workers need a shared store (--store sqlite:///... or redis://...)")
    try:
        sock = listening_socket(host, port)
    except OSError as exc:
        raise bind_error(host, port, exc) from None
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log.info(
        "mock gateway (%s profile) listening on http://%s:%s/v1 with %d workers",
        config.profile,
        shown,
        bound_port,
        workers,
    )
    _close_store_connections(store)
    supervisor = _Supervisor(app, sock, workers=workers, threads=threads, channel_timeout=channel_timeout)
    print(
        f"Serving on http://{shown}:{bound_port}/v1 (profile {config.profile}, {workers} workers); "
        f"{proxy_line(config)}{access_line(config)}; Ctrl-C to stop",
        flush=True,
    )
    try:
        return supervisor.run()
    finally:
        sock.close()
        if isinstance(store, SQLiteStore):
            store.close_and_remove()  # a temporary file this server made goes with it
        log.info("mock gateway stopped")


class _Supervisor:
    def __init__(self, app: Any, sock: socket.socket, *, workers: int, threads: int, channel_timeout: int):
        self.app = app
        self.sock = sock
        self.workers = workers
        self.threads = threads
        self.channel_timeout = channel_timeout
        self.children: dict[int, int] = {}  # pid -> worker number
        self.exits: list[float] = []

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        code = 0
        try:
            for number in range(self.workers):
                self._spawn(number)
            while True:
                pid, status = os.wait()
                number = self.children.pop(pid, None)
                if number is None:
                    continue
                now = time.monotonic()
                self.exits = [t for t in self.exits if now - t < RESTART_WINDOW] + [now]
                log.warning("worker %d (pid %d) exited (%s); restarting it", number, pid, _describe(status))
                if len(self.exits) > MAX_RESTARTS:
                    log.error("workers keep exiting (%d in %.0f s): stopping", len(self.exits), RESTART_WINDOW)
                    code = 1
                    break
                self._spawn(number)
        except _Stop:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._stop_children()
        return code

    def _on_signal(self, signum: int, frame: Any) -> None:
        raise _Stop

    def _spawn(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                code = _worker(self.app, self.sock, number, threads=self.threads, channel_timeout=self.channel_timeout)
            except BaseException:
                log.exception("worker %d failed", number)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = number

    def _stop_children(self) -> None:
        for pid in list(self.children):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid == 0:
                time.sleep(0.05)
            else:
                self.children.pop(pid, None)
        for pid in list(self.children):
            log.warning("worker pid %d did not stop in %.0f s: killing it", pid, STOP_TIMEOUT)
            _signal(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()


def _worker(app: Any, sock: socket.socket, number: int, *, threads: int, channel_timeout: int) -> int:
    from .server import create_server, run_until_signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    _name_the_process_in_logs()
    server = create_server(
        app,
        sockets=[sock],
        threads=threads,
        channel_timeout=channel_timeout,
        max_body_bytes=app.config["MOCK"].max_body_bytes,
    )
    log.info("worker %d (pid %d) serving", number, os.getpid())
    run_until_signal(server)
    return 0


def _name_the_process_in_logs() -> None:
    """Each worker's log lines carry its pid (``mockserver[1234]: ...``), so one can tell who served what."""
    for handler in logging.getLogger().handlers:
        fmt = getattr(handler.formatter, "_fmt", None) or "%(message)s"
        if "%(process)d" not in fmt:
            fmt = fmt.replace("%(name)s", "%(name)s[%(process)d]") if "%(name)s" in fmt else "[%(process)d] " + fmt
            handler.setFormatter(logging.Formatter(fmt))


def _close_store_connections(store: Store) -> None:
    """No connection may cross a fork: close the parent's (each process opens its own)."""
    store.close()


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
