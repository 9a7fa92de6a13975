"""The recording format (``responses-recording/1``): contract data shared by the recorder and the replayer.

A recording folder holds one ``NNN-name.json`` per exchange (checked by
``recording.schema.json``) and, for a stream, its raw bytes in
``NNN-name.sse``. ``python -m contract_tests record`` writes it; the mock's
``--replay``, ``drift``, ``compat`` and ``infer`` read it, all through this
module, so neither side restates the format.

Streams are split into blocks at each blank line (an SSE event, or a comment
such as ``: PING``); a block's type is read with ``stream.parse_sse``, the one
SSE parser.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .loader import SCHEMA_ROOT, read_json
from .stream import parse_sse
from .validation import to_pointer

FORMAT = "responses-recording/1"
#: The exchange files of a recording folder (``index.json`` and the ``.sse`` files are not).
EXCHANGE_GLOB = "[0-9][0-9][0-9]-*.json"
#: A blank line ends an SSE event, whatever the line ending (WHATWG SSE, 9.2.5).
BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
SCHEMA_PATH = SCHEMA_ROOT / "recording.schema.json"


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
    """The event type of one block: the JSON ``type`` of its data, else its ``event:`` line.

    A block with data that names no type is ``:data`` (``[DONE]`` included), a
    block without data (a comment) is ``:comment``.
    """
    text = block.decode("utf-8", "replace")
    if not BLOCK_END.search(block):  # a cut-off tail: end it, so the parser dispatches what it has
        text += "\n\n"
    parsed = parse_sse(text)
    if not parsed.events:
        return ":data" if parsed.done_marker else ":comment"
    event = parsed.events[0]
    if isinstance(event.json, dict) and isinstance(event.json.get("type"), str):
        return event.json["type"]
    return event.event or ":data"


def is_event(block: bytes) -> bool:
    """Whether a block is an event a client dispatches (not a comment such as ``: PING``)."""
    return block_type(block) != ":comment"


@dataclass
class Exchange:
    """One recorded request and reply, as read back from disk."""

    path: Path
    data: dict[str, Any]
    sse: bytes | None = None

    @property
    def request_body(self) -> dict[str, Any]:
        """The request's JSON body (``{}`` when it had none)."""
        return self.data["request"].get("body") or {}

    @property
    def status(self) -> int:
        """The recorded HTTP status."""
        return int(self.data["response"]["status"])

    @property
    def headers(self) -> dict[str, str]:
        """The response headers that were kept."""
        return self.data["response"].get("headers", {})

    @property
    def body(self) -> Any:
        """The parsed JSON body (None for a stream or a non-JSON body)."""
        return self.data["response"].get("body")

    @property
    def is_stream(self) -> bool:
        """Whether the reply was an event stream (its bytes are in ``sse``)."""
        return self.sse is not None

    def offsets_ms(self) -> list[float]:
        """Arrival offset of each stream block, from the start of the request."""
        return [float(e.get("offset_ms") or 0.0) for e in (self.data.get("stream") or {}).get("events", [])]

    def total_ms(self) -> float:
        """How long the whole exchange took (0 when not recorded)."""
        return float((self.data.get("timing") or {}).get("total_ms") or 0.0)


def exchange_problem(data: Any) -> str | None:
    """Why ``data`` is not a recorded exchange (the first violation of the schema), or None."""
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is None:
        return None
    return f"{to_pointer(error.absolute_path) or '/'}: {error.message}"


def load_exchanges(folder: Path) -> list[Exchange]:
    """Every exchange in ``folder``, in file-name order; errors name the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such recording folder")
    exchanges = []
    for path in sorted(folder.glob(EXCHANGE_GLOB)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a recorded exchange: {exc}") from None
        problem = exchange_problem(data)
        if problem is not None:
            raise ValueError(f"{path}: not a recorded exchange ({FORMAT}): {problem}")
        stream = data.get("stream")
        try:
            sse = (folder / stream["file"]).read_bytes() if stream else None
        except OSError as exc:
            raise ValueError(f"{path}: cannot read its stream file: {exc}") from None
        exchanges.append(Exchange(path, data, sse))
    return exchanges


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(read_json(SCHEMA_PATH))
