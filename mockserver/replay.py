"""Serve a recording folder: ``python -m mockserver --replay DIR [--replay-speed X]``.

A recording (written by ``python -m contract_tests record``) is one
``NNN-name.json`` per exchange and, for a stream, the raw event stream in
``NNN-name.sse``. This module owns that on-disk format (reading it, splitting
a stream into its events, the request key) because the mock may not import
``contract_tests``; the recorder and the drift report import it from here.

A create request whose body (without ``stream``) equals a recorded one is
answered with the recorded status and body; the ``stream`` flag picks the
plain or the streamed recording. Streams are sent block by block with the
recorded gaps between events divided by the speed factor (0: no delay). A
request nothing matches falls through to the generator, with a log line, or
with ``strict`` (``--replay-strict``) gets a 400 error.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Response

log = logging.getLogger("mockserver")

FORMAT = "responses-recording/1"
EXCHANGE_GLOB = "[0-9][0-9][0-9]-*.json"
#: A blank line ends an SSE event, whatever the line ending (WHATWG SSE, 9.2.5).
BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
#: Response headers the replay sends back (the rest are the mock's own).
REPLAYED_HEADERS = ("content-type", "retry-after")


def request_key(body: dict[str, Any]) -> tuple[str, bool]:
    """What identifies a create request: its canonical JSON without ``stream``, and the ``stream`` flag."""
    rest = {k: v for k, v in body.items() if k != "stream"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False), bool(body.get("stream"))


def split_blocks(data: bytes) -> list[bytes]:
    """The event blocks of a raw stream, each with its terminating blank line (a cut-off tail kept as is)."""
    blocks, start = [], 0
    for match in BLOCK_END.finditer(data):
        blocks.append(data[start : match.end()])
        start = match.end()
    if start < len(data):
        blocks.append(data[start:])
    return blocks


def block_type(block: bytes) -> str:
    """The event type of one block: the JSON ``type`` of its data, else its ``event:`` line, else ``:comment``."""
    event, data = None, []
    for line in block.decode("utf-8", "replace").splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        try:
            payload = json.loads("\n".join(data))
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("type"), str):
            return payload["type"]
        return event or ":data"
    return event or ":comment"


@dataclass
class Exchange:
    """One recorded request and reply, as read back from disk."""

    path: Path
    data: dict[str, Any]
    sse: bytes | None = None

    @property
    def request_body(self) -> dict[str, Any]:
        return self.data["request"].get("body") or {}

    @property
    def status(self) -> int:
        return int(self.data["response"]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return self.data["response"].get("headers", {})

    @property
    def body(self) -> Any:
        """The parsed JSON body (None for a stream or a non-JSON body)."""
        return self.data["response"].get("body")

    @property
    def is_stream(self) -> bool:
        return self.sse is not None

    def offsets_ms(self) -> list[float]:
        """Arrival offset of each stream block, from the start of the request."""
        return [float(e.get("offset_ms") or 0.0) for e in (self.data.get("stream") or {}).get("events", [])]


def load_exchanges(folder: Path) -> list[Exchange]:
    """Every exchange in ``folder``, in file-name order; errors name the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such recording folder")
    exchanges = []
    for path in sorted(folder.glob(EXCHANGE_GLOB)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            missing = [k for k in ("request", "response") if k not in data]
            if missing:
                raise KeyError(", ".join(missing))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a recorded exchange: {exc!r}") from None
        stream = data.get("stream")
        sse = (folder / stream["file"]).read_bytes() if stream else None
        exchanges.append(Exchange(path, data, sse))
    return exchanges


@dataclass
class ReplayResponder:
    """A ``MockState.responders`` entry answering requests from a recording folder.

    Several recordings of one request are served in turn (then again from the
    first), so a recorded sequence such as "rate limited, then answered"
    replays in order.
    """

    folder: Path
    speed: float = 1.0
    #: A request no recording matches is a 400 (``invalid_request``) instead of falling through to the generator.
    strict: bool = False
    _by_key: dict[tuple[str, bool], Iterator[Exchange]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.speed < 0:
            raise ValueError(f"replay speed must not be negative, got {self.speed}")
        self._grouped: dict[tuple[str, bool], list[Exchange]] = {}
        for exchange in load_exchanges(self.folder):
            self._grouped.setdefault(request_key(exchange.request_body), []).append(exchange)
        self.reset()
        log.info(
            "replay: %d recorded request(s) from %s at speed %s", len(self._grouped), self.folder, self.speed or "max"
        )

    def reset(self, store: Any = None) -> None:
        """Serve each request's recordings from the first again (``POST /__mock__/reset``)."""
        with self._lock:
            self._by_key = {key: itertools.cycle(items) for key, items in self._grouped.items()}

    def __len__(self) -> int:
        return len(self._by_key)

    def __call__(self, body: dict[str, Any]) -> Response | None:
        key = request_key(body)
        with self._lock:
            exchanges = self._by_key.get(key)
            exchange = next(exchanges) if exchanges else None
        if exchange is None and self.strict:
            from .errors import ApiError

            log.info("replay: no recording matches this request (stream=%s); strict replay: 400", key[1])
            raise ApiError("invalid_request", param="replay", detail="no recorded exchange matches this request")
        if exchange is None:
            log.info("replay: no recording matches this request (stream=%s); the generator answers", key[1])
            return None
        log.info("replay: answering from %s", exchange.path.name)
        return self.respond(exchange)

    def respond(self, exchange: Exchange) -> Response:
        """The recorded reply: the raw stream paced event by event, or the body after the recorded delay."""
        headers = {k: v for k, v in exchange.headers.items() if k.lower() in REPLAYED_HEADERS}
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "text/event-stream" if exchange.sse is not None else "application/json"
        if exchange.sse is not None:
            headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            return Response(self._paced(exchange), status=exchange.status, headers=headers)
        self._sleep(float((exchange.data.get("timing") or {}).get("total_ms") or 0.0))
        response = exchange.data["response"]
        if "body" in response:
            payload = json.dumps(response["body"], ensure_ascii=False).encode("utf-8")
        else:
            payload = str(response.get("body_text", "")).encode("utf-8")
        return Response(payload, status=exchange.status, headers=headers)

    def _paced(self, exchange: Exchange) -> Iterator[bytes]:
        offsets = exchange.offsets_ms()
        previous = 0.0
        for index, block in enumerate(split_blocks(exchange.sse or b"")):
            offset = offsets[index] if index < len(offsets) else previous  # an added block: no gap
            self._sleep(offset - previous)
            previous = max(previous, offset)
            yield block

    def _sleep(self, milliseconds: float) -> None:
        if self.speed and milliseconds > 0:
            time.sleep(milliseconds / 1000 / self.speed)
