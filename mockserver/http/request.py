"""Reading a request: the JSON body (strict) and query parameters, for the API and the admin alike.

Hostile bodies are answered with a 4xx, never a 500: the size is capped
before parsing, the text must be UTF-8, JSON must be standard (no NaN or
Infinity, no duplicate keys, numbers within float range) and not nested
deeper than the configured limit. What the body means (the request schema)
is ``checks.py``'s concern.

``MockRequest`` remembers the body it was sent, as read and as parsed, so
that ``/__mock__/requests`` can show it afterwards, refused or not.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from flask import Request, request

from ..failures import ApiError
from ..failures import printable as clip
from ..reply.ids import random_hex


class MockRequest(Request):
    """Flask's request, with its id and start time, remembering its body once read.

    ``request_id`` names it in the reply's header and error messages;
    ``received`` is the body as read (None if never read) and ``parsed`` its
    JSON, so ``/__mock__/requests`` can show it afterwards, refused or not;
    ``response_id`` is the id of the Response the mock answered with, if any
    (the inspector page links it), and ``response_owner`` whose it is
    (``state/owners.py``: where its record is kept).
    """

    received: bytes | None = None
    parsed: Any = None
    response_id: str | None = None
    response_owner: str = ""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.request_id = random_hex(16)
        self.started = time.perf_counter()


def current_request() -> MockRequest:
    """The request being served, itself rather than Flask's context-local proxy to it.

    Each attribute read through the proxy looks the request up again; the
    create path and the after-request hook read a few dozen, so they take the
    object once.
    """
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def read_json_body(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    """The parsed JSON body, or ``ApiError`` saying what is wrong with it."""
    content_type = (request.mimetype or "").lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError("unsupported_media_type")
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError("payload_too_large")
    raw = _read_capped(request, length, max_bytes)
    if isinstance(request, MockRequest):
        request.received = raw
    value = _decoded(raw, max_depth)
    if isinstance(request, MockRequest):
        request.parsed = value
    return value


def _decoded(raw: bytes, max_depth: int) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("invalid_json", detail=f"body is not UTF-8 (byte {exc.start})") from None
    return parse_json(text, max_depth=max_depth)


_CHUNK = 64 * 1024


def _read_capped(request: Request, length: int | None, max_bytes: int) -> bytes:
    """The body, at most ``max_bytes`` of it (``ApiError`` past that).

    Reads the ``length`` bytes ``Content-Length`` announces (checked against
    the cap already) straight from the server's input, as WSGI allows: werkzeug's
    guarded stream costs more than the read itself (5 of 6 µs). Without a
    length (chunked transfer) it reads werkzeug's stream in chunks: never
    ``read(max_bytes)`` in one call, which makes werkzeug allocate and zero a
    buffer of the full cap for every request.
    """
    if length is not None:
        return request.environ["wsgi.input"].read(length)  # type: ignore[no-any-return]
    stream = request.stream
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > max_bytes:
            raise ApiError("payload_too_large")
        parts.append(chunk)


def parse_json(text: str, *, max_depth: int) -> Any:
    """Standard JSON only: what the OpenAI API and the gateway accept."""
    try:
        if text.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ApiError("invalid_json", detail=f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _BadJSON as exc:
        raise ApiError("invalid_json", detail=str(exc)) from None
    except RecursionError:
        raise ApiError("invalid_json", detail=f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ApiError("invalid_json", detail=str(exc)[:200]) from None
    if _could_nest_deeper(text, max_depth) and _nesting_depth(value) > max_depth:
        raise ApiError("invalid_json", detail=f"JSON nested deeper than {max_depth} levels")
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise ApiError("invalid_json", detail="a \\u escape is a lone UTF-16 surrogate, which is no character")
    return value


#: ``\ud800``-``\udfff`` escapes; in pairs json.loads joins them into one
#: character, alone they would leave a string that cannot be sent as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class _BadJSON(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BadJSON(f"duplicate key {key[:64]!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _BadJSON(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _BadJSON(f"number {text[:32]} is out of range")
    return value


#: Integers must fit a float too (as JSON numbers do for most parsers, and a
#: Go gateway's int64/float64 fields): 309 digits is past ``sys.float_info.max``.
_MAX_INT_DIGITS = 309


def _finite_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > _MAX_INT_DIGITS or (digits == _MAX_INT_DIGITS and abs(int(text)) > _FLOAT_MAX):
        raise _BadJSON(f"number {text[:32]}… ({digits} digits) is out of range")
    return int(text)


_FLOAT_MAX = int(sys.float_info.max)

#: The decoder of every body, made once: ``json.loads`` with hooks makes a decoder (and its scanner) per
#: call, which cost as much again as the parse of a small body (about 6 against 3 µs). json's own
#: ``loads`` shares one decoder between threads the same way.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_no_constants,
    parse_float=_finite_float,
    parse_int=_finite_int,
)


def _could_nest_deeper(text: str, max_depth: int) -> bool:
    """Whether ``text`` has more brackets and braces than ``max_depth``: with fewer, no walk can find it nested deeper.

    Two counts in C instead of a walk of the parsed value: most requests
    have a few dozen brackets, far below the limit.
    """
    return text.count("[") + text.count("{") > max_depth


def _nesting_depth(value: Any) -> int:
    """How deeply arrays and objects nest, walked without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def int_param(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    """The integer query parameter ``name``, between ``low`` and ``high``; 400 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid_request", param=name, detail=f"{clip(raw)!r} is not an integer") from None
    if not low <= value <= high:
        raise ApiError("invalid_request", param=name, detail=f"must be between {low} and {high}")
    return value


def choice_param(request: Request, name: str, *, choices: Sequence[str], default: str) -> str:
    """The query parameter ``name``, one of ``choices``; 400 naming it otherwise."""
    value = request.args.get(name, default)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ApiError("invalid_request", param=name, detail=f"{clip(value)!r} is not one of {listed}")
    return value
