"""What every proxied exchange passes through: the recorder (``--record DIR``) and the judge.

Recording uses the kit's one exchange writer (``schemas.recording``): the
exchange is redacted before anything is written (the caller's key, the
upstream key, ``Authorization``, cookies, any value equal to a key) and a
stream keeps each event's arrival time, so ``--replay DIR``, ``drift`` and
``infer`` read it like any recording. An exchange is named after what was
asked (``responses-<digest of the request>``, ``-stream`` for a stream), so
two recordings of the same app traffic pair up in ``drift``.

Judging uses the contract suite's own checks (``schemas.checks``) at the
suite's levels (``schemas/levels.json``, or ``--levels FILE``): a create
request's reply gets the profile's schema and the invariants (usage
arithmetic, status, identity, timestamps, output), a stream the stream rules
and then its final response the same; an error reply the profile's error
envelope; ``GET /v1/models`` the model list's schema. Violations are logged
with their rule and JSON pointer and counted (``verdicts.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from schemas.checks import finding, model_list, reply_findings, reply_schema, stream_findings
from schemas.findings import Finding
from schemas.levels import Levels
from schemas.recording import Capture, RecordingWriter, request_key
from schemas.validation import validate

from .verdicts import Verdicts

log = logging.getLogger("mockserver")

CREATE_PATH = "/v1/responses"


def exchange_name(method: str, path: str, body: Any, streamed: bool) -> str:
    """The name of a proxied exchange: the route, a digest of the request (as replay keys it), ``-stream``."""
    route = path.removeprefix("/v1/").replace("/", "-") or "v1"
    if method != "POST" or not isinstance(body, dict):
        return f"{method.lower()}-{route}"
    canonical, _ = request_key(body)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]
    return f"{route}-{digest}" + ("-stream" if streamed else "")


class Tap:
    """Records and judges the exchanges that pass through the proxy (thread-safe: one per app)."""

    def __init__(self, profile: str, levels: Levels, verdicts: Verdicts, writer: RecordingWriter | None = None):
        self.profile = profile
        self.levels = levels
        self.verdicts = verdicts
        self.writer = writer

    def begin(
        self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes, name: str
    ) -> Capture | None:
        """Start recording one exchange (None when not recording)."""
        if self.writer is None:
            return None
        return self.writer.begin(method, path, headers, body, name)

    def learn(self, secret: str | None) -> None:
        """Redact ``secret`` too (the caller's key, when the upstream gets another)."""
        if self.writer is not None:
            self.writer.redactor.add(secret)

    def finish(self, capture: Capture | None) -> None:
        """Write a recorded exchange (redacted); a failure to write is logged, never the client's problem."""
        if capture is None or self.writer is None:
            return
        try:
            self.writer.write(capture)
        except OSError as exc:
            log.error("proxy: cannot write the recording of %s: %s", capture.name, exc.strerror or exc)

    def judge(
        self,
        method: str,
        path: str,
        request: Any,
        status: int,
        *,
        body: bytes | None = None,
        stream: str | None = None,
        request_id: str = "",
    ) -> list[Finding]:
        """The levelled findings on one reply (a plain ``body`` or a ``stream``'s text), logged and counted."""
        found = [self.levels.apply(f) for f in self.findings(method, path, request, status, body, stream)]
        what = f"{method} {path}"
        for item in found:
            if item.fails:
                log.warning(
                    "proxy: contract violation %s at %s: %s (%s)", item.rule, item.path or "/", item.message, what
                )
            else:
                log.info("proxy: %s %s at %s: %s (%s)", item.level, item.rule, item.path or "/", item.message, what)
        self.verdicts.add(what, request_id, found)
        return found

    def findings(
        self, method: str, path: str, request: Any, status: int, body: bytes | None, stream: str | None
    ) -> list[Finding]:
        """The suite's checks that apply to this reply (none for a route the contract does not cover)."""
        request = request if isinstance(request, dict) else {}
        if status >= 400:
            return error_findings(body or (stream or "").encode("utf-8"), self.profile)
        if status != 200:
            return []
        if method == "POST" and path == CREATE_PATH:
            if stream is not None:
                found, final = stream_findings(stream, self.profile)
                return found + (self.finished_reply(final, request) if final is not None else [])
            return self.finished_reply(_json(body), request)
        if method == "GET" and path == "/v1/models":
            return model_list(_json(body), self.profile)
        return []

    def finished_reply(self, reply: Any, request: dict[str, Any]) -> list[Finding]:
        """A create request's reply: the schema and, for a synchronous one, the invariants (a background reply
        is not finished yet)."""
        if request.get("background"):
            return reply_schema(reply, self.profile)
        return reply_findings(reply, request, self.profile)


def error_findings(body: bytes, profile: str) -> list[Finding]:
    """An error reply is in the profile's error envelope."""
    parsed = _json(body)
    if not isinstance(parsed, dict):
        return [finding("error_envelope", "", f"the error body is not a JSON object: {body[:120]!r}")]
    return [finding("error_envelope", v.path, v.message) for v in validate(parsed, "error", profile)]


def first_violation(findings: list[Finding]) -> Finding | None:
    """The violation to name to the client (``--fail-on-violation``), if any."""
    return next((f for f in findings if f.fails), None)


def violation_detail(violation: Finding) -> str:
    """How the client is told: the rule, the JSON pointer, what is wrong."""
    return f"{violation.rule} at {violation.path or '/'}: {violation.message}"


def _json(body: bytes | None) -> Any:
    try:
        return json.loads(body or b"")
    except (ValueError, RecursionError):
        return None
