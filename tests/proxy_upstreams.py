"""Upstreams for the proxy's tests: the mock itself, watched (and, when asked, broken) on its way out.

:class:`WatchedUpstream` is the real mock on a real socket with one
``after_request`` hook that keeps the bytes of every reply it sent, so a test
can compare what its client got through the proxy with what the upstream
sent. Request headers steer it (the proxy passes them on):

- ``X-Test-Gate: 1``: a stream stops after its first event until the test
  opens ``gate`` (``finished`` is set once the upstream sent its last byte),
  to see that the proxy passes events on as
  they come;
- ``X-Test-Endless: 1``: a stream keeps going with ``: keep-alive`` comments
  after its last event until its client leaves (``left`` is set then);
- ``X-Test-Stall: 1``: a plain reply is held back until ``gate`` opens (a
  slow upstream).

``broken=True`` makes it break usage arithmetic (``total_tokens`` one too
many) in every reply and in the ``response.completed`` event of every stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, request

from mockserver import create_app

from .servers import LiveServer

UPSTREAM_KEY = "sk-upstream-0123456789abcdefghijklmnopqrstuvwxyz"
#: Longest a watched stream waits for its gate, or keeps going for a client that stays.
HOLD_SECONDS = 30


class WatchedUpstream:
    """The mock (seed 7, one key) on a loopback port, keeping what it sent."""

    def __init__(self, *, broken: bool = False, stream_delay: float = 0.0):
        self.app = create_app(
            seed=7, api_keys=[UPSTREAM_KEY], log_requests=False, stream_delay=stream_delay, serve_stored_routes=True
        )
        self.broken = broken
        self.sent: list[bytes] = []
        self.gate = threading.Event()
        self.finished = threading.Event()
        self.left = threading.Event()
        self.app.after_request(self._watch)
        self.server = LiveServer(self.app)
        self.url = self.server.url

    def __enter__(self) -> WatchedUpstream:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.__exit__(*exc)

    def _watch(self, response: Response) -> Response:
        if not request.path.startswith("/v1/"):
            return response
        if response.is_streamed:
            response.response = self._stream(
                response.response,
                gated=request.headers.get("X-Test-Gate") == "1",
                endless=request.headers.get("X-Test-Endless") == "1",
            )
            return response
        if request.headers.get("X-Test-Stall") == "1":
            self.gate.wait(HOLD_SECONDS)
        data = response.get_data()
        if self.broken and response.status_code == 200 and request.method == "POST":
            body = json.loads(data)
            break_usage(body)
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            response.set_data(data)
        self.sent.append(data)
        return response

    def _stream(self, chunks: Any, *, gated: bool, endless: bool) -> Iterator[bytes]:
        sent = bytearray()
        self.sent.append(b"")
        index = len(self.sent) - 1
        try:
            for number, chunk in enumerate(chunks):
                if self.broken and b'"response.completed"' in chunk:
                    chunk = broken_event(chunk)
                sent.extend(chunk)
                self.sent[index] = bytes(sent)
                yield chunk
                if gated and number == 0:
                    self.gate.wait(HOLD_SECONDS)
            self.finished.set()
            for _ in range(HOLD_SECONDS * 20 if endless else 0):
                time.sleep(0.05)  # the upstream's own pace, not a test's wait
                yield b": keep-alive\n\n"
        except GeneratorExit:
            self.left.set()
            raise


def break_usage(response: dict[str, Any]) -> None:
    """``total_tokens`` one more than ``input_tokens + output_tokens``."""
    usage = response.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        usage["total_tokens"] += 1


def broken_event(chunk: bytes) -> bytes:
    """A ``response.completed`` event block whose response's usage does not add up."""
    head, _, data = chunk.decode("utf-8").partition("data: ")
    event = json.loads(data)
    break_usage(event["response"])
    return f"{head}data: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
