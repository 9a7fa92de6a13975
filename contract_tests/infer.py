"""Infer a JSON Schema from recorded bodies: genson, plus what genson cannot know.

genson merges every sample into one schema, with ``required`` = the keys
present in all samples, which is what we want. Where it falls short for this
API we refine its output with the samples:

- objects told apart by ``type`` (output items, content parts, events) are
  inferred per ``type`` value and joined with ``anyOf``, instead of one object
  holding the union of every variant's fields;
- ``type``, ``status``, ``object`` and ``role`` keep the values seen, as
  ``const`` or ``enum``, so that a new or vanished value is visible as drift.

The result validates every sample it was built from (tests check this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from genson import SchemaBuilder

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DISCRIMINATOR = "type"
ENUM_KEYS = frozenset({"type", "status", "object", "role"})
_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def infer(samples: Sequence[Any], *, title: str | None = None) -> dict[str, Any]:
    """A draft 2020-12 schema that every sample satisfies."""
    if not samples:
        raise ValueError("no samples to infer a schema from")
    schema = infer_node(list(samples))
    head: dict[str, Any] = {"$schema": DRAFT}
    if title:
        head["title"] = title
    return {**head, **schema}


def infer_node(samples: list[Any]) -> dict[str, Any]:
    """The schema of one position in the documents, given every value seen there."""
    variants = variants_of(samples)
    if variants:
        return {"anyOf": [infer_node(group) for _, group in sorted(variants.items())]}
    builder = SchemaBuilder(schema_uri=None)
    for sample in samples:
        builder.add_object(sample)
    schema = builder.to_schema()
    schema.pop("$schema", None)
    return refine(schema, samples)


def variants_of(samples: Iterable[Any]) -> dict[str, list[dict[str, Any]]] | None:
    """Samples grouped by their ``type`` when all are objects with a string ``type`` of two or more values."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        if not isinstance(sample, dict) or not isinstance(sample.get(DISCRIMINATOR), str):
            return None
        groups.setdefault(sample[DISCRIMINATOR], []).append(sample)
    return groups if len(groups) > 1 else None


def refine(schema: dict[str, Any], samples: list[Any]) -> dict[str, Any]:
    """genson's ``schema`` with variants split and enum keys pinned, walking the samples alongside."""
    for branch in schema.get("anyOf", []):
        refine(branch, [s for s in samples if json_type(s) in _types(branch)])
    objects = [s for s in samples if isinstance(s, dict)]
    for name, sub in schema.get("properties", {}).items():
        values = [o[name] for o in objects if name in o]
        if name in ENUM_KEYS and values and all(isinstance(v, str) for v in values):
            seen = sorted(set(values))
            schema["properties"][name] = (
                {"type": "string", "const": seen[0]} if len(seen) == 1 else {"type": "string", "enum": seen}
            )
        elif variants_of(values):
            schema["properties"][name] = infer_node(values)
        else:
            refine(sub, values)
    if isinstance(schema.get("items"), dict):
        items = [item for s in samples if isinstance(s, list) for item in s]
        schema["items"] = infer_node(items) if variants_of(items) else refine(schema["items"], items)
    return schema


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "object")


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    types = set([declared] if isinstance(declared, str) else declared or [])
    if "number" in types:
        types.add("integer")
    return types
