"""When a stored Response's events went out: kept with it, for the inspector page (``GET /__mock__/``).

``timed`` passes a stream's chunks through unchanged and notes, for each
event, its type, its sequence number and the milliseconds since the first
chunk; when the stream ends (finished, the client gone, or a fault cutting
the connection), ``keep_timing`` adds that log to the stored record as
``sent_events``, so every worker sharing the store shows it. Comments
(``: PING``) are not events and are not noted. Nothing is parsed as JSON: the
type comes from the ``event:`` line and the number from the data's text.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..state.store import Store

log = logging.getLogger("mockserver")

_EVENT_LINE = re.compile(rb"^event: *([^\r\n]+)", re.MULTILINE)
_SEQUENCE = re.compile(rb'"sequence_number": *(\d+)')
#: An event as ``sse.encode_event`` writes it: type and number in one match (what the two above find in it).
_ENCODED_EVENT = re.compile(rb'event: ([a-z_.]+)\ndata: \{"type":"[^"]*","sequence_number":(\d+)')
#: The record key of the event log (``{"events": [{type, sequence_number, ms}], "ending": ...}``).
RECORD_KEY = "sent_events"

Ended = Callable[[list[dict[str, Any]], str], None]


def timed(chunks: Iterable[bytes], on_end: Ended) -> Iterator[bytes]:
    """``chunks`` unchanged; ``on_end(events, ending)`` once they stop (``completed``, ``disconnected``, ``cut``)."""
    clock = time.perf_counter  # this loop runs once per event sent: names looked up once
    started = clock()
    events: list[dict[str, Any]] = []
    note = events.append
    ending = "completed"
    source = iter(chunks)
    try:
        for chunk in source:
            encoded = _ENCODED_EVENT.match(chunk)  # the mock's own events: one match instead of two searches
            if encoded is not None:
                note({"type": encoded[1].decode(), "sequence_number": int(encoded[2]), "ms": _ms(clock, started)})
            elif (event := _EVENT_LINE.search(chunk)) is not None:  # recorded or relayed blocks
                number = _SEQUENCE.search(chunk)
                note(
                    {
                        "type": event.group(1).decode("utf-8", "replace").strip(),
                        "sequence_number": int(number.group(1)) if number else None,
                        "ms": _ms(clock, started),
                    }
                )
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
        on_end(events, ending)


def _ms(clock: Callable[[], float], started: float) -> float:
    """Milliseconds since ``started``, to a tenth."""
    return round((clock() - started) * 1000, 1)


def keep_timing(store: Store, response_id: str, events: list[dict[str, Any]], ending: str) -> None:
    """Add the event log to the stored record of ``response_id`` (gone already: nothing to do).

    One atomic update, so a change made meanwhile (a background response cancelled) is kept.
    """
    try:
        store.update(response_id, lambda record: {**record, RECORD_KEY: {"events": events, "ending": ending}})
    except Exception as exc:  # the stream has ended for the client: a store failure here must not reach it
        log.warning("could not keep the event timing of %s: %s", response_id, exc)
