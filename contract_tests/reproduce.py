"""How a broken rule reads: the findings, then the request as a ready-to-run curl command.

The API key must never reach a terminal, a JUnit file or a CI log, so
everything printed passes through :func:`mask` (the kit's one secret masker,
``schemas.secrets.SecretMasker``), which replaces the key, and any run of ten
or more of its characters (a target echoing part of it), by ``sk-***``.
The curl command always shows ``Authorization: Bearer sk-***`` (or the bare
``sk-***`` form when that was sent): paste it, put the key back.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from schemas.secrets import SecretMasker

if TYPE_CHECKING:
    from schemas.findings import Finding

    from .target import Reply, Sent

MASK = "sk-***"
#: Longest request body shown in a curl command.
MAX_BODY = 4000


def mask(text: str, secrets: str | Iterable[str] | None) -> str:
    """``text`` with every secret masked as ``sk-***`` by the kit's one masker (:mod:`schemas.secrets`):
    whole values always, a key-length secret (and any run of ten or more of its characters) anywhere."""
    return SecretMasker(secrets, replacement=MASK).text(text)


def as_curl(sent: Sent, secrets: Sequence[str] = ()) -> str:
    """The request as a curl command; ``Authorization`` shown masked whatever it held."""
    parts = ["curl", "-sS"]
    if sent.stream:
        parts.append("-N")
    parts += ["-X", sent.method, shlex.quote(sent.url)]
    for name, value in sent.headers.items():
        if name.lower() == "authorization":
            value = f"Bearer {MASK}" if value.lower().startswith("bearer") else MASK
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if sent.body is not None:
        body = sent.body.decode("utf-8", errors="backslashreplace")
        if len(body) > MAX_BODY:
            body = body[:MAX_BODY] + "…(cut)"
        parts += ["--data-raw", shlex.quote(body)]
    return mask(" ".join(parts), secrets)


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
        lines += [
            "",
            f"request that broke it (answered HTTP {reply.status}{reply.sent.note}):",
            "  " + as_curl(reply.sent, secrets),
        ]
        if reply.status >= 400 or not (reply.is_json or reply.sent.stream):
            lines += ["reply:", "  " + reply.text[:600].replace("\n", "\n  ")]
    return mask("\n".join(lines), secrets)
