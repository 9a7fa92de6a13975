"""Hypothesis strategies for JSON Schemas a developer would give a tool or a ``json_schema`` format.

Every schema drawn here is satisfiable (bounds are ordered, enums non-empty),
so a mock answer that does not fit it is the mock's fault. ``strict=True``
draws schemas that follow OpenAI's strict-mode rules (all properties
required, ``additionalProperties: false``), as ``responses.parse`` sends.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.sampled_from(
    [
        "name",
        "city",
        "location",
        "query",
        "count",
        "price",
        "tags",
        "items",
        "when",
        "note",
        "id",
        "score",
        "level",
        "email",
    ]
)
PATTERNS = st.sampled_from(
    [r"^[A-Z]{2}-\d{3}$", r"^[a-z]+$", r"^\d{4}-\d{2}-\d{2}$", r"^(red|green|blue)$", r"^[\u4e00-\u9fff]{1,4}$"]
)
FORMATS = st.sampled_from(["date", "date-time", "email", "uuid", "ipv4", "uri", "time"])


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["plain", "bounded", "pattern", "format", "enum"]))
    if kind == "bounded":
        low = draw(st.integers(0, 12))
        return {"type": "string", "minLength": low, "maxLength": low + draw(st.integers(0, 20))}
    if kind == "pattern":
        return {"type": "string", "pattern": draw(PATTERNS)}
    if kind == "format":
        return {"type": "string", "format": draw(FORMATS)}
    if kind == "enum":
        return {
            "type": "string",
            "enum": draw(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4, unique=True)),
        }
    return {"type": "string"}


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.none() | st.integers(-1000, 1000))
    if low is not None:
        schema[draw(st.sampled_from(["minimum", "exclusiveMinimum"]))] = low
        if draw(st.booleans()):
            schema[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = low + draw(st.integers(2, 500))
    if kind == "integer" and draw(st.booleans()):
        schema["multipleOf"] = draw(st.integers(1, 5))
        if "minimum" in schema or "exclusiveMinimum" in schema:
            schema.pop("maximum", None)
            schema.pop("exclusiveMaximum", None)
    return schema


SCALARS = st.one_of(
    string_schemas(),
    number_schemas(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(lambda v: {"const": v}, st.integers(-5, 5) | st.text(max_size=5)),
)


def object_schema(properties: dict[str, Any], *, strict: bool, required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if strict or required is None else required
    if strict:
        schema["additionalProperties"] = False
    return schema


def json_schemas(*, root_object: bool = True, strict: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Schemas with nested objects, arrays, unions, nullable fields and ``$defs``."""

    def extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        arrays = st.builds(
            lambda items, low, extra: {"type": "array", "items": items, "minItems": low, "maxItems": low + extra},
            children,
            st.integers(0, 2),
            st.integers(0, 3),
        )
        objects = st.dictionaries(NAMES, children, min_size=1, max_size=4).flatmap(
            lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
                lambda req: object_schema(props, strict=strict, required=req)
            )
        )
        unions = st.lists(children, min_size=2, max_size=3).map(lambda branches: {"anyOf": branches})
        nullable = children.filter(lambda s: isinstance(s.get("type"), str) and s["type"] != "null").map(
            lambda s: {**s, "type": [s["type"], "null"]}
        )
        return st.one_of(arrays, objects, unions, nullable)

    tree = st.recursive(SCALARS, extend, max_leaves=12)
    if not root_object:
        return tree
    roots = st.dictionaries(NAMES, tree, min_size=1, max_size=5).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
            lambda req: object_schema(props, strict=strict, required=req)
        )
    )
    return st.one_of(roots, roots.map(with_defs))


def with_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema with its first property moved to ``$defs`` and referenced, as Pydantic writes nested models."""
    name = next(iter(schema["properties"]))
    return {
        **schema,
        "$defs": {"Part": schema["properties"][name]},
        "properties": {**schema["properties"], name: {"$ref": "#/$defs/Part"}},
    }
