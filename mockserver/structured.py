"""Structured output: ``text.format`` of type ``json_schema`` or ``json_object``.

With a ``json_schema`` format the reply text is a JSON document that fits
the given schema (``instances.generate``); with ``json_object`` it is a JSON
object built from the ordinary reply. A schema that is not a valid JSON
Schema, or that breaks the rules of strict mode, is refused with a 400
before anything is generated, as the API does.

The strict-mode rules are OpenAI's: the root is an object, every object
lists all its properties in ``required`` and sets ``additionalProperties``
to false. Function tools with ``strict: true`` follow the same rules
(``tools.check_tools``). Whether they are enforced is the profile's
``fields.strict`` (``schemas/profiles.json``): OpenAI does, and nothing says
the gateway does.
"""

from __future__ import annotations

import json
import random
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from . import generation, instances
from .errors import ApiError


def text_format(request: dict[str, Any]) -> dict[str, Any]:
    return (request.get("text") or {}).get("format") or {"type": "text"}


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


def structured_text(
    request: dict[str, Any], user_text: str, rng: random.Random, *, tool_result: str | None = None
) -> str | None:
    """The reply text as JSON when the request asks for a JSON format; None for plain text."""
    fmt = text_format(request)
    if fmt.get("type") == "json_schema":
        try:
            document = instances.generate(fmt["schema"], rng, prompt=user_text)
        except instances.Unsatisfiable as exc:
            raise ApiError("invalid_json_schema", target=fmt.get("name", ""), detail=str(exc)) from None
        return json.dumps(document, ensure_ascii=False)
    if fmt.get("type") == "json_object":
        answer = generation.reply_text(user_text, rng, tool_result=tool_result)
        return json.dumps({"topic": generation.topic_of(user_text), "answer": answer}, ensure_ascii=False)
    return None
