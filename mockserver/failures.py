"""Failures the mock answers in the profile's error envelope, raised by any layer.

Code raises ``ApiError(failure_name, ...)`` with a name from
``schemas/profiles.json`` (``invalid_key``, ``payload_too_large``, ...); the
HTTP layer renders it (``http/errors.py``) with the profile's status, type,
code and message, so no step decides a status code on its own.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failure of the kind ``name`` in ``profiles.json`` (e.g. ``invalid_key``).

    ``param`` names the request field at fault (the openai profile shows it;
    every profile logs it); ``values`` fill the message template
    (``{model}``, ``{detail}``, ``{id}``, ``{target}``).
    """

    def __init__(self, name: str, *, param: str | None = None, headers: dict[str, str] | None = None, **values: Any):
        super().__init__(name)
        self.name = name
        self.param = param
        self.headers = headers or {}
        self.values = values


class MockError(Exception):
    """A request the mock itself cannot act on (a bad ``X-Mock-Fault``): a 400 in the mock's own words.

    Not dressed as the upstream's error: the client sees that the mock, not
    the gateway, refused it.
    """

    code = "invalid_mock_fault"

    def __init__(self, message: str, *, param: str):
        super().__init__(message)
        self.message = message
        self.param = param


def printable(text: str, limit: int = 128) -> str:
    """Client-supplied text safe to echo in a message: bounded, control characters (CR, LF, ...) as ``?``."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return cleaned + ("…" if len(text) > limit else "")
