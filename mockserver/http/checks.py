"""What a create request must be, beyond valid JSON: the profile's request schema, then the rest.

The schema says most of it; what a schema cannot say is checked here too:
that a named ``tool_choice`` names a tool, and that the JSON Schemas a
request carries (function ``parameters``, a ``json_schema`` format) are
usable, and follow strict mode where the profile enforces it. The first
problem becomes an ``ApiError`` naming the ``param``.

The strict-mode rules are OpenAI's: the root is an object, every object
lists all its properties in ``required`` and sets ``additionalProperties``
to false. Whether they are enforced is the profile's ``fields.strict``
(``schemas/profiles.json``): OpenAI does, and nothing says the gateway does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

import schemas
from schemas.behaviour import behaviour
from schemas.loader import BASE_URI, SCHEMA_ROOT, read_json

from ..failures import ApiError
from ..reply.text import text_format
from ..reply.tools import function_tools


def check_request(body: Any, profile: str) -> dict[str, Any]:
    """The body if it is a valid create request, else ``ApiError`` for the first problem.

    First the request schema; then what a schema cannot say about a request:
    that a named ``tool_choice`` names a tool, and that the JSON Schemas it
    carries (tool parameters, a ``json_schema`` format) are usable.
    """
    if not isinstance(body, dict):
        raise ApiError("invalid_json", detail="the body must be a JSON object")
    if not _request_is_valid(profile)(body):
        raise _first_violation(body, profile)
    rules = behaviour(profile)
    enforce_strict = rules.fields["strict"] == "enforced"
    check_tools(body, enforce_strict=enforce_strict)
    check_text_format(body, enforce_strict=enforce_strict)
    if rules.runs_in_background and body.get("background") and body.get("store") is False:
        raise ApiError("invalid_request", param="store", detail="background mode needs store: true")
    return body


def check_body(body: Any, name: str, profile: str) -> dict[str, Any]:
    """The body of another route (``input_tokens_request``, ``compact_request``, ``conversation_*``), checked
    against the profile's schema ``name``; ``ApiError`` for the first problem."""
    if not isinstance(body, dict):
        raise ApiError("invalid_json", detail="the body must be a JSON object")
    if schemas.validate(body, name, profile):
        raise _first_violation(body, profile, name)
    check_tools(body, enforce_strict=behaviour(profile).fields["strict"] == "enforced")
    return body


def _first_violation(body: dict[str, Any], profile: str, name: str = "request") -> ApiError:
    violations = schemas.validate(body, name, profile)
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
    invalid ones still come from ``schemas.validate`` (jsonschema), whose
    messages users read.

    The profile's request schema compiled once by jsonschema-rs (Rust, no
    Python objects per keyword: under a microsecond for the documented
    request, against about 200 µs for jsonschema), every ``$ref`` read from
    the schema files. Formats are not asserted, as jsonschema does not
    assert them either: both say yes to the same requests
    (``tests/test_request_fast_path.py``).
    """
    import jsonschema_rs

    schema = schemas.load("request", profile)
    return jsonschema_rs.Draft202012Validator(schema, retriever=_schema_file, validate_formats=False).is_valid


def _schema_file(uri: str) -> Any:
    """The schema file with ``$id`` ``uri`` (never the network: every ``$ref`` is to a bundled file)."""
    if not uri.startswith(BASE_URI):
        raise ValueError(f"not a bundled schema: {uri}")
    return read_json(SCHEMA_ROOT / uri.removeprefix(BASE_URI))


def check_tools(request: dict[str, Any], *, enforce_strict: bool) -> None:
    """Refuse a named ``tool_choice`` that names no tool, and unusable parameter schemas.

    ``enforce_strict``: a ``strict`` tool's parameters must follow strict mode
    (the profile's ``fields.strict``).
    """
    for index, tool in enumerate(request.get("tools") or []):
        if tool.get("type") != "function" or tool.get("parameters") is None:
            continue
        problem = schema_problem(tool["parameters"], strict=enforce_strict and tool.get("strict") is True)
        if problem:
            raise ApiError(
                "invalid_function_parameters", param=f"tools[{index}].parameters", target=tool["name"], detail=problem
            )
    choice = request.get("tool_choice")
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and not any(tool["name"] == choice["name"] for tool in function_tools(request))
    ):
        raise ApiError("unknown_tool_choice", detail=choice["name"])


def check_text_format(request: dict[str, Any], *, enforce_strict: bool) -> None:
    """Refuse a ``json_schema`` format whose schema is invalid (400 ``invalid_json_schema``).

    ``enforce_strict``: a ``strict`` format must follow strict mode (the
    profile's ``fields.strict``).
    """
    fmt = text_format(request)
    if fmt.get("type") != "json_schema":
        return
    problem = schema_problem(fmt["schema"], strict=enforce_strict and fmt.get("strict") is True)
    if problem:
        raise ApiError("invalid_json_schema", target=fmt.get("name", ""), detail=problem)


def schema_problem(schema: Any, *, strict: bool) -> str | None:
    """Why ``schema`` cannot be used (not a valid schema, or not strict-mode safe), or None."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "(root)"
        return f"{where}: {exc.message}"
    if strict:
        return strict_mode_problem(schema)
    return None


def strict_mode_problem(schema: dict[str, Any]) -> str | None:
    """The first place where ``schema`` breaks the strict-mode rules, or None."""
    if schema.get("type") != "object":
        return "In context=(), the root schema must be of type 'object' in strict mode."
    for context, node in object_schemas(schema, ()):
        where = f"context=({', '.join(repr(p) for p in context)})"
        keys = list((node.get("properties") or {}).keys())
        missing = [k for k in keys if k not in (node.get("required") or [])]
        if missing:
            return (
                f"In {where}, 'required' is required to be supplied and to be an array "
                f"including every key in properties. Missing {missing[0]!r}."
            )
        if node.get("additionalProperties", True) is not False:
            return f"In {where}, 'additionalProperties' is required to be supplied and to be false."
    return None


def object_schemas(node: Any, context: tuple[str, ...]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every subschema describing an object, with the path of property names leading to it."""
    found: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append((context, node))
        for key, child in node.items():
            if key == "properties" and isinstance(child, dict):
                for name, sub in child.items():
                    found += object_schemas(sub, (*context, name))
            elif key in ("$defs", "definitions") and isinstance(child, dict):
                for name, sub in child.items():
                    found += object_schemas(sub, (*context, key, name))
            elif key in ("items", "additionalProperties", "not"):
                found += object_schemas(child, (*context, key))
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(child, list):
                for index, sub in enumerate(child):
                    found += object_schemas(sub, (*context, key, str(index)))
    return found
