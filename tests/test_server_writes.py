"""The mock's waitress task sends what waitress's own sends, in fewer writes (``serve/server.py``).

``keep_alive_task`` sends a reply's header with its first chunk (waitress:
two writes, so two packets) and keeps an HTTP/1.1 connection open after a
chunked reply (waitress closes it). Each reply below is run through both
tasks with a stub channel that records the writes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask

from mockserver.serve.server import keep_alive_task


class Channel:
    """What a task reads of its channel and server; ``writes`` are what it sent."""

    def __init__(self, app) -> None:
        self.adj = Adjustments(ident="mockserver")
        self.server = self
        self.application = app
        self.server_name = "mock"
        self.effective_port = 80
        self.addr = ("127.0.0.1", 40000)
        self.writes: list[bytes] = []

    def write_soon(self, data: bytes) -> int:
        if data:
            self.writes.append(bytes(data))
        return len(data)

    def check_client_disconnected(self) -> bool:
        return False


def served(task_class: type, status: str, headers: list[tuple[str, str]], chunks: Iterable[bytes], raw: bytes):
    def app(environ, start_response):
        start_response(status, headers)
        return iter(chunks)

    request = HTTPRequestParser(Adjustments())
    request.received(raw)
    channel = Channel(app)
    task = task_class(channel, request)
    task.start = lambda: setattr(task, "start_time", 0.0)  # one Date header for both
    task.service()
    return channel.writes, task.close_on_finish


REPLIES = {
    "json": ("200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")], [b'{"ok":true}']),
    "stream": ("200 OK", [("Content-Type", "text/event-stream")], [b"data: 1\n\n", b"data: 2\n\n", b"", b"3\n\n"]),
    "longer than it said": ("200 OK", [("Content-Length", "3")], [b"hello", b"more"]),
    "no body allowed": ("204 No Content", [], [b"ignored"]),
    "empty": ("200 OK", [("Content-Length", "0")], []),
    "empty first chunk": ("200 OK", [("Content-Length", "2")], [b"", b"ok"]),
}


@pytest.mark.parametrize("name", REPLIES)
@pytest.mark.parametrize("raw", [b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"])
def test_the_same_bytes_as_waitress_and_the_header_with_the_first_chunk(name, raw):
    ours, ours_close = served(keep_alive_task(), *REPLIES[name], raw)
    theirs, theirs_close = served(WSGITask, *REPLIES[name], raw)
    assert b"".join(ours) == b"".join(theirs) and ours_close == theirs_close
    assert len(ours) <= len(theirs)
    if name in ("json", "stream"):  # a first chunk that fits the reply: it went with the header
        assert len(ours) == len(theirs) - 1


def test_a_chunked_reply_keeps_an_http_1_1_connection_open():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    ours, ours_close = served(keep_alive_task(), *REPLIES["stream"], raw)
    theirs, theirs_close = served(WSGITask, *REPLIES["stream"], raw)
    assert theirs_close and not ours_close
    assert b"".join(ours) == b"".join(theirs).replace(b"\r\nConnection: close\r\n", b"\r\n", 1)
