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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from schemas.recording import REDACTED as REDACTED  # re-exported: the recorder's names as before the move
from schemas.recording import Capture, RecordingWriter
from schemas.recording import Redactor as Redactor

from . import examples

#: The checkout's root. What ``record`` sends by default is package data (:mod:`contract_tests.examples`),
#: never read from here, so that a non-editable install records the same.
ROOT = Path(__file__).resolve().parents[1]
#: What the recorder writes into a folder: ``index.json`` and ``NNN-name.json``/``.sse`` (``--replace`` removes these).
RECORDING_FILE = re.compile(r"^(index\.json|\d{3}-.+\.(json|sse))$")
KEY_ENV_VARS = ("CONTRACT_API_KEY", "OPENAI_API_KEY")


class Recorder(RecordingWriter):
    """The kit's one exchange writer (:class:`schemas.recording.RecordingWriter`) fed by an httpx transport."""

    def __init__(self, out: Path, secrets: Iterable[str | None] = (), base_url: str | None = None):
        super().__init__(out, secrets, target=base_url)

    def transport(self, inner: httpx.BaseTransport | None = None) -> RecordingTransport:
        """An httpx transport that records every exchange through ``inner`` (default: plain HTTP)."""
        return RecordingTransport(inner or httpx.HTTPTransport(), self)


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
        content = request.read()
        capture = self.recorder.begin(request.method, request.url.path, request.headers.multi_items(), content, name)
        response = self.inner.handle_request(request)
        capture.answered(response.status_code, response.headers.multi_items())
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

    def __init__(self, inner: Any, capture: Capture, recorder: Recorder):
        self.inner, self.capture, self.recorder = inner, capture, recorder
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.capture.add(chunk)
            yield chunk
        self.capture.complete = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self.inner, "close"):
                self.inner.close()
        finally:
            self.recorder.write(self.capture)


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read JSON: {exc}") from None
