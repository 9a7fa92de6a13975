"""The mock's waitress task sends what waitress's own sends, in fewer writes (``serve/server.py``).

``keep_alive_task`` sends a reply's header with its first chunk (waitress:
two writes, so two packets) and keeps an HTTP/1.1 connection open after a
chunked reply (waitress closes it). Each reply below is run through both
tasks with a stub channel that records the writes. The mock's channel sends
a write straight to the socket when nothing waits before it
(``send_soon``): the last tests run it on a real socket pair.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import pytest
from waitress.adjustments import Adjustments
from waitress.channel import ClientDisconnected
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask

from mockserver.delivery.after import AFTER_REPLY
from mockserver.serve.server import keep_alive_task, mock_channel


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

    def send_soon(self, data: bytes) -> None:  # the mock's channel: write_soon, sent at once when it can be
        self.write_soon(data)

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


def served_with_work_after(chunks: Iterable[bytes], work) -> Channel:
    """A stream served by the mock's task; ``work(channel)`` left by the app for once the reply is sent."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        environ[AFTER_REPLY].append(lambda: work(channel))
        return iter(chunks)

    request = HTTPRequestParser(Adjustments())
    request.received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    channel = Channel(app)
    keep_alive_task()(channel, request).service()
    return channel


def test_work_left_for_after_the_reply_runs_once_its_last_chunk_is_written():
    """A stream's timing log is kept after its end is on the wire: the client does not wait for the store."""
    seen: list[bytes] = []
    channel = served_with_work_after([b"data: 1\n\n", b"data: 2\n\n"], lambda ch: seen.append(b"".join(ch.writes)))
    assert len(seen) == 1 and seen[0] == b"".join(channel.writes)  # run once, with every byte already written
    assert seen[0].endswith(b"data: 2\n\n\r\n0\r\n\r\n")  # the last chunk among them


def test_work_left_for_after_the_reply_runs_when_the_app_breaks_off_and_never_reaches_the_server(caplog):
    def broken():
        yield b"data: 1\n\n"
        raise RuntimeError("cut")

    ran: list[str] = []

    def failing(channel) -> None:
        ran.append("failing")
        raise ValueError("the store is gone")

    request = HTTPRequestParser(Adjustments())
    request.received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        environ[AFTER_REPLY] += [lambda: failing(channel), lambda: ran.append("next")]
        return broken()

    channel = Channel(app)
    with pytest.raises(RuntimeError, match="cut"):  # waitress's channel answers this; the work ran before it
        keep_alive_task()(channel, request).service()
    assert ran == ["failing", "next"]  # each ran; the one that failed did not stop the next
    assert "work after a reply failed" in caplog.text


class Server:
    """What a channel asks of its server while it writes and when it closes."""

    def __init__(self) -> None:
        self.active_channels: dict[int, object] = {}

    def pull_trigger(self) -> None:
        pass


@pytest.fixture
def channel_pair():
    """The mock's channel on one end of a socket pair with small buffers, the other end to read from."""
    ours, peer = socket.socketpair()
    for end in (ours, peer):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    channel = mock_channel(None)(Server(), ours, ("127.0.0.1", 40000), Adjustments(), map={})
    yield channel, peer
    channel.close()
    peer.close()


def read_all(channel, peer: socket.socket) -> bytes:
    """What the peer receives while the channel flushes its buffer."""
    peer.setblocking(False)
    received = b""
    while True:
        channel._flush_some()
        try:
            chunk = peer.recv(65536)
        except BlockingIOError:
            if not channel.total_outbufs_len:
                return received
            continue
        received += chunk


def test_a_write_is_sent_at_once_when_nothing_waits(channel_pair):
    channel, peer = channel_pair
    channel.send_soon(b"event: one\n\n")
    assert channel.total_outbufs_len == 0  # nothing left waiting for the I/O loop
    assert peer.recv(100) == b"event: one\n\n"


def test_what_the_socket_cannot_take_waits_and_later_writes_queue_behind_it(channel_pair):
    channel, peer = channel_pair
    big = bytes(range(256)) * 2048  # 512 KiB: more than the socket pair holds
    channel.send_soon(big)
    waiting = channel.total_outbufs_len
    assert 0 < waiting < len(big)  # part sent, the rest buffered
    first = peer.recv(8192)  # the socket has room again, the buffer still has the rest
    channel.send_soon(b"tail")  # goes behind the rest, not past it
    assert first + read_all(channel, peer) == big + b"tail"


def test_a_write_to_a_closed_channel_says_the_client_left(channel_pair):
    channel, _ = channel_pair
    channel.connected = False
    with pytest.raises(ClientDisconnected):
        channel.send_soon(b"event: late\n\n")
