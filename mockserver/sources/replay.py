"""Recorded replies: ``python -m mockserver --replay DIR [--replay-speed X]``.

A recording (written by ``python -m contract_tests record``, in the format
``schemas/recording.py`` reads) is one ``NNN-name.json`` per exchange and,
for a stream, the raw event stream in ``NNN-name.sse``.

A create request whose body (without ``stream``) equals a recorded one is
answered with the recorded status and body; the ``stream`` flag picks the
plain or the streamed recording. Streams keep their recorded gaps between
events, divided by the speed factor (0: no delay). A request nothing matches
goes on to the next source (the generator), with a log line, or with
``strict`` (``--replay-strict``) gets a 400 error: a check that an app sends
only what was recorded.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from schemas.recording import Exchange, load_exchanges, request_key, split_blocks

from ..failures import ApiError
from ..reply import CannedReply
from . import CreateRequest, Source

log = logging.getLogger("mockserver")

#: Response headers the replay sends back (the rest are the mock's own).
REPLAYED_HEADERS = ("content-type", "retry-after")


class ReplaySource(Source):
    """Answers requests from a recording folder.

    Several recordings of one request are served in turn (then again from the
    first), so a recorded sequence such as "rate limited, then answered"
    replays in order.
    """

    def __init__(self, folder: Path, speed: float = 1.0, *, strict: bool = False):
        if speed < 0:
            raise ValueError(f"replay speed must not be negative, got {speed}")
        self.folder = Path(folder)
        self.speed = speed
        #: A request no recording matches is a 400 (``invalid_request``) instead of going on to the next source.
        self.strict = strict
        self._lock = threading.Lock()
        self._grouped: dict[tuple[str, bool], list[Exchange]] = {}
        for exchange in filter(lambda e: e.is_create, load_exchanges(self.folder)):  # a proxy records other routes too
            self._grouped.setdefault(request_key(exchange.request_body), []).append(exchange)
        self._by_key: dict[tuple[str, bool], Iterator[Exchange]] = {}
        self.reset()
        log.info(
            "replay: %d recorded request(s) from %s at speed %s", len(self._grouped), self.folder, self.speed or "max"
        )

    def reset(self) -> None:
        """Serve each request's recordings from the first again (``POST /__mock__/reset``)."""
        with self._lock:
            self._by_key = {key: itertools.cycle(items) for key, items in self._grouped.items()}

    def __len__(self) -> int:
        return len(self._by_key)

    def statuses(self) -> set[int]:
        """The HTTP statuses the recordings answer with."""
        return {exchange.status for exchanges in self._grouped.values() for exchange in exchanges}

    def answer(self, request: CreateRequest) -> CannedReply | None:
        """The next recording of this request, or None when none was recorded."""
        key = request_key(request.body)
        with self._lock:
            exchanges = self._by_key.get(key)
            exchange = next(exchanges) if exchanges else None
        if exchange is None and self.strict:
            log.info("replay: no recording matches this request (stream=%s); strict replay: 400", key[1])
            raise ApiError("invalid_request", param="replay", detail="no recorded exchange matches this request")
        if exchange is None:
            log.info("replay: no recording matches this request (stream=%s); the next source answers", key[1])
            return None
        log.info("replay: answering from %s", exchange.path.name)
        return self.recorded(exchange)

    def recorded(self, exchange: Exchange) -> CannedReply:
        """The recorded reply: the raw stream with its recorded gaps, or the body after the recorded time."""
        headers = {k: v for k, v in exchange.headers.items() if k.lower() in REPLAYED_HEADERS}
        if exchange.sse is not None:
            blocks = tuple(split_blocks(exchange.sse))
            return CannedReply(exchange.status, headers, blocks=blocks, waits=self._gaps(exchange, len(blocks)))
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        response = exchange.data["response"]
        if "body" in response:
            payload = json.dumps(response["body"], ensure_ascii=False).encode("utf-8")
        else:
            payload = str(response.get("body_text", "")).encode("utf-8")
        return CannedReply(exchange.status, headers, body=payload, wait=self._scaled(exchange.total_ms()))

    def _gaps(self, exchange: Exchange, count: int) -> tuple[float, ...]:
        """Seconds before each block: the recorded gap after the one before (an added block: none)."""
        offsets = exchange.offsets_ms()
        gaps, previous = [], 0.0
        for index in range(count):
            offset = offsets[index] if index < len(offsets) else previous
            gaps.append(self._scaled(offset - previous))
            previous = max(previous, offset)
        return tuple(gaps)

    def _scaled(self, milliseconds: float) -> float:
        return milliseconds / 1000 / self.speed if self.speed and milliseconds > 0 else 0.0
