"""Server-sent events on the wire: the one set of SSE headers and the one writer.

Each event is an ``event:`` line, a one-line JSON ``data:`` line and a blank
line, with no ``[DONE]`` (the Responses API ends with its terminal event).
Recorded streams are sent as their recorded bytes; everything the mock
writes itself goes through ``encode_event``/``encode_comment``.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..jsontext import PASSTHROUGH, dumps_compact

MIMETYPE = "text/event-stream"
#: Headers of every stream the mock sends: no caching, and no buffering by a proxy in front (nginx).
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: The gateway's keep-alive comment (``--ping-every``).
PING = b": PING\n\n"


def encode_event(event: dict[str, Any]) -> bytes:
    """One event on the wire: ``event:`` line, one-line JSON ``data:``, blank line.

    Called once per event sent, so orjson is called directly; what it cannot
    write alone (``dumps_compact``'s fallbacks) goes through ``dumps_compact``,
    which writes the same bytes either way.
    """
    try:
        data = orjson.dumps(event, option=PASSTHROUGH)  # dumps_compact's options, without its default
    except TypeError:
        data = dumps_compact(event)
    return b"event: " + event["type"].encode() + b"\ndata: " + data + b"\n\n"


def encode_comment(text: str) -> bytes:
    """A comment line (``: PING``), which clients skip."""
    return f": {text}\n\n".encode()
