"""The one pacer: every stream the mock sends, generated or recorded, goes out through ``paced``.

It sends each chunk after its wait (``--stream-delay`` between generated
events, the recorded gaps of a replayed or scenario stream), puts a ``: PING``
comment before every Nth event (``--ping-every``), applies the wire faults
(``latency`` before each event, ``drop-after`` cutting the connection) and
logs a client that leaves mid-stream, which costs nothing else.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..faultspec import Faults
from .faults import ConnectionDropped, latency_seconds
from .sse import PING

log = logging.getLogger("mockserver")


@dataclass(frozen=True)
class Chunk:
    """Bytes to send, ``wait`` seconds after the chunk before; ``event`` is False for a comment block."""

    data: bytes
    wait: float = 0.0
    event: bool = True


def paced(
    chunks: Iterable[Chunk], *, ping_every: int, faults: Faults, rng: random.Random, label: str
) -> Iterator[bytes]:
    """Send ``chunks`` as they come, paced, pinged and faulted; a client that leaves is logged, not an error."""
    sent = 0
    try:
        for chunk in chunks:
            if chunk.event and faults.drop_after is not None and sent >= faults.drop_after:
                raise ConnectionDropped(f"drop-after={faults.drop_after}")
            if chunk.wait > 0:
                time.sleep(chunk.wait)
            if chunk.event and faults.latency:
                time.sleep(latency_seconds(faults, rng))
            if chunk.event and sent and ping_every and sent % ping_every == 0:
                yield PING
            yield chunk.data
            sent += chunk.event
        if faults.drop_after is not None and sent >= faults.drop_after:
            raise ConnectionDropped(f"drop-after={faults.drop_after}")  # N at or past the end: still no clean end
    except GeneratorExit:
        log.info("client disconnected from stream %s after %d events", label, sent)
        raise
