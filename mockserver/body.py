"""Reading the request body: strict JSON, then the request schema.

Hostile bodies are answered with a 4xx, never a 500: the size is capped
before parsing, the text must be UTF-8, JSON must be standard (no NaN or
Infinity, no duplicate keys, numbers within float range) and not nested
deeper than the configured limit. Then the body is checked against the
profile's ``request`` schema; the first violation names the ``param``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Request
from jsonschema import Draft202012Validator

import schemas
from schemas.behaviour import behaviour

from . import structured, tools
from .errors import ApiError


def read_json_body(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    """The parsed JSON body, or ``ApiError`` saying what is wrong with it."""
    content_type = (request.mimetype or "").lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError("unsupported_media_type")
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("payload_too_large")
    raw = _read_capped(request, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("invalid_json", detail=f"body is not UTF-8 (byte {exc.start})") from None
    return parse_json(text, max_depth=max_depth)


_CHUNK = 64 * 1024


def _read_capped(request: Request, max_bytes: int) -> bytes:
    """The body, at most ``max_bytes`` of it (``ApiError`` past that).

    Reads what ``Content-Length`` announces, or chunks when there is none
    (chunked transfer): never ``read(max_bytes)`` in one call, which makes
    werkzeug allocate and zero a buffer of the full cap for every request.
    """
    stream = request.stream
    if request.content_length is not None:
        return stream.read(request.content_length)
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
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            parse_int=_finite_int,
        )
    except json.JSONDecodeError as exc:
        raise ApiError("invalid_json", detail=f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _BadJSON as exc:
        raise ApiError("invalid_json", detail=str(exc)) from None
    except RecursionError:
        raise ApiError("invalid_json", detail=f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ApiError("invalid_json", detail=str(exc)[:200]) from None
    if _nesting_depth(value) > max_depth:
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


def check_request(body: Any, profile: str) -> dict[str, Any]:
    """The body if it is a valid create request, else ``ApiError`` for the first problem.

    First the request schema; then what a schema cannot say about a request:
    that a named ``tool_choice`` names a tool, and that the JSON Schemas it
    carries (tool parameters, a ``json_schema`` format) are usable.
    """
    if not isinstance(body, dict):
        raise ApiError("invalid_json", detail="the body must be a JSON object")
    if not _known_valid(body, profile):
        raise _first_violation(body, profile)
    enforce_strict = behaviour(profile).fields["strict"] == "enforced"
    tools.check_tools(body, enforce_strict=enforce_strict)
    structured.check_text_format(body, enforce_strict=enforce_strict)
    return body


def _first_violation(body: dict[str, Any], profile: str) -> ApiError:
    violations = schemas.validate(body, "request", profile)
    first = violations[0]
    for violation in violations:  # missing model/input are named failures of their own
        if violation.keyword == "required" and violation.path in ("/model", "/input"):
            return ApiError(f"missing_{violation.path[1:]}", param=violation.param)
    if first.path == "/model" and body.get("model") == "":
        return ApiError("missing_model", param="model")
    if first.keyword in ("additionalProperties", "unevaluatedProperties"):
        return ApiError("unknown_parameter", param=first.param)
    return ApiError("invalid_request", param=first.param, detail=first.message)


@functools.cache
def _request_is_valid(profile: str) -> Callable[[Any], bool]:
    """A fast yes/no for valid requests, the common case; the violations of
    invalid ones still come from ``schemas.validate``.

    The profile's request schema with every ``$ref`` inlined
    (``schemas.bundle``), compiled once: a valid request then costs no
    reference lookups (about a third of the validation time). A schema that
    cannot be bundled (recursive, as in the openai profile) uses the
    referencing validator.
    """
    try:
        return Draft202012Validator(schemas.bundle("request", profile)).is_valid
    except ValueError:
        return schemas.validator_for("request", profile).is_valid


#: Digests of request bodies already found valid, per profile (bounded, oldest
#: out first). CI fleets send the same requests over and over; a repeat then
#: costs one canonical encoding and a hash instead of a schema walk.
_VALID_SEEN: OrderedDict[bytes, None] = OrderedDict()
_VALID_SEEN_MAX = 4096
_VALID_SEEN_LOCK = threading.Lock()


def _known_valid(body: dict[str, Any], profile: str) -> bool:
    """Whether ``body`` is a valid request, remembering the valid ones by digest."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.blake2b(f"{profile}|{canonical}".encode(), digest_size=16).digest()
    with _VALID_SEEN_LOCK:
        if digest in _VALID_SEEN:
            _VALID_SEEN.move_to_end(digest)
            return True
    if not _request_is_valid(profile)(body):
        return False
    with _VALID_SEEN_LOCK:
        _VALID_SEEN[digest] = None
        while len(_VALID_SEEN) > _VALID_SEEN_MAX:
            _VALID_SEEN.popitem(last=False)
    return True
