"""The one pacer: every stream the mock sends, generated or recorded, goes out through ``paced``.

It sends each chunk after its wait, puts a ``: PING`` comment before every
Nth event (``--ping-every``), applies the wire faults (``latency`` before
each event, ``drop-after`` cutting the connection) and logs a client that
leaves mid-stream, which costs nothing else.

The waits of the events the mock generates (a generated or scenario reply,
a resumed stream) are timed by ``event_chunks``: ``--stream-delay`` between
events plus the streaming physics (``config.Pacing``: ``--ttft`` before the
first output event, each delta its tokens' worth of time at
``--tokens-per-second``, every wait stretched or shrunk by up to
``--jitter``, drawn from a generator seeded by the server seed and the
stream, so two runs pace the same). A recorded stream keeps its recorded
gaps. The events are the same with or without pacing: only the waits change.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from schemas import events as ev

from ..config import Pacing
from ..faultspec import Faults
from ..reply.tokens import count_tokens
from .faults import ConnectionDropped, latency_seconds
from .sse import PING, encode_event

log = logging.getLogger("mockserver")


@dataclass(slots=True)
class Chunk:
    """Bytes to send, ``wait`` seconds after the chunk before; ``event`` is False for a comment block.

    One per event sent, so made cheaply (slots, not frozen: a third of the cost); never changed once made.
    """

    data: bytes
    wait: float = 0.0
    event: bool = True


#: Events that open a stream before the model produces anything (``--ttft`` comes after them).
LIFECYCLE_START = frozenset((ev.CREATED, ev.IN_PROGRESS, ev.QUEUED))


def event_chunks(events: Iterable[dict[str, Any]], *, delay: float, pacing: Pacing, seed: int) -> Iterator[Chunk]:
    """``events`` encoded, each with its wait: ``delay`` between events plus the streaming physics of ``pacing``.

    Each event is encoded as it is reached, so the first goes out before the
    rest are cut; only jitter, seeded by the whole stream's shape, reads them all first.
    """
    if not (delay or pacing.ttft or pacing.tokens_per_second):  # no waits (jitter only scales waits): just encode
        for event in events:
            yield Chunk(encode_event(event))
        return
    jitter = None
    if pacing.jitter:
        events = list(events)
        jitter = _jitter_rng(seed, events)
    waiting_for_output = True
    for index, event in enumerate(events):
        wait = delay if index else 0.0
        if pacing.ttft and waiting_for_output and event.get("type") not in LIFECYCLE_START:
            wait += pacing.ttft
            waiting_for_output = False
        if pacing.tokens_per_second and isinstance(event.get("delta"), str):
            wait += count_tokens(event["delta"]) / pacing.tokens_per_second
        if jitter is not None and wait:
            wait *= 1 + jitter.uniform(-pacing.jitter, pacing.jitter)
        yield Chunk(encode_event(event), wait=wait)


def _jitter_rng(seed: int, events: Sequence[dict[str, Any]]) -> random.Random:
    """The jitter's generator: fixed by the server seed and the stream's shape, so two runs pace the same."""
    shape = "|".join(f"{event.get('type')}:{len(str(event.get('delta', '')))}" for event in events)
    digest = hashlib.sha256(f"{seed}|pace|{shape}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def paced(
    chunks: Iterable[Chunk], *, ping_every: int, faults: Faults, rng: random.Random, label: str
) -> Iterator[bytes]:
    """Send ``chunks`` as they come, paced, pinged and faulted; a client that leaves is logged, not an error."""
    sent = 0
    drop_after, latency = faults.drop_after, faults.latency  # read once: the loop runs once per event
    try:
        for chunk in chunks:
            if chunk.event and drop_after is not None and sent >= drop_after:
                raise ConnectionDropped(f"drop-after={drop_after}")
            if chunk.wait > 0:
                time.sleep(chunk.wait)
            if chunk.event and latency:
                time.sleep(latency_seconds(faults, rng))
            if chunk.event and sent and ping_every and sent % ping_every == 0:
                yield PING
            yield chunk.data
            sent += chunk.event
        if drop_after is not None and sent >= drop_after:
            raise ConnectionDropped(f"drop-after={drop_after}")  # N at or past the end: still no clean end
    except GeneratorExit:
        log.info("client disconnected from stream %s after %d events", label, sent)
        raise
