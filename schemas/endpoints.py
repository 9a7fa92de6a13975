"""What the endpoints do beyond the shapes in the schema files, read from ``endpoints.json``.

- which ``/v1`` routes each profile serves, and the answer to any other
  ``/v1`` path (the gateway's NoRoute 404, byte for byte as new-api's router
  sends it); which of them are the stored-response routes and which the
  rest of the stateful lifecycle (cancel, input tokens, conversations);
- the query rules of ``GET /v1/responses/{id}/input_items``, of a
  conversation's items and of ``GET /v1/responses/{id}`` (stream resume);
- what a Response echoes for a request field that was left out.

The mock serves from this data and documents it in ``/openapi.json``; the
contract suite can check against it.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any

from .loader import PROFILES, SCHEMA_ROOT, read_json

PATH = SCHEMA_ROOT / "endpoints.json"


@functools.cache
def _data() -> dict[str, Any]:
    data = read_json(PATH)
    missing = set(PROFILES) - set(data["routes"])
    if missing:
        raise ValueError(f"{PATH}: /routes: missing profiles {sorted(missing)}")
    return data


def served_routes(profile: str) -> tuple[str, ...]:
    """The ``/v1`` routes ``profile`` serves, as ``"METHOD /path/{param}"``."""
    return tuple(_data()["routes"][profile]["served"])


def route_matches(route: str, method: str, path: str) -> bool:
    """Whether the route ``"METHOD /path/{param}"`` matches ``method path`` (``{param}`` matches any one segment)."""
    parts, wanted = route.split("/"), f"{method.upper()} {path}".split("/")
    return len(parts) == len(wanted) and all(
        p == w or (p.startswith("{") and p.endswith("}") and bool(w)) for p, w in zip(parts, wanted, strict=True)
    )


def is_served(profile: str, method: str, path: str) -> bool:
    """Whether ``profile`` routes ``method path`` (a concrete ``/v1/...`` path)."""
    return any(route_matches(route, method, path) for route in served_routes(profile))


def stored_routes() -> tuple[str, ...]:
    """The stored-response routes (retrieve, delete, input items), as ``"METHOD /path/{param}"``."""
    return tuple(_data()["stored_routes"])


def lifecycle_routes() -> tuple[str, ...]:
    """The rest of the stateful Responses API: cancel, input token counting, the Conversations API."""
    return tuple(_data()["lifecycle_routes"])


@dataclass(frozen=True)
class NoRoute:
    """How a profile answers a ``/v1`` path it does not route (None in ``no_route_answer``: it has none)."""

    status: int
    content_type: str
    error: dict[str, str]

    def error_body(self, method: str, path: str) -> dict[str, Any]:
        """The body for ``method path`` as JSON data: ``{"error": {...}}`` with the method and path filled in."""
        return {"error": {k: v.format(method=method, path=path) for k, v in self.error.items()}}

    def body(self, method: str, path: str) -> bytes:
        """The body for ``method path``, encoded as Go's ``encoding/json`` does: keys sorted, no spaces,
        ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, no trailing newline."""
        text = json.dumps(self.error_body(method, path), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for char, escape in _GO_ESCAPES.items():
            text = text.replace(char, escape)
        return text.encode("utf-8")


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def no_route_answer(profile: str) -> NoRoute | None:
    """The answer ``profile`` gives to an unrouted ``/v1`` path, or None when it has no such rule."""
    spec = _data()["routes"][profile]["no_route"]
    return None if spec is None else NoRoute(spec["status"], spec["content_type"], dict(spec["error"]))


def input_items_query() -> dict[str, dict[str, Any]]:
    """The query parameters of ``GET /v1/responses/{id}/input_items``, as JSON Schemas by name."""
    return copy.deepcopy(_data()["input_items_query"])


def conversation_items_query() -> dict[str, dict[str, Any]]:
    """The query parameters of ``GET /v1/conversations/{id}/items``, as JSON Schemas by name."""
    return copy.deepcopy(_data()["conversation_items_query"])


def retrieve_query() -> dict[str, dict[str, Any]]:
    """The query parameters of ``GET /v1/responses/{id}`` that resume a stream (``stream``, ``starting_after``)."""
    return copy.deepcopy(_data()["retrieve_query"])


def object_name(kind: str) -> str:
    """The ``object`` of a lifecycle reply (``input_tokens``, ``compaction``, ``conversation``, ...)."""
    return _data()["objects"][kind]


def response_echo_defaults() -> dict[str, Any]:
    """What a Response echoes for each request field the request left out (or sent as null)."""
    return copy.deepcopy(_data()["response_echo"])
