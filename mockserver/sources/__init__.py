"""Sources: who answers a create request.

A source looks at a request that passed the HTTP layer (a valid body, for a
served model the key may use) and answers it with a reply, or passes with
None. The app tries its sources in order: your own (``create_app(sources=
[...])``), the scenario files (``--scenarios``), the recordings
(``--replay``), and last the generator, which answers everything. A source
decides *what* is answered; how it goes out (faults, storing, pings,
pacing) is delivery's job, the same for every source.

A custom source is any object with ``answer`` and ``reset`` (subclass
``Source`` to inherit a ``reset`` that does nothing)::

    class Maintenance(Source):
        def answer(self, request: CreateRequest) -> Reply | None:
            if request.body.get("metadata", {}).get("case") != "maintenance":
                return None
            return CannedReply(503, {"Content-Type": "application/json"}, b'{"error": {"message": "down"}}')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..config import ModelSpec
from ..reply import CannedReply, RelayedStream, Reply, ResponseReply

__all__ = ["CannedReply", "CreateRequest", "RelayedStream", "Reply", "ResponseReply", "Source", "first_answer"]


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed the HTTP layer: a valid body, for a served model the key may use.

    ``owner`` is whose stored responses the request may continue
    (``previous_response_id``) and whose its reply becomes: a digest of the
    caller's key or project (``state/owners.py``); empty for a request made
    outside HTTP, which owns nothing. ``headers`` and ``raw`` (the body's
    bytes) are the HTTP request as it came, for a source that forwards it
    (``proxy.py``).
    """

    body: dict[str, Any]
    model: ModelSpec
    owner: str = ""
    headers: Iterable[tuple[str, str]] = ()
    raw: bytes = b""

    @property
    def streamed(self) -> bool:
        """Whether the client asked for an event stream."""
        return bool(self.body.get("stream"))


@runtime_checkable
class Source(Protocol):
    """Answers create requests it recognises; None lets the next source try."""

    def answer(self, request: CreateRequest) -> Reply | None:
        """The reply to ``request``, or None to pass it on."""
        ...

    def reset(self) -> None:
        """Forget what was counted since start (``POST /__mock__/reset``): by default, nothing."""
        return None


class NoAnswer(LookupError):
    """No source answered (the generator, which answers everything, was not among them)."""


def first_answer(sources: Iterable[Source], request: CreateRequest) -> Reply:
    """The reply of the first source that answers ``request``."""
    for source in sources:
        reply = source.answer(request)
        if reply is not None:
            return reply
    raise NoAnswer("no source answered the request")
