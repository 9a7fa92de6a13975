"""How a broken rule reads: the findings, then the request in a form that sends it again.

The API key must never reach a terminal, a JUnit file or a CI log, so
everything printed passes through :func:`mask` (the kit's one secret masker,
``schemas.secrets.SecretMasker``), which replaces the key, and any run of ten
or more of its characters (a target echoing part of it), by ``sk-***``.
A reproduction still runs as pasted: the curl command reads the key from the
environment (``-H "Authorization: Bearer $CONTRACT_API_KEY"``,
or whichever variable supplied it), so it never holds the key and needs no
editing. A request answered by the mock in-process comes as JSON with the
``python -m mockserver`` command (the run's profile and key) that serves the
same mock over HTTP, and the curl for it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from schemas.secrets import SecretMasker

if TYPE_CHECKING:
    from schemas.findings import Finding

    from .target import Reply, Sent

MASK = "sk-***"
#: Longest request body shown as JSON (the curl always carries the whole body, so that it runs as pasted).
MAX_BODY = 64 * 1024


def mask(text: str, secrets: str | Iterable[str] | None) -> str:
    """``text`` with every secret masked as ``sk-***`` by the kit's one masker (:mod:`schemas.secrets`):
    whole values always, a key-length secret (and any run of ten or more of its characters) anywhere."""
    return SecretMasker(secrets, replacement=MASK).text(text)


def as_curl(sent: Sent, secrets: Sequence[str] = ()) -> str:
    """The request as a curl command that runs as pasted: the key is read from ``$<sent.key_variable>``."""
    parts = ["curl", "-sS"]
    if sent.stream:
        parts.append("-N")
    parts += ["-X", sent.method, shlex.quote(sent.url)]
    for name, value in sent.headers.items():
        parts += ["-H", _with_variable(f"{name}: {value}", secrets, sent.key_variable)]
    if sent.body is not None:
        parts += _body_arguments(sent.body)
    return " ".join(parts)


def _with_variable(text: str, secrets: Sequence[str], variable: str) -> str:
    """``text`` quoted for a POSIX shell, each secret in it replaced by ``$variable`` (double quotes expand it)."""
    secret = next((s for s in secrets if s and s in text), None)
    if secret is None:
        return shlex.quote(text)
    pieces = [_double_quoted(piece) for piece in text.split(secret)]
    out = pieces[0]
    for piece in pieces[1:]:
        out += f"${{{variable}}}" if piece[:1].isalnum() or piece[:1] == "_" else f"${variable}"
        out += piece
    return f'"{out}"'


def _double_quoted(text: str) -> str:
    return "".join("\\" + c if c in '"\\$`' else c for c in text)


def _body_arguments(body: bytes) -> list[str]:
    """``--data-raw 'text'``; a body that is not text (invalid UTF-8, NUL) as bash's ``$'\\xHH'`` escapes."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return ["--data-raw", shlex.quote(text)]
    escaped = "".join(chr(b) if 32 <= b < 127 and chr(b) not in "\\'" else f"\\x{b:02x}" for b in body)
    return ["--data-binary", f"$'{escaped}'"]


def describe(finding: Finding) -> str:
    """``[rule] /json/pointer: message``, how a finding reads in a report."""
    note = f" ({finding.note})" if finding.note else ""
    return f"[{finding.rule}] {finding.path or '/'}: {finding.message}{note}"


def failure_report(
    what: str, profile: str, findings: Sequence[Finding], reply: Reply | None, secrets: Sequence[str] = ()
) -> str:
    """The text of a failed contract test: what broke, where, and how to send it again."""
    lines = [f"{what}: {len(findings)} contract violation(s) ({profile} profile)"]
    lines += [f"  {describe(finding)}" for finding in findings]
    if reply is not None and reply.sent is not None:
        lines += ["", *reproduction(reply.sent, reply.status, secrets)]
        if reply.status >= 400 or not (reply.is_json or reply.sent.stream):
            lines += ["reply:", "  " + reply.text[:600].replace("\n", "\n  ")]
    return mask("\n".join(lines), secrets)


def reproduction(sent: Sent, status: int, secrets: Sequence[str] = ()) -> list[str]:
    """Lines that send ``sent`` again: curl for a live target; JSON and the mock's command for in-process."""
    if sent.in_process is None:
        return [
            f"request that broke it (answered HTTP {status}); to send it again, with {sent.key_variable} set:",
            "  " + as_curl(sent, secrets),
        ]
    lines = [
        f"request that broke it (answered HTTP {status} by {sent.in_process} in-process):",
        f"  {sent.method} {urlsplit(sent.url).path}",
        "  headers: " + ", ".join(_header_line(k, v, secrets, sent.key_variable) for k, v in sent.headers.items()),
    ]
    if sent.body is not None:
        lines.append("  " + _body_text(sent.body))
    if sent.server_command:
        lines += [
            f"to send it again, serve the same mock over HTTP and post it ({sent.key_variable} set to any key):",
            "  " + sent.server_command,
            "  " + as_curl(sent, secrets),
        ]
    return lines


def _header_line(name: str, value: str, secrets: Sequence[str], variable: str) -> str:
    for secret in secrets:
        if secret:
            value = value.replace(secret, f"${variable}")
    return f"{name}: {value}"


def _body_text(body: bytes) -> str:
    if len(body) > MAX_BODY:
        return f"(a body of {len(body)} bytes, too long to show)"
    text = body.decode("utf-8", errors="backslashreplace")
    try:
        json.loads(text)
    except ValueError:
        return f"(not JSON) {text!r}"
    return text
