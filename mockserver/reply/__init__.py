"""Replies: what a source answers, before delivery decides how it goes out.

A source (``sources/``) answers a create request with one of two kinds of
reply:

- ``ResponseReply``: a finished Response object the mock built (generated,
  or a scenario's fixed text or output), with what to store for it and how
  to stream it (its events are derived from it, ``events.py``);
- ``CannedReply``: an HTTP answer sent as written (a scenario's error, a
  recorded reply or stream), with the pacing it was recorded with;
- ``RelayedStream``: an event stream passed on as another server sends it
  (the proxy's, ``sources/proxy.py``), block by block as each arrives.

Delivery (``delivery/``) takes either and applies faults, storing, pings and
pacing the same way (README, "Architecture", says which fault acts on which).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas.behaviour import Behaviour

from ..config import Pacing
from .events import response_events, seeded_chunker


@dataclass(frozen=True)
class ResponseReply:
    """A finished Response and how to send it.

    ``record`` is what ``previous_response_id`` and ``GET`` read back
    (``input_items``, ``conversation``), or None when the request said
    ``store: false``. ``chunk_seed`` fixes how its text is cut into deltas,
    ``reasoning_family`` which reasoning events it streams. ``background``:
    the response runs in the background (OpenAI: queued, then in progress,
    polled); ``conversation_id``: the conversation this turn's items
    (``conversation_input``, then the output) are added to.
    ``pacing``: streaming physics of its own (a scenario's), else the server's.
    """

    response: dict[str, Any]
    behaviour: Behaviour
    streamed: bool = False
    record: dict[str, Any] | None = None
    chunk_seed: int = 0
    reasoning_family: str = "summary"
    background: bool = False
    conversation_id: str | None = None
    conversation_input: tuple[dict[str, Any], ...] = ()
    pacing: Pacing | None = None

    def events(self) -> Iterator[dict[str, Any]]:
        """The stream of this Response, numbered from 0, cut as it is read (the first event goes out at once)."""
        return response_events(
            self.response, reasoning_family=self.reasoning_family, chunker=seeded_chunker(self.chunk_seed)
        )


@dataclass(frozen=True)
class CannedReply:
    """An HTTP answer sent as written.

    A plain answer is ``body`` after ``wait`` seconds; a stream is
    ``blocks`` (each an SSE event or comment with its blank line), block
    ``i`` sent ``waits[i]`` seconds after the one before.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    wait: float = 0.0
    blocks: tuple[bytes, ...] | None = None
    waits: tuple[float, ...] = ()

    @property
    def streamed(self) -> bool:
        """Whether this answer is an event stream."""
        return self.blocks is not None


@dataclass(frozen=True)
class RelayedStream:
    """An event stream relayed as it arrives: ``blocks`` yields each SSE block when the upstream has sent it.

    Its length and timing are the upstream's, so only the wire faults
    (latency, ``drop-after``) and pings apply; ``close`` is called when the
    client's response ends, finished or abandoned, and closes the upstream.
    """

    status: int
    headers: dict[str, str]
    blocks: Iterator[bytes]
    close: Callable[[], None] = lambda: None

    @property
    def streamed(self) -> bool:
        """Always: a relayed answer is an event stream."""
        return True


#: What a source answers.
Reply = ResponseReply | CannedReply | RelayedStream
