"""The recording format (``responses-recording/1``): contract data shared by the recorder and the replayer.

A recording folder holds one ``NNN-name.json`` per exchange (checked by
``recording.schema.json``) and, for a stream, its raw bytes in
``NNN-name.sse``. One writer (:class:`RecordingWriter`, secrets redacted
before anything touches disk) and one reader (:func:`load_exchanges`) live
here: ``python -m contract_tests record`` and the mock's recording proxy
(``--proxy-to URL --record DIR``) write through the first; the mock's
``--replay``, ``drift``, ``compat`` and ``infer`` read through the second, so
no side restates the format.

Streams are split into blocks at each blank line (an SSE event, or a comment
such as ``: PING``); a block's type is read with ``stream.parse_sse``, the one
SSE parser.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jsonschema import Draft202012Validator

from .loader import SCHEMA_ROOT, read_json
from .secrets import SENSITIVE_HEADERS, SecretMasker
from .stream import parse_sse
from .validation import to_pointer

FORMAT = "responses-recording/1"
#: The exchange files of a recording folder (``index.json`` and the ``.sse`` files are not).
EXCHANGE_GLOB = "[0-9][0-9][0-9]-*.json"
#: A blank line ends an SSE event, whatever the line ending (WHATWG SSE, 9.2.5).
BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
SCHEMA_PATH = SCHEMA_ROOT / "recording.schema.json"
REDACTED = "[REDACTED]"
#: Response headers worth keeping; everything else (dates, servers, cookies) is noise or secret.
KEPT_RESPONSE_HEADERS = re.compile(
    r"^(content-type|retry-after|x-ratelimit-.*|.*request-id|x-should-retry)$", re.IGNORECASE
)
#: Request headers worth showing (credentials among them appear as ``[REDACTED]``).
KEPT_REQUEST_HEADERS = re.compile(r"^(authorization|cookie|content-type|accept|openai-.*|x-.*)$", re.IGNORECASE)


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
    def is_create(self) -> bool:
        """Whether this is a create request (``POST .../responses``), whose reply is a Response or its stream.

        A recording made through the mock's proxy also holds the other routes
        an app called (``GET /v1/models``...); drift and infer read only the
        create requests' replies as Responses.
        """
        request = self.data["request"]
        return request.get("method") == "POST" and str(request.get("path", "")).rstrip("/").endswith("/responses")

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


# --- Writing -------------------------------------------------------------------------------------


class Redactor(SecretMasker):
    """The kit's secret masker (:class:`schemas.secrets.SecretMasker`) writing ``[REDACTED]``, plus header filtering.

    Its rules keep a recording intact: credential headers and whole secret
    values are replaced whatever their length, but only a key-length secret
    (16 characters and more) is hunted inside longer text, so recording with
    ``--api-key sk-x`` leaves every ``x`` of every body alone.
    """

    def __init__(self, secrets: Iterable[str | None] = ()):
        super().__init__(list(secrets), replacement=REDACTED)

    def headers(self, headers: Iterable[tuple[str, str]], keep: re.Pattern[str] | None = None) -> dict[str, str]:
        """Lower-cased headers (only those ``keep`` matches, if given), credentials replaced."""
        out: dict[str, str] = {}
        for name, value in headers:
            name = name.lower()
            if keep is not None and not keep.match(name):
                continue
            out[name] = self.header(name, value)
        return out


@dataclass
class Capture:
    """One exchange as it happens: the request, then the reply's bytes as they arrive; written once, at its end.

    ``add`` notes when each event block of a stream completed (its offset
    from ``started``), which is what ``--replay`` paces by.
    """

    number: int
    name: str
    method: str
    path: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    started: float = field(default_factory=time.perf_counter)
    ttfb_ms: float = 0.0
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    offsets: list[float] = field(default_factory=list)
    complete: bool = False
    _pending: bytes = b""

    def answered(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        """The reply's status line and headers arrived."""
        self.ttfb_ms = _ms(time.perf_counter() - self.started)
        self.status, self.response_headers = status, list(headers)

    def add(self, chunk: bytes) -> None:
        """Bytes of the reply arrived: kept, and each event block they complete gets its arrival offset."""
        self.body.extend(chunk)
        self._pending += chunk
        ends = list(BLOCK_END.finditer(self._pending))
        if ends:
            now = _ms(time.perf_counter() - self.started)
            self.offsets.extend(now for _ in ends)
            self._pending = self._pending[ends[-1].end() :]

    def header(self, name: str) -> str:
        """The reply's header ``name`` (case-insensitive), or ``""``."""
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), "")


class RecordingWriter:
    """Numbers exchanges and writes them to ``out`` (created if missing), redacted. Thread-safe.

    ``secrets`` are redacted wherever they stand; so is every credential a
    captured request carried (``Authorization``, cookies, ``x-api-key``),
    learnt when the exchange begins, even one nobody declared. Numbering
    continues after the exchanges already in ``out``.
    """

    def __init__(self, out: Path, secrets: Iterable[str | None] = (), target: str | None = None):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.redactor = Redactor(s for s in secrets if s)
        self.written: list[Path] = []
        self._lock = threading.Lock()
        self._next = 1 + max((int(p.name[:3]) for p in self.out.glob(EXCHANGE_GLOB)), default=0)
        self._write_index(target)

    def begin(self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes, name: str) -> Capture:
        """Start capturing one exchange (its number is taken now, so files sort in the order requests came)."""
        headers = list(headers)
        for header, value in headers:  # learn any credential sent, even one nobody told us about
            if header.lower() in SENSITIVE_HEADERS:
                self.redactor.add(value)
        with self._lock:
            number, self._next = self._next, self._next + 1
        return Capture(number, slug(name), method, path, headers, body)

    def write(self, capture: Capture) -> Path:
        """Write the exchange (redacted) and return the JSON file's path."""
        stem = f"{capture.number:03d}-{capture.name}"
        raw = _decoded(bytes(capture.body), capture.header("content-encoding"))
        is_stream = capture.header("content-type").startswith("text/event-stream")
        total_ms = _ms(time.perf_counter() - capture.started)
        record: dict[str, Any] = {
            "format": FORMAT,
            "name": capture.name,
            "request": {
                "method": capture.method,
                "path": capture.path,
                "headers": self.redactor.headers(capture.request_headers, KEPT_REQUEST_HEADERS),
                **_json_or_text(capture.request_body),
            },
            "response": {
                "status": capture.status,
                "headers": self.redactor.headers(capture.response_headers, KEPT_RESPONSE_HEADERS),
            },
            "timing": {"total_ms": total_ms, "ttfb_ms": capture.ttfb_ms},
            "complete": capture.complete,
        }
        if is_stream:
            blocks = [self.redactor.bytes(block) for block in split_blocks(raw)]
            offsets = capture.offsets
            (self.out / f"{stem}.sse").write_bytes(b"".join(blocks))
            record["stream"] = {
                "file": f"{stem}.sse",
                "events": [
                    {"type": block_type(block), "offset_ms": offsets[i] if i < len(offsets) else total_ms}
                    for i, block in enumerate(blocks)
                ],
            }
        else:
            record["response"].update(_json_or_text(raw))
        path = self.out / f"{stem}.json"
        path.write_text(self.redactor.text(json.dumps(record, ensure_ascii=False, indent=2)) + "\n", encoding="utf-8")
        with self._lock:
            self.written.append(path)
        return path

    def _write_index(self, target: str | None) -> None:
        index = {
            "format": FORMAT,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "target": public_url(target) if target else None,
            "note": "One NNN-name.json per exchange (+ NNN-name.sse for streams). Secrets are redacted.",
        }
        (self.out / "index.json").write_text(self.redactor.text(json.dumps(index, indent=2)) + "\n", encoding="utf-8")


def public_url(url: str) -> str:
    """The URL without user info or query string (either may carry a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def slug(name: str) -> str:
    """``name`` as the file-name-safe part of ``NNN-name.json``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "request"


def _json_or_text(raw: bytes) -> dict[str, Any]:
    """``{"body": parsed}`` for a JSON body, else ``{"body_text": text}`` (nothing for an empty one)."""
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace")
    try:
        return {"body": json.loads(text)}
    except ValueError:
        return {"body_text": text}


def _decoded(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "deflate"):
        try:
            return zlib.decompress(raw, wbits=47)  # gzip or zlib header, detected
        except zlib.error:
            return raw
    return raw


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(read_json(SCHEMA_PATH))
