"""When a stored Response's events went out: kept with it, for the inspector page (``GET /__mock__/``).

``timed`` passes a stream's chunks through unchanged and notes each with
the clock; when the stream ends (finished, the client gone, or a fault
cutting the connection), ``keep_timing`` reads those notes into events (type,
sequence number, milliseconds since the first chunk) and adds them to the
stored record as ``sent_events``, so every worker sharing the store shows
it. The app has that done once the reply's last byte is sent
(``after.py``), so the client does not wait for it. Comments (``: PING``) are
not events and are not noted. Nothing is parsed as JSON: the type comes from
the ``event:`` line and the number from the data's text.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..state.store import Store

log = logging.getLogger("mockserver")

_EVENT_LINE = re.compile(rb"^event: *([^\r\n]+)", re.MULTILINE)
_SEQUENCE = re.compile(rb'"sequence_number": *(\d+)')
#: An event as ``sse.encode_event`` writes it: type and number in one match (what the two above find in it).
_ENCODED_EVENT = re.compile(rb'event: ([a-z_.]+)\ndata: \{"type":"[^"]*","sequence_number":(\d+)')
#: The record key of the event log (``{"events": [{type, sequence_number, ms}], "ending": ...}``).
RECORD_KEY = "sent_events"


@dataclass(slots=True)
class SentLog:
    """What a stream sent and when: each chunk with the clock when it was handed on.

    Read into events (``events``) only when kept: noting a chunk is all the
    stream's own loop pays, once per event.
    """

    started: float
    chunks: list[tuple[bytes, float]] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """The events sent, in order: type, sequence number (None when the data has none), ms since the start."""
        found = []
        for chunk, at in self.chunks:
            ms = round((at - self.started) * 1000, 1)
            encoded = _ENCODED_EVENT.match(chunk)  # the mock's own events: one match instead of two searches
            if encoded is not None:
                found.append({"type": encoded[1].decode(), "sequence_number": int(encoded[2]), "ms": ms})
            elif (event := _EVENT_LINE.search(chunk)) is not None:  # recorded or relayed blocks
                number = _SEQUENCE.search(chunk)
                found.append(
                    {
                        "type": event.group(1).decode("utf-8", "replace").strip(),
                        "sequence_number": int(number.group(1)) if number else None,
                        "ms": ms,
                    }
                )
        return found


Ended = Callable[[SentLog, str], None]


def timed(chunks: Iterable[bytes], on_end: Ended) -> Iterator[bytes]:
    """``chunks`` unchanged; ``on_end(log, ending)`` once they stop (``completed``, ``disconnected``, ``cut``)."""
    clock = time.perf_counter  # this loop runs once per event sent: names looked up once
    sent = SentLog(clock())
    note = sent.chunks.append
    ending = "completed"
    source = iter(chunks)
    try:
        for chunk in source:
            note((chunk, clock()))
            yield chunk
    except GeneratorExit:
        ending = "disconnected"
        raise
    except Exception:
        ending = "cut"
        raise
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
        on_end(sent, ending)


def keep_timing(store: Store, response_id: str, sent: SentLog, ending: str) -> None:
    """Add the event log to the stored record of ``response_id`` (gone already: nothing to do).

    One atomic update, so a change made meanwhile (a background response cancelled) is kept.
    """
    try:
        events = sent.events()
        store.update(response_id, lambda record: {**record, RECORD_KEY: {"events": events, "ending": ending}})
    except Exception as exc:  # the stream has ended for the client: a store failure here must not reach it
        log.warning("could not keep the event timing of %s: %s", response_id, exc)
