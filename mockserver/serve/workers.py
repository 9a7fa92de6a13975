"""Several worker processes on one port (``--workers N``).

Why waitress per process, and not gunicorn: each worker
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
fork), binds the listening sockets, and forks N workers. Where the system has
``SO_REUSEPORT`` (Linux), each worker accepts on a socket of its own on the
one port and the kernel spreads new connections over them. One listening
socket shared by all does not spread them: whichever worker's I/O loop wakes
first accepts every connection waiting, so a client whose pool opens its
keep-alive connections together (wrk, an SDK) was served by one worker while
the others idled. Elsewhere the workers share one socket. The parent
forwards SIGTERM/SIGINT and restarts a worker that dies on the same socket
(giving up if they keep dying); the command line removes a temporary store
once the last worker has stopped (``cli.remove_temporary_store``).

State is shared through the store (``state/``): responses, key usage and
the seed. The parent closes its own store connections before forking; the
LMDB store opens its environment again in each process, the SQLite store
reconnects per process and thread, and redis-py renews its pool after a fork.
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


BACKLOG = 1024


def listening_socket(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A bound, listening TCP socket for the workers to share (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.setblocking(False)
    return sock


def can_spread_connections() -> bool:
    """Whether each worker can listen on its own socket on the shared port (Linux's ``SO_REUSEPORT``).

    Only Linux spreads connections over such sockets; the BSDs and macOS give
    them all to the last one bound, which would leave the others idle.
    """
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def spread_sockets(host: str, port: int, count: int, backlog: int = BACKLOG) -> list[socket.socket]:
    """``count`` listening sockets on one port (``SO_REUSEPORT``): one per worker, so the kernel spreads connections.

    The parent makes them all before it forks, so every one is listening
    before the server says it is serving, and a worker that is restarted
    takes over its predecessor's socket with the connections waiting on it.
    The port is first bound without ``SO_REUSEPORT``: a port another server
    holds (another mock's sockets included) is refused as usual instead of
    being silently shared with it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family) as probe:
        port = probe.getsockname()[1]
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:  # IPv6 only, as socket.create_server makes the shared one
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(backlog)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def serve_workers(app: Any, *, host: str, port: int, workers: int, threads: int = 8, channel_timeout: int = 30) -> int:
    """Serve ``app`` from ``workers`` processes until SIGTERM or SIGINT; returns an exit code."""
    config = app.config["MOCK"]
    store = app.extensions["mock"].store
    if workers > 1 and not store.shared:
        raise ValueError("several workers need a shared store (--store lmdb:///..., sqlite:///... or redis://...)")
    try:
        if workers > 1 and can_spread_connections():
            sockets = spread_sockets(host, port, workers)
        else:
            sockets = [listening_socket(host, port)] * workers  # one socket, shared
    except OSError as exc:
        raise bind_error(host, port, exc) from None
    bound_host, bound_port = sockets[0].getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    log.info(
        "mock gateway (%s profile) listening on http://%s:%s/v1 with %d workers",
        config.profile,
        shown,
        bound_port,
        workers,
    )
    _close_store_connections(store)
    supervisor = _Supervisor(app, sockets, threads=threads, channel_timeout=channel_timeout)
    print(
        f"Serving on http://{shown}:{bound_port}/v1 (profile {config.profile}, {workers} workers); "
        f"{proxy_line(config)}{access_line(config)}; Ctrl-C to stop",
        flush=True,
    )
    try:
        return supervisor.run()
    finally:
        for sock in set(sockets):
            sock.close()
        log.info("mock gateway stopped")


class _Supervisor:
    def __init__(self, app: Any, sockets: list[socket.socket], *, threads: int, channel_timeout: int):
        self.app = app
        self.sockets = sockets  # worker n accepts on sockets[n] (one object for all where they share one)
        self.workers = len(sockets)
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
                sock = self.sockets[number]
                for other in set(self.sockets) - {sock}:
                    other.close()  # the other workers' sockets are theirs to accept on
                code = _worker(self.app, sock, number, threads=self.threads, channel_timeout=self.channel_timeout)
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
