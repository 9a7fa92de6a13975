"""Serving the app with a real WSGI server (waitress), never Flask's dev server.

waitress reads each request completely in its I/O loop before a worker
thread sees it, so slow or stalled clients tie up no worker (they are cut
after ``channel_timeout``), and it sends each chunk of a streamed body as
soon as the app yields it (``send_bytes=1``), which server-sent events need.
SIGTERM and Ctrl-C close the listening socket and return cleanly.

Two changes to how waitress runs the app (``task_dispatcher``,
``mock_channel``, ``keep_alive_task``): a request that cannot wait
(``quick.py``) is run on the I/O thread that read it, with no thread handoff,
which halves a request's CPU; and a streamed reply keeps its HTTP/1.1
connection open, as its chunked encoding allows.

``create_server`` is the one place the waitress settings live: the command
line and the multi-process server (``workers.py``) build their server with it.

Why waitress, measured (``python -m bench.wsgi_servers``: the same app, one
process, 8 threads, c=16, interleaved rounds). Before the quick requests,
granian's WSGI interface served about 1.5x waitress's requests/s and
gunicorn's gthread worker about 1.2x, but neither keeps what
``tests/test_hostile.py`` checks: granian hands a body that stalls to a
worker thread, which then waits on it with no timeout (tried: 40 s and
counting), takes headers of any size (200 KB accepted) and answers malformed
HTTP with an empty 400; gunicorn's gthread worker reads each request in a
worker thread too, so slow clients hold threads until its timeout. With the
quick requests waitress serves more than either (2026-11-30: gunicorn 0.46x
and granian 2.8.7 0.64x waitress's requests/s, in two runs), keeping those
protections.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import time
from collections.abc import Sequence
from typing import Any

from schemas.recording import public_url

from ..config import MockConfig
from ..delivery.after import AFTER_REPLY, run_after_reply
from ..http.admin_access import access_line
from .quick import Quick, quick_requests

log = logging.getLogger("mockserver")


class StartupError(Exception):
    """The server cannot start (the port is taken, the address cannot be bound): said in one line."""


def bind_error(host: str, port: int, exc: OSError) -> StartupError:
    """A ``StartupError`` for a socket that cannot be bound, naming the address and the fix."""
    hint = " (another server is using it: pick another --port, or 0 for a free one)" if port else ""
    return StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}")


#: waitress answers bodies over its own limit with a plain-text 413; keep its
#: limit well above the app's so the app answers in the error envelope.
SERVER_BODY_LIMIT_FACTOR = 8

#: Connections waitress keeps open at once; past it, new ones wait in the
#: listen backlog (waitress's default of 100 is low for a CI fleet's mock).
CONNECTION_LIMIT = 1000


def create_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 8,
    channel_timeout: int = 30,
    max_body_bytes: int = 8 * 1024 * 1024,
    sockets: Sequence[socket.socket] | None = None,
    **waitress_options: Any,
) -> Any:
    """A waitress server for any WSGI ``app`` (not yet running).

    With ``sockets`` it serves already-bound listening sockets (the
    multi-process server hands each worker its own, or the one they share) instead of binding
    ``host``/``port``. Other keywords go to waitress as they are.
    """
    from waitress import create_server as waitress_server

    options: dict[str, Any] = dict(
        threads=threads,
        channel_timeout=channel_timeout,
        max_request_body_size=max(max_body_bytes * SERVER_BODY_LIMIT_FACTOR, 64 * 1024 * 1024),
        connection_limit=CONNECTION_LIMIT,
        ident="mockserver",
        clear_untrusted_proxy_headers=True,
    )
    options.update(waitress_options)  # e.g. cleanup_interval, for tests that wait for channel_timeout
    dispatcher = task_dispatcher(quick_requests(app))
    dispatcher.set_thread_count(options["threads"])
    # ``_dispatcher``: waitress's own way to give its servers a dispatcher (it calls it a test shim).
    if sockets is not None:
        server = waitress_server(app, sockets=list(sockets), _dispatcher=dispatcher, **options)
    else:
        server = waitress_server(app, host=host, port=port, _dispatcher=dispatcher, **options)
    config = getattr(app, "config", {}).get("MOCK")
    server.channel_class = mock_channel(config.profile if config is not None else None)
    return server


def task_dispatcher(quick: Quick | None) -> Any:
    """waitress's task threads, leaving the requests ``quick`` names to the I/O thread (``quick.py``).

    waitress's channel asks for a task thread from its I/O thread, with a
    lock held; a quick request is only marked here, and the channel serves
    it once that read is done (``mock_channel``). A channel also asks when
    it has finished a request and another is pipelined behind it: on a task
    thread, that one goes to a task thread too, quick or not (the I/O thread
    would not look for it until the client sent more).
    """
    from waitress.task import ThreadedTaskDispatcher

    class QuickDispatcher(ThreadedTaskDispatcher):
        def add_task(self, channel: Any) -> None:
            if quick is not None and channel.on_io_thread and quick(channel.requests[0]):
                channel.inline_ready = True
            else:
                super().add_task(channel)

    return QuickDispatcher()


def mock_channel(profile: str | None) -> type:
    """waitress's connection class: quick requests served on the I/O thread, streamed replies' connections kept open.

    A request ``task_dispatcher`` marked quick is served right after the
    read that completed it, on the I/O thread. There a write never waits for
    the buffer to drain below waitress's high-water mark, as a task thread's
    does: the thread that would drain it is this one, so the buffer grows
    instead (waitress keeps what is past ``outbuf_overflow`` in a file). With
    a ``profile`` it also answers waitress's own HTTP-level errors in the
    profile's envelope (``envelope_error_task``).
    """
    from waitress.channel import HTTPChannel

    class MockChannel(HTTPChannel):
        task_class = keep_alive_task()
        #: The I/O thread is reading from this channel or serving its request. (It never reads a
        #: channel whose request a task thread has: waitress reads no more while one is pending.)
        on_io_thread = False
        #: A quick request has been read and waits to be served on the I/O thread.
        inline_ready = False

        def handle_read(self) -> None:
            self.on_io_thread = True
            try:
                super().handle_read()
                while self.inline_ready:  # serving one may mark the next, pipelined behind it
                    self.inline_ready = False
                    self.service()
            finally:
                self.on_io_thread = False

        def _flush_outbufs_below_high_watermark(self) -> None:
            if not self.on_io_thread:
                super()._flush_outbufs_below_high_watermark()

        def send_soon(self, data: bytes) -> None:
            """``write_soon``, sending ``data`` straight to the socket when nothing waits in the buffer before it.

            waitress buffers every write, then sends from the buffer: for a
            stream's event that was more Python than the event's own making.
            Whatever is not sent at once (a full socket, an error) goes to
            ``write_soon``, which buffers it behind nothing and handles the error
            as waitress does.
            """
            with self.outbuf_lock:
                if self.connected and not self.total_outbufs_len:
                    try:
                        sent = self.send(data, do_close=False)  # wasyncore's: 0 when the socket is full or closed
                    except OSError:
                        sent = 0
                    if sent:
                        self.last_activity = time.time()
                        if sent == len(data):
                            return
                        data = data[sent:]
            self.write_soon(data)

    if profile is not None:
        MockChannel.error_task_class = envelope_error_task(profile)
    return MockChannel


def keep_alive_task() -> type:
    """waitress's WSGI task, without its ``Connection: close`` on every chunked reply, the header sent with the body.

    waitress closes an HTTP/1.1 connection after any reply without a
    Content-Length, though chunked encoding marks where the body ends. Every
    streamed reply then cost the client a new connection: the openai SDK's
    pool reconnected for each stream, and the time to the first event nearly
    doubled. A reply the app breaks off (a client that left, an injected
    ``drop-after``) still closes: waitress sets ``close_on_finish`` when the
    app raises after the headers went out, and that comes after this.

    It also runs the work the app left for once the reply is sent
    (``delivery/after.py``: a stream's timing log), after the last chunk.
    """
    from waitress.task import WSGITask

    class KeepAliveTask(WSGITask):
        #: The header of a chunked reply with a body went out with its first chunk: the others follow it
        #: straight out. (Known once, not asked again per chunk: a stream writes one per event.)
        sends_chunks = False

        def write(self, data: bytes) -> None:
            """The header and the first chunk in one write: waitress sends them apart, two packets for one reply.
            A chunk after the first goes straight out (``send_soon``)."""
            if self.sends_chunks:
                if data:
                    self.channel.send_soon(b"%X\r\n%s\r\n" % (len(data), data))
                return
            if self.wrote_header or not data or not self.complete:
                super().write(data)
                return
            header = self.build_response_header()
            self.wrote_header = True
            if not self.has_body or (self.content_length is not None and len(data) > self.content_length):
                self.channel.write_soon(header)  # no body, or more than it said: waitress's own way
                super().write(data)
                return
            if self.chunked_response:
                data = b"%X\r\n%s\r\n" % (len(data), data)
                self.sends_chunks = True
            elif self.content_length is not None:
                self.content_bytes_written += len(data)
            self.channel.send_soon(header + data)

        def finish(self) -> None:
            if self.wrote_header and self.chunked_response:
                self.channel.send_soon(b"0\r\n\r\n")  # the last chunk, as waitress's own finish writes it
                return
            super().finish()

        def get_environment(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().get_environment()
            environ.setdefault(AFTER_REPLY, [])  # work the app leaves for once the reply is sent
            return environ

        def service(self) -> None:
            try:
                super().service()
            finally:  # the reply is sent, or broken off
                run_after_reply(self.environ)

        def build_response_header(self) -> bytes:
            closing_anyway = self.close_on_finish or _asks_to_close(self.request.headers, self.response_headers)
            header: bytes = super().build_response_header()
            if self.chunked_response and self.version == "1.1" and not closing_anyway:
                self.close_on_finish = False
                header = header.replace(b"\r\nConnection: close\r\n", b"\r\n", 1)
            return header

    return KeepAliveTask


def _asks_to_close(request_headers: dict[str, str], response_headers: list[tuple[str, str]]) -> bool:
    """Whether the client or the app asked to close the connection (or named it at all: theirs to decide)."""
    if request_headers.get("CONNECTION", "").lower() == "close":
        return True
    return any(name.lower() == "connection" for name, _ in response_headers)


def envelope_error_task(profile: str) -> type:
    """waitress's error task, answering its own HTTP-level errors in the profile's envelope.

    waitress rejects some requests before the app sees them: malformed HTTP
    (bad chunked encoding, a bad request line) with 400, a body past its own
    limit with 413, headers past theirs with 431. It answers those in plain
    text; clients of the mock parse every error as ``{"error": {...}}``, so
    these get the envelope too (waitress's status is kept).
    """
    from waitress.task import ErrorTask

    from schemas.behaviour import behaviour

    from ..reply.ids import random_hex

    rules = behaviour(profile)

    class EnvelopeErrorTask(ErrorTask):
        def execute(self) -> None:
            error = self.request.error
            request_id = random_hex(16)
            name = "payload_too_large" if error.code == 413 else "invalid_request"
            _, body = rules.error_body(name, request_id=request_id, detail=f"{error.reason}: {error.body}")
            data = json.dumps(body, ensure_ascii=False).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", "application/json"), (rules.request_id_header, request_id)])
            self.set_close_on_finish()
            self.content_length = len(data)
            self.write(data)

    return EnvelopeErrorTask


def proxy_line(config: MockConfig) -> str:
    """What the start-up line says of proxy mode: where replies come from and where they are recorded."""
    if config.proxy_to is None:
        return ""
    recording = f", recording into {config.record_dir}" if config.record_dir is not None else ""
    return f"proxying to {public_url(str(config.proxy_to))}{recording}; "


def serve(app: Any, *, host: str, port: int, threads: int = 8, channel_timeout: int = 30) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``StartupError`` when the address cannot be bound."""
    config = app.config["MOCK"]
    try:
        server: Any = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            channel_timeout=channel_timeout,
            max_body_bytes=config.max_body_bytes,
        )
    except OSError as exc:
        raise bind_error(host, port, exc) from None
    bound_port = server.effective_port
    log.info(
        "mock gateway (%s profile) listening on http://%s:%s/v1", config.profile, server.effective_host, bound_port
    )
    print(
        f"Serving on http://{server.effective_host}:{bound_port}/v1 (profile {config.profile}); "
        f"{proxy_line(config)}{access_line(config)}; Ctrl-C to stop",
        flush=True,
    )
    run_until_signal(server)


def run_until_signal(server: Any) -> None:
    """Run a waitress server until SIGINT or SIGTERM, then close it."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
        log.info("mock gateway stopped")


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
