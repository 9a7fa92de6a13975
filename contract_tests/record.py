"""Record exchanges with a target as readable files, secrets redacted before they touch disk.

``python -m contract_tests record --base-url URL --out DIR`` sends the
documented request and the kit's default requests (a copy of
``fixtures/recordings/requests.json`` shipped as package data; ``--requests``
replaces them) plain and streamed, and
writes one ``NNN-name.json`` per exchange (request, status, the headers that
matter, body, timing) plus ``NNN-name.sse`` with the raw event stream; the
JSON lists each event's arrival offset so that ``python -m mockserver
--replay DIR`` can reproduce the pacing.

Recording is an httpx transport wrapper (:class:`RecordingTransport`), so the
contract suite records by building its client with
``transport=Recorder(dir, secrets=[key]).transport()``: the exchange is
written when the response is closed, whatever read it. Why redact text and
not only headers: a gateway may echo a key in an error message, and the
recording is meant to be committed.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from schemas.recording import BLOCK_END, EXCHANGE_GLOB, FORMAT, block_type, split_blocks
from schemas.secrets import SENSITIVE_HEADERS, SecretMasker

from . import examples

REDACTED = "[REDACTED]"
#: Response headers worth keeping; everything else (dates, servers, cookies) is noise or secret.
KEPT_RESPONSE_HEADERS = re.compile(
    r"^(content-type|retry-after|x-ratelimit-.*|.*request-id|x-should-retry)$", re.IGNORECASE
)
#: The checkout's root. What ``record`` sends by default is package data (:mod:`contract_tests.examples`),
#: never read from here, so that a non-editable install records the same.
ROOT = Path(__file__).resolve().parents[1]
#: What the recorder writes into a folder: ``index.json`` and ``NNN-name.json``/``.sse`` (``--replace`` removes these).
RECORDING_FILE = re.compile(r"^(index\.json|\d{3}-.+\.(json|sse))$")
KEY_ENV_VARS = ("CONTRACT_API_KEY", "OPENAI_API_KEY")


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
class _Capture:
    """What one exchange produced so far; written once, when its response closes."""

    number: int
    name: str
    request: httpx.Request
    started: float
    ttfb_ms: float = 0.0
    status: int = 0
    headers: httpx.Headers | None = None
    body: bytearray | None = None
    offsets: list[float] | None = None
    complete: bool = False


class Recorder:
    """Numbers exchanges and writes them to ``out`` (created if missing). Thread-safe."""

    def __init__(self, out: Path, secrets: Iterable[str | None] = (), base_url: str | None = None):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.redactor = Redactor(s for s in secrets if s)
        self.written: list[Path] = []
        self._lock = threading.Lock()
        self._next = 1 + max((int(p.name[:3]) for p in self.out.glob(EXCHANGE_GLOB)), default=0)
        self._write_index(base_url)

    def transport(self, inner: httpx.BaseTransport | None = None) -> RecordingTransport:
        """An httpx transport that records every exchange through ``inner`` (default: plain HTTP)."""
        return RecordingTransport(inner or httpx.HTTPTransport(), self)

    def begin(self, request: httpx.Request, name: str) -> _Capture:
        for header in SENSITIVE_HEADERS:  # learn any credential sent, even one nobody told us about
            for value in request.headers.get_list(header):
                self.redactor.add(value)
        with self._lock:
            number, self._next = self._next, self._next + 1
        return _Capture(number, _slug(name), request, time.perf_counter())

    def finish(self, capture: _Capture) -> Path:
        """Write the exchange (redacted) and return the JSON file's path."""
        stem = f"{capture.number:03d}-{capture.name}"
        headers = capture.headers or httpx.Headers()
        raw = _decoded(bytes(capture.body or b""), headers.get("content-encoding", ""))
        is_stream = headers.get("content-type", "").startswith("text/event-stream")
        total_ms = _ms(time.perf_counter() - capture.started)
        record: dict[str, Any] = {
            "format": FORMAT,
            "name": capture.name,
            "request": {
                "method": capture.request.method,
                "path": capture.request.url.path,
                "headers": self.redactor.headers(capture.request.headers.multi_items(), _REQUEST_HEADERS_KEPT),
                **_json_or_text(capture.request.content),
            },
            "response": {
                "status": capture.status,
                "headers": self.redactor.headers(headers.multi_items(), KEPT_RESPONSE_HEADERS),
            },
            "timing": {"total_ms": total_ms, "ttfb_ms": capture.ttfb_ms},
            "complete": capture.complete,
        }
        if is_stream:
            blocks = [self.redactor.bytes(block) for block in split_blocks(raw)]
            offsets = capture.offsets or []
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

    def _write_index(self, base_url: str | None) -> None:
        index = {
            "format": FORMAT,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "target": _public_url(base_url) if base_url else None,
            "note": "One NNN-name.json per exchange (+ NNN-name.sse for streams). Secrets are redacted.",
        }
        (self.out / "index.json").write_text(self.redactor.text(json.dumps(index, indent=2)) + "\n", encoding="utf-8")


#: Request headers worth showing (credentials among them appear as ``[REDACTED]``).
_REQUEST_HEADERS_KEPT = re.compile(r"^(authorization|cookie|content-type|accept|openai-.*|x-.*)$", re.IGNORECASE)


class RecordingTransport(httpx.BaseTransport):
    """Sends through ``inner`` and records the exchange when the response is closed.

    Name an exchange with the request extension ``record_name``
    (``client.post(url, json=body, extensions={"record_name": "documented"})``);
    without one it is named after the path. Asks for an uncompressed reply
    (``Accept-Encoding: identity``) so the raw stream is readable on disk.
    """

    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder):
        self.inner = inner
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        name = str(request.extensions.pop("record_name", None) or request.url.path.rsplit("/", 1)[-1] or "request")
        request.headers["Accept-Encoding"] = "identity"
        request.read()
        capture = self.recorder.begin(request, name)
        response = self.inner.handle_request(request)
        capture.ttfb_ms = _ms(time.perf_counter() - capture.started)
        capture.status, capture.headers = response.status_code, response.headers
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_TimedStream(response.stream, capture, self.recorder),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


class _TimedStream(httpx.SyncByteStream):
    """Passes the body through, noting when each event block completed; writes the exchange on close."""

    def __init__(self, inner: Any, capture: _Capture, recorder: Recorder):
        self.inner, self.capture, self.recorder = inner, capture, recorder
        capture.body, capture.offsets = bytearray(), []
        self._pending = b""
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self._note(chunk)
            yield chunk
        self.capture.complete = True

    def _note(self, chunk: bytes) -> None:
        assert self.capture.body is not None and self.capture.offsets is not None
        self.capture.body.extend(chunk)
        self._pending += chunk
        ends = list(BLOCK_END.finditer(self._pending))
        if ends:
            now = _ms(time.perf_counter() - self.capture.started)
            self.capture.offsets.extend(now for _ in ends)
            self._pending = self._pending[ends[-1].end() :]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self.inner, "close"):
                self.inner.close()
        finally:
            self.recorder.finish(self.capture)


@dataclass(frozen=True)
class RequestSpec:
    """One request to record: a file-name-safe name, the body, and the modes (plain, stream)."""

    name: str
    body: dict[str, Any]
    modes: tuple[str, ...] = ("plain", "stream")


def load_requests(sources: Iterable[Path] | None = None, *, documented: bool = True) -> list[RequestSpec]:
    """The documented request (unless told not to), then those in ``sources``.

    Without ``sources`` (None), the kit's default list: the packaged copy of
    ``fixtures/recordings/requests.json``, read through ``importlib.resources``
    so that an installed kit records the same as a checkout. A source is a
    JSON file holding a list of ``{"name", "body", "modes"?}`` or an object
    ``{name: body}``, or a folder whose ``*.json`` files are bodies named by
    their stem (e.g. ``fixtures/requests/valid``).
    """
    specs = [RequestSpec("documented", examples.documented_request())] if documented else []
    if sources is None:
        return specs + _specs(examples.record_requests(), "the default requests (contract_tests/data)")
    for source in sources:
        source = Path(source)
        if source.is_dir():
            specs.extend(RequestSpec(p.stem, _read_json(p)) for p in sorted(source.glob("*.json")))
        else:
            specs.extend(_specs(_read_json(source), str(source)))
    return specs


def _specs(data: Any, source: str) -> list[RequestSpec]:
    entries = [{"name": k, "body": v} for k, v in data.items()] if isinstance(data, dict) else data
    specs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("body"), dict) or not entry.get("name"):
            raise ValueError(f"{source}: [{index}]: each request needs a 'name' and a JSON object 'body'")
        modes = tuple(entry.get("modes", ("plain", "stream")))
        if not set(modes) <= {"plain", "stream"}:
            raise ValueError(f"{source}: [{index}].modes: use 'plain' and/or 'stream'")
        specs.append(RequestSpec(str(entry["name"]), entry["body"], modes))
    return specs


def prepare_out(out: Path, *, replace: bool = False) -> None:
    """Refuse an ``--out`` folder that holds files, unless ``replace``: then remove the recording in it.

    Recording into a used folder used to add to it silently, mixing two runs
    that ``drift`` would then read as one. ``--replace`` removes only what
    the recorder writes (``index.json``, ``NNN-name.json``/``.sse``) and
    refuses a folder holding anything else.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    present = sorted(out.iterdir())
    if not present:
        return
    if not replace:
        raise ValueError(
            f"--out {out} is not empty ({len(present)} files): record into a new folder, "
            "or pass --replace to replace the recording in it"
        )
    others = [p.name for p in present if not (p.is_file() and RECORDING_FILE.match(p.name))]
    if others:
        raise ValueError(
            f"--out {out} holds files the recorder did not write ({', '.join(others[:5])}): "
            "--replace removes only a recording; choose another folder"
        )
    for path in present:
        path.unlink()


def record_target(
    base_url: str,
    api_key: str | None,
    out: Path,
    specs: Iterable[RequestSpec],
    *,
    timeout: float = 120.0,
    transport: httpx.BaseTransport | None = None,
) -> list[Path]:
    """Send every spec in each of its modes to ``base_url`` and record the exchanges; returns the JSON files.

    ``transport`` replaces the network (e.g. ``httpx.WSGITransport(app=...)`` for an in-process mock).
    """
    base = normalise_base_url(base_url)
    recorder = Recorder(out, secrets=[api_key], base_url=base)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(
        base_url=base, headers=headers, timeout=timeout, transport=recorder.transport(transport)
    ) as client:
        for spec in specs:
            for mode in spec.modes:
                body = {k: v for k, v in spec.body.items() if k != "stream"}
                if mode == "stream":
                    body["stream"] = True
                name = spec.name if mode == "plain" else f"{spec.name}-stream"
                with client.stream("POST", "responses", json=body, extensions={"record_name": name}) as response:
                    for _ in response.iter_raw():
                        pass
    return list(recorder.written)


def normalise_base_url(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1/`` (as the openai SDK expects a base URL ending in /v1)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path + "/", parts.query, ""))


def api_key_from_env() -> str | None:
    return next((os.environ[v] for v in KEY_ENV_VARS if os.environ.get(v)), None)


def _public_url(url: str) -> str:
    """The URL without user info or query string (either may carry a credential)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read JSON: {exc}") from None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "request"


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
