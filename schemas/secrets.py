"""One secret masker for the whole kit: recordings, reports, curl reproductions, logs.

It lives in ``schemas`` because that is the one package both the mock and
the contract suite may import. Its rules (issue 13, "redaction never
corrupts"): a secret is replaced where it stands, never by guessing.

- A header that carries credentials (``Authorization``, cookies, ``x-api-key``...)
  is replaced whole, whatever it holds.
- A whole value equal to a secret (a JSON string, a header value, a whole
  text; with or without ``Bearer ``) is replaced, however short the secret.
- Inside longer text a secret is replaced only when it is long enough to be a
  key (``MIN_SUBSTRING`` = 16 characters and more); so is any run of
  ``LEAK_RUN`` (10) or more of its characters, a target echoing part of it.
  A short secret (``sk-x``, ``x``) therefore never rewrites body text: an
  ``x`` in ``text`` stays an ``x``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

#: Shortest secret that is also hunted for inside longer text.
MIN_SUBSTRING = 16
#: Shortest run of a long secret's characters that counts as a leak.
LEAK_RUN = 10
#: Headers whose value is a credential, replaced whole.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"})


class SecretMasker:
    """Replaces secrets with ``replacement`` in text, bytes, header values and JSON documents."""

    def __init__(self, secrets: Iterable[str | None] | str | None = (), replacement: str = "[REDACTED]"):
        self.replacement = replacement
        self._replaced_json = json.dumps(replacement)
        self._long: set[str] = set()
        self._short: set[str] = set()
        self._cores: set[str] = set()
        self._quoted: list[tuple[str, re.Pattern[str]]] = []  # whole JSON string values, longest secret first
        self._inside: list[tuple[str, str]] = []  # long secrets and their JSON escapes, longest first
        if isinstance(secrets, str) or secrets is None:
            secrets = [secrets]
        for secret in secrets:
            self.add(secret)

    def __bool__(self) -> bool:
        return bool(self._long or self._short)

    def add(self, secret: str | None) -> None:
        """Treat ``secret`` (and, for a key-length one, its form without ``sk-``) as secret; ``Bearer `` is dropped."""
        value = _without_bearer(secret or "")
        if not value:
            return
        if len(value) < MIN_SUBSTRING:  # too short to be a key: only where it stands as a whole value
            self._short.add(value)
        else:
            core = value.removeprefix("sk-")
            for form in (value, core):  # the gateway strips "sk-", so a target may echo the key without it
                (self._long if len(form) >= MIN_SUBSTRING else self._short).add(form)
            if len(core) >= LEAK_RUN:
                self._cores.add(core)
        self._prepare()

    def _prepare(self) -> None:
        """What ``text`` searches for, worked out once per secret rather than once per string masked."""
        self._quoted = []
        for form in sorted(self._short | self._long, key=len, reverse=True):
            for value in (form, f"Bearer {form}"):  # a whole JSON string value (not an object key)
                for quoted in dict.fromkeys((json.dumps(value), json.dumps(value, ensure_ascii=False))):
                    self._quoted.append((quoted, re.compile(re.escape(quoted) + r"(?!\s*:)")))
        self._inside = []
        for form in sorted(self._long, key=len, reverse=True):
            escaped = json.dumps(form)[1:-1]
            self._inside.append((form, escaped))

    def may_change(self, text: str) -> bool:
        """Whether ``text`` holds a secret as ``text`` and ``value`` replace them (a cheap test, no false "no").

        A short secret counts only as itself (it is masked only as a whole
        value); a long one, its form without ``sk-`` and any run of
        ``LEAK_RUN`` of its characters count anywhere. A secret spelled with
        JSON escapes is not seen here: callers that read raw JSON also look
        for escapes.
        """
        return (
            any(form in text for form in self._short)
            or any(form in text or escaped in text for form, escaped in self._inside)
            or any(_has_run(text, core) for core in self._cores)
        )

    def is_secret(self, value: str) -> bool:
        """Whether ``value`` as a whole is a secret (with or without ``Bearer ``)."""
        bare = _without_bearer(value)
        return bool(bare) and (bare in self._short or bare in self._long)

    def text(self, text: str) -> str:
        """``text`` with every whole secret value, and every long secret or run of one, replaced."""
        if not self:
            return text
        if self.is_secret(text):
            return self.replacement
        replaced = self._replaced_json
        for quoted, pattern in self._quoted:
            if quoted in text:
                text = pattern.sub(lambda _: replaced, text)
        for form, escaped in self._inside:
            text = text.replace(form, self.replacement)
            if escaped != form:
                text = text.replace(escaped, self.replacement)
        for core in self._cores:
            if _has_run(text, core):
                text = _replace_runs(text, core, self.replacement)
        return text

    def value(self, value: Any) -> Any:
        """A JSON value with every string in it (object keys included) masked as text, its structure kept.

        Masking a JSON document's text could cut a run of a key out of an
        unquoted token and leave text that no longer parses; this never does.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def bytes(self, data: bytes) -> bytes:
        return self.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def header(self, name: str, value: str) -> str:
        """A header value: a credential header whole, any other as text."""
        return self.replacement if name.lower() in SENSITIVE_HEADERS else self.text(value)


def _without_bearer(value: str) -> str:
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


def _has_run(text: str, secret: str) -> bool:
    return any(secret[i : i + LEAK_RUN] in text for i in range(len(secret) - LEAK_RUN + 1))


def _replace_runs(text: str, secret: str, replacement: str) -> str:
    """Replace every span of ``text`` covered by a ``LEAK_RUN``-long window of ``secret``."""
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
            out.append(replacement)
        else:
            out.append(text[index])
            index += 1
    return "".join(out)
