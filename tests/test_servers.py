"""The tests' own server helper: a stopped ``LiveServer`` leaves no thread, socket or late byte behind."""

from __future__ import annotations

import logging
import socket
import threading

from .servers import LiveServer, wait_until


def test_stopping_finishes_the_request_in_hand_then_closes_everything(caplog):
    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    caplog.set_level(logging.WARNING)
    live = LiveServer(slow_app).__enter__()
    conn = socket.create_connection((live.host, live.port), timeout=10)
    conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert entered.wait(10)
    stopper = threading.Thread(target=live.stop)
    stopper.start()
    dispatcher = live.server.task_dispatcher
    assert wait_until(lambda: dispatcher.stop_count > 0, 10)  # stop() is waiting for the request in hand
    assert live.server.trigger._fds  # ...with the trigger still open for it
    release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    reply = b""
    while chunk := conn.recv(65536):
        reply += chunk
    conn.close()
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\nok")  # finished, not cut
    assert dispatcher.threads == set() and not live._loop.is_alive()  # every thread of the server has ended
    assert live.server.socket is None and live.server.active_channels == {} and not live.server.trigger._fds
    assert [r.getMessage() for r in caplog.records if r.name.startswith("waitress")] == []
