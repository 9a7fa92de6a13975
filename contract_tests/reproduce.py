"""How a broken rule reads: the findings, then the request as a ready-to-run curl command.

The API key must never reach a terminal, a JUnit file or a CI log, so
everything printed passes through :func:`mask`, which replaces the key, and
any run of ten or more of its characters (a target echoing part of it), by
``sk-***``. The curl command always shows ``Authorization: Bearer sk-***``
(or the bare ``sk-***`` form when that was sent): paste it, put the key back.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .checks import Finding
    from .target import Reply, Sent

MASK = "sk-***"
#: Shortest run of the key's characters that counts as a leak.
LEAK_RUN = 10
#: Longest request body shown in a curl command.
MAX_BODY = 4000


def mask(text: str, secrets: str | Iterable[str] | None) -> str:
    """``text`` with every secret, and every run of ``LEAK_RUN`` of its characters, masked."""
    if isinstance(secrets, str) or secrets is None:
        secrets = [secrets or ""]
    for secret in secrets:
        if len(secret) < LEAK_RUN:
            if secret:
                text = text.replace(secret, MASK)
            continue
        text = text.replace(secret, MASK)
        if _has_run(text, secret):
            text = _mask_runs(text, secret)
    return text


def _has_run(text: str, secret: str) -> bool:
    return any(secret[i : i + LEAK_RUN] in text for i in range(len(secret) - LEAK_RUN + 1))


def _mask_runs(text: str, secret: str) -> str:
    """Mask every span of ``text`` covered by a ``LEAK_RUN``-long window of ``secret``."""
    covered = [False] * len(text)
    for i in range(len(secret) - LEAK_RUN + 1):
        window = secret[i : i + LEAK_RUN]
        start = text.find(window)
        while start != -1:
            for j in range(start, start + LEAK_RUN):
                covered[j] = True
            start = text.find(window, start + 1)
    out, index = [], 0
    while index < len(text):
        if covered[index]:
            while index < len(text) and covered[index]:
                index += 1
            out.append(MASK)
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


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


def failure_report(
    what: str, profile: str, findings: Sequence[Finding], reply: Reply | None, secrets: Sequence[str] = ()
) -> str:
    """The text of a failed contract test: what broke, where, and how to send it again."""
    lines = [f"{what}: {len(findings)} contract violation(s) ({profile} profile)"]
    lines += [f"  {finding}" for finding in findings]
    if reply is not None and reply.sent is not None:
        lines += [
            "",
            f"request that broke it (answered HTTP {reply.status}{reply.sent.note}):",
            "  " + as_curl(reply.sent, secrets),
        ]
        if reply.status >= 400 or not (reply.is_json or reply.sent.stream):
            lines += ["reply:", "  " + reply.text[:600].replace("\n", "\n  ")]
    return mask("\n".join(lines), secrets)
