"""Reading the request body: strict JSON, then the request schema.

Hostile bodies are answered with a 4xx, never a 500: the size is capped
before parsing, the text must be UTF-8, JSON must be standard (no NaN or
Infinity, no duplicate keys, numbers within float range) and not nested
deeper than the configured limit. Then the body is checked against the
profile's ``request`` schema; the first violation names the ``param``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Request

import schemas

from .errors import ApiError


def read_json_body(request: Request, *, max_bytes: int, max_depth: int) -> Any:
    """The parsed JSON body, or ``ApiError`` saying what is wrong with it."""
    content_type = (request.mimetype or "").lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError("unsupported_media_type")
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("payload_too_large")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError("payload_too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError("invalid_json", detail=f"body is not UTF-8 (byte {exc.start})") from None
    return parse_json(text, max_depth=max_depth)


def parse_json(text: str, *, max_depth: int) -> Any:
    """Standard JSON only: what the OpenAI API and the gateway accept."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_float=_finite_float)
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
    return value


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
    """The body if it is a valid create request, else ``ApiError`` for the first violation."""
    if not isinstance(body, dict):
        raise ApiError("invalid_json", detail="the body must be a JSON object")
    violations = schemas.validate(body, "request", profile)
    if not violations:
        return body
    first = violations[0]
    for violation in violations:  # missing model/input are named failures of their own
        if violation.keyword == "required" and violation.path in ("/model", "/input"):
            raise ApiError(f"missing_{violation.path[1:]}", param=violation.param)
    if first.path == "/model" and body.get("model") == "":
        raise ApiError("missing_model", param="model")
    if first.keyword in ("additionalProperties", "unevaluatedProperties"):
        raise ApiError("unknown_parameter", param=first.param)
    raise ApiError("invalid_request", param=first.param, detail=first.message)
