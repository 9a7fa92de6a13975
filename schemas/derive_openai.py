"""Derive the ``openai`` schema profile from OpenAI's OpenAPI document.

Run ``python -m schemas.derive_openai [--spec PATH] [--check]`` from the repo
root. The output (``schemas/openai/*.schema.json``) is generated: edit this
script, not the files.

Why a translation and not a copy: the OpenAPI document is not usable as plain
JSON Schema 2020-12 as it stands.

* Its ``oneOf`` unions overlap (a typed input message matches two branches of
  ``InputItem`` and fails with "valid under each of"), and the
  ``discriminator`` that would disambiguate them is an OpenAPI keyword that
  ``jsonschema`` ignores. Unions whose branches are objects tagged by a
  ``type`` property become an explicit dispatch on ``type`` (``if``/``then``
  per value), which is exact and yields errors inside the intended branch
  instead of one vague "not valid under any of". Every other ``oneOf``
  becomes ``anyOf`` (identical when branches are disjoint, and the intended
  meaning when they are not).
* ``$recursiveRef`` is not 2020-12 and ``format: unixtime``/``float`` are
  not registered formats.
* The document is full of OpenAI's prose (descriptions, examples, SDK
  hints); none of it is copied: only validation keywords survive.
* The spec is stricter than the real API (``NOT_REQUIRED``): fields the API
  defaults in requests and fields OpenAI's own examples leave out of replies
  are not required, and every optional property may be ``null``.

The output is deterministic: the same spec gives byte-identical files.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Schema = Any  # a JSON Schema: a dict, or a boolean

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared/reference/openai-responses-openapi.json"
OUT_DIR = Path(__file__).resolve().parent / "openai"

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://contract.invalid/schemas/openai/"
COMPONENTS_FILE = "components.schema.json"
SPEC_REF_PREFIX = "#/components/schemas/"
DEFS_REF_PREFIX = "#/$defs/"

#: entry file name -> (component it exposes, title of our own)
ENTRY_POINTS: dict[str, tuple[str, str]] = {
    "request": ("CreateResponse", "Create a response (openai profile)"),
    "response": ("Response", "Response object (openai profile)"),
    "output_item": ("OutputItem", "Output item (openai profile)"),
    "usage": ("ResponseUsage", "Usage (openai profile)"),
    "error": ("ErrorResponse", "Error envelope (openai profile)"),
    "event": ("ResponseStreamEvent", "Stream event (openai profile)"),
    "input_items_list": ("ResponseItemList", "Input item list (openai profile)"),
    "message": ("OutputMessage", "Output message (openai profile)"),
    "reasoning": ("ReasoningItem", "Reasoning item (openai profile)"),
    "function_call": ("FunctionToolCall", "Function call item (openai profile)"),
    "output_content": ("OutputMessageContent", "Output message content part (openai profile)"),
    "web_search_call": ("WebSearchToolCall", "Web search call item (openai profile)"),
    "code_interpreter_call": ("CodeInterpreterToolCall", "Code interpreter call item (openai profile)"),
    "compaction": ("CompactionBody", "Compaction item (openai profile)"),
    "input_tokens": ("TokenCountsResource", "Input token count (openai profile)"),
    "input_tokens_request": ("TokenCountsBody", "Count input tokens (openai profile)"),
    "item": ("ItemResource", "Stored item: an input item or a conversation item (openai profile)"),
}
#: Entry points that are request bodies: closed to unknown parameters, as OpenAI refuses them.
REQUEST_ENTRY_POINTS = ("request", "input_tokens_request")

# --- keyword tables -------------------------------------------------------

#: keywords whose value is one subschema
_ONE_SUBSCHEMA = frozenset(
    {
        "items",
        "additionalProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
    }
)
#: keywords whose value maps names to subschemas
_SUBSCHEMA_MAP = frozenset({"properties", "patternProperties", "dependentSchemas"})
#: keywords whose value is a list of subschemas
_SUBSCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
#: assertion keywords copied unchanged
_PLAIN = frozenset(
    {
        "type",
        "enum",
        "const",
        "required",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "dependentRequired",
    }
)
#: prose, SDK hints and OpenAPI-only keywords: dropped (we must not copy OpenAI's prose)
_DROPPED = frozenset(
    {
        "description",
        "title",
        "example",
        "examples",
        "default",
        "deprecated",
        "discriminator",
        "$comment",
        "$recursiveAnchor",
        "readOnly",
        "writeOnly",
        "externalDocs",
        "xml",
    }
)
#: formats registered by JSON Schema 2020-12; others (unixtime, float) are dropped
_STANDARD_FORMATS = frozenset(
    {
        "date-time",
        "date",
        "time",
        "duration",
        "email",
        "idn-email",
        "hostname",
        "idn-hostname",
        "ipv4",
        "ipv6",
        "uri",
        "uri-reference",
        "iri",
        "iri-reference",
        "uuid",
        "uri-template",
        "json-pointer",
        "relative-json-pointer",
        "regex",
    }
)


# --- step 1: clean one component into plain JSON Schema --------------------


def clean(node: Schema, def_name: str) -> Schema:
    """``node`` with prose dropped, refs pointed at ``$defs`` and OpenAPI-isms translated.

    ``def_name`` is the component being cleaned: ``$recursiveRef: "#"`` means
    "the schema with ``$recursiveAnchor``", which in this document is always
    the component itself (``CompoundFilter``).
    """
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        raise ValueError(f"{def_name}: expected a schema, found {node!r}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-") or key == "nullable":
            continue
        if key == "$ref":
            out["$ref"] = _translate_ref(value, def_name)
        elif key == "$recursiveRef":
            if value != "#":
                raise ValueError(f"{def_name}: unsupported $recursiveRef {value!r}")
            out["$ref"] = DEFS_REF_PREFIX + def_name
        elif key == "format":
            if value in _STANDARD_FORMATS:
                out["format"] = value
        elif key in _ONE_SUBSCHEMA:
            out[key] = clean(value, def_name)
        elif key in _SUBSCHEMA_MAP:
            out[key] = {name: clean(sub, def_name) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LIST:
            out[key] = [clean(sub, def_name) for sub in value]
        elif key in _PLAIN:
            out[key] = copy.deepcopy(value)
        else:
            raise ValueError(f"{def_name}: keyword {key!r} is not handled; extend derive_openai.py")
    return _make_nullable(out) if node.get("nullable") is True else out


def _translate_ref(ref: str, def_name: str) -> str:
    if not ref.startswith(SPEC_REF_PREFIX):
        raise ValueError(f"{def_name}: reference {ref!r} does not point at a component schema")
    return DEFS_REF_PREFIX + ref.removeprefix(SPEC_REF_PREFIX)


def _make_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 ``nullable: true`` as 2020-12: ``null`` added to ``type`` (and ``enum``)."""
    kind = schema.get("type")
    if kind is None or "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kinds = [kind] if isinstance(kind, str) else list(kind)
    schema["type"] = kinds if "null" in kinds else [*kinds, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


# --- step 2: unions -------------------------------------------------------


@dataclass(frozen=True)
class Branch:
    """One object branch of a union, tagged by the values its ``type`` property may take."""

    schema: Schema
    values: tuple[Any, ...]  # None stands for JSON null
    type_required: bool


@dataclass
class UnionLog:
    """What became of each union, for the report printed by the script."""

    discriminated: list[str] = field(default_factory=list)
    grouped: list[str] = field(default_factory=list)  # discriminated, but a value has several branches
    any_of: list[str] = field(default_factory=list)

    def keep_only(self, components: Iterable[str]) -> None:
        """Forget unions of components the output does not keep."""
        kept = set(components)
        for entries in (self.discriminated, self.grouped, self.any_of):
            entries[:] = sorted({e for e in entries if e.split("/", 1)[0] in kept})


class UnionTranslator:
    """Rewrites ``oneOf``/``anyOf`` of the cleaned components (read-only input ``defs``).

    With ``dispatch=False`` every union becomes a plain ``anyOf``: the
    reference semantics the tests compare the dispatch against.
    """

    def __init__(self, defs: dict[str, Schema], *, dispatch: bool = True) -> None:
        self.defs = defs
        self.dispatch = dispatch
        self.log = UnionLog()

    # -- walking

    def rewrite(self, node: Schema, where: str) -> Schema:
        """``node`` with every union below it rewritten; ``where`` names it in the log."""
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("oneOf", "anyOf"):
                continue
            if key in _ONE_SUBSCHEMA:
                out[key] = self.rewrite(value, f"{where}/{key}")
            elif key in _SUBSCHEMA_MAP:
                out[key] = {name: self.rewrite(sub, f"{where}/{key}/{name}") for name, sub in value.items()}
            elif key in _SUBSCHEMA_LIST:
                out[key] = [self.rewrite(sub, f"{where}/{key}/{i}") for i, sub in enumerate(value)]
            else:
                out[key] = value
        if "oneOf" in node and "anyOf" in node:
            raise ValueError(f"{where}: both oneOf and anyOf; not handled")
        keyword = "oneOf" if "oneOf" in node else "anyOf" if "anyOf" in node else None
        if keyword is None:
            return out
        return _merge(out, self._union(node[keyword], f"{where}/{keyword}"))

    def _union(self, branches: list[Schema], where: str) -> dict[str, Any]:
        """A union as a dispatch on ``type`` when its branches allow it, else as ``anyOf``."""
        split = self._split(branches) if self.dispatch else None
        if split is None:
            self.log.any_of.append(where)
            return {"anyOf": [self.rewrite(b, f"{where}/{i}") for i, b in enumerate(branches)]}
        tagged, others = split
        dispatch = self._dispatch(tagged, where)
        if not others:
            return dispatch
        return {"anyOf": [*(self.rewrite(b, f"{where}/{i}") for i, b in enumerate(others)), dispatch]}

    def _split(self, branches: list[Schema]) -> tuple[list[Branch], list[Schema]] | None:
        """The union's tagged object branches and its non-object branches (``string``, ``null`` ...).

        None when the union is no tagged union: an object branch without a
        ``type`` tag, or at most one object branch (``Caller | null`` stays an
        ``anyOf``: its one object branch dispatches in its own component).
        """
        others = [b for b in branches if self._is_not_object(b)]
        if len(branches) - len(others) < 2:
            return None
        tagged: list[Branch] = []
        for branch in branches:
            if any(branch is other for other in others):
                continue
            found = self._object_branches(branch)
            if found is None:
                return None
            tagged.extend(found)
        return tagged, others

    def _dispatch(self, branches: list[Branch], where: str) -> dict[str, Any]:
        """``type`` must be one of the known values, and each value selects its branch(es).

        Values accepted by the same branches share one ``if``. A value accepted
        by several branches (overlap) selects their ``anyOf``. Branches that do
        not require ``type`` also apply when it is absent.
        """
        values = list(dict.fromkeys(v for b in branches for v in b.values))
        classes: dict[tuple[int, ...], list[Any]] = {}
        for value in values:
            owners = tuple(i for i, b in enumerate(branches) if value in b.values)
            classes.setdefault(owners, []).append(value)
        rules = [
            {
                "if": {"properties": {"type": _one_of_values(vals)}, "required": ["type"]},
                "then": self._any_of_branches([branches[i] for i in owners], where),
            }
            for owners, vals in classes.items()
        ]
        untyped = [b for b in branches if not b.type_required]
        if untyped:
            rules.append({"if": {"not": {"required": ["type"]}}, "then": self._any_of_branches(untyped, where)})
        (self.log.grouped if any(len(o) > 1 for o in classes) else self.log.discriminated).append(where)
        dispatch: dict[str, Any] = {"type": "object"}
        if not untyped:
            dispatch["required"] = ["type"]
        dispatch["properties"] = {"type": {"enum": values}}
        dispatch["allOf"] = rules
        return dispatch

    def _any_of_branches(self, branches: list[Branch], where: str) -> Schema:
        schemas = [self.rewrite(b.schema, f"{where}/branch") for b in branches]
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}

    # -- reading branches

    def _resolve(self, schema: Schema) -> Schema:
        """Follow ``$ref`` chains to the schema they name."""
        seen: set[str] = set()
        while isinstance(schema, dict) and set(schema) == {"$ref"}:
            ref = schema["$ref"]
            if ref in seen:
                raise ValueError(f"reference loop at {ref}")
            seen.add(ref)
            schema = self._target(ref)
        return schema

    def _target(self, ref: str) -> Schema:
        return self.defs[ref.removeprefix(DEFS_REF_PREFIX)]

    def _object_branches(self, branch: Schema) -> list[Branch] | None:
        """The tagged object branches ``branch`` stands for, or None when it is not one.

        A branch that names another tagged union (``InputItem`` -> ``Item``)
        stands for all of that union's branches, so the dispatch sees through it.
        """
        if not isinstance(branch, dict):
            return None
        target = self._target(branch["$ref"]) if "$ref" in branch else branch
        if _is_plain_union(target) and set(branch) <= {"$ref", "type"} and branch.get("type", "object") == "object":
            keyword = "oneOf" if "oneOf" in target else "anyOf"
            found = [self._object_branches(sub) for sub in target[keyword]]
            if any(f is None for f in found):
                return None
            return [b for f in found for b in f]  # type: ignore[union-attr]
        tag = self._tag(branch)
        if tag is None:
            return None
        return [Branch(branch, *tag)]

    def _tag(self, branch: Schema) -> tuple[tuple[Any, ...], bool] | None:
        """The ``type`` values an object branch accepts and whether it requires ``type``."""
        values: set[Any] | None = None
        order: list[Any] = []
        required = False
        for part in self._parts(branch):
            kind = part.get("type")
            if kind is not None and "object" not in ([kind] if isinstance(kind, str) else kind):
                return None
            required = required or "type" in part.get("required", [])
            prop = part.get("properties", {}).get("type")
            if prop is None:
                continue
            found = self._values(prop)
            if found is None:
                return None
            order.extend(found)
            values = set(found) if values is None else values & set(found)
        if not values:
            return None
        return tuple(v for v in dict.fromkeys(order) if v in values), required

    def _parts(self, schema: Schema) -> Iterator[dict[str, Any]]:
        """``schema`` and everything it must also satisfy through ``$ref`` and ``allOf``."""
        if not isinstance(schema, dict):
            return
        yield schema
        if "$ref" in schema:
            yield from self._parts(self._target(schema["$ref"]))
        for sub in schema.get("allOf", []):
            yield from self._parts(sub)

    def _values(self, prop: Schema) -> list[Any] | None:
        """The values a ``type`` property allows, if it lists them (``enum``, ``const``, or null)."""
        prop = self._resolve(prop)
        if not isinstance(prop, dict):
            return None
        if "const" in prop:
            return [prop["const"]]
        if "enum" in prop:
            return list(prop["enum"])
        if prop == {"type": "null"}:
            return [None]
        union = prop.get("anyOf") or prop.get("oneOf")
        if union:
            found = [self._values(sub) for sub in union]
            if any(f is None for f in found):
                return None
            return [v for f in found for v in f]  # type: ignore[union-attr]
        return None

    def _is_not_object(self, branch: Schema) -> bool:
        """Whether ``branch`` can only match non-objects (a string, null, array ...)."""
        target = self._resolve(branch)
        if not isinstance(target, dict):
            return False
        kind = target.get("type")
        if kind is None:
            union = target.get("anyOf") or target.get("oneOf")
            return bool(union) and all(self._is_not_object(sub) for sub in union)
        return "object" not in ([kind] if isinstance(kind, str) else kind)


def _is_plain_union(schema: Schema) -> bool:
    """A schema that is nothing but a union (plus ``type: object``)."""
    if not isinstance(schema, dict):
        return False
    keywords = set(schema) - {"type"}
    return keywords in ({"oneOf"}, {"anyOf"}) and schema.get("type", "object") == "object"


def _one_of_values(values: list[Any]) -> dict[str, Any]:
    return {"const": values[0]} if len(values) == 1 else {"enum": values}


def _merge(siblings: dict[str, Any], union: dict[str, Any]) -> dict[str, Any]:
    """Put a rewritten union back beside the keywords that sat next to it."""
    clash = any(siblings[k] != union[k] for k in siblings.keys() & union.keys())
    if not clash:
        return {**siblings, **union}
    return {**siblings, "allOf": [*siblings.get("allOf", []), union]}


# --- step 3: assemble the files --------------------------------------------


def reachable(defs: dict[str, Schema], roots: Iterable[str]) -> list[str]:
    """Names of the components the roots need, sorted (the output keeps only these)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_refs_in(defs[name]))
    return sorted(seen)


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(DEFS_REF_PREFIX):
            yield ref.removeprefix(DEFS_REF_PREFIX)
        for value in node.values():
            yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


# --- step 3: what the real API accepts and sends -----------------------------

#: Fields the spec lists as required that the real API does without, per component. Requests: fields the API
#: defaults (a function tool's ``strict``: LangChain's ``bind_tools`` and agent frameworks omit it and OpenAI
#: accepts that; an input image's ``detail``: ``auto`` by default). Replies: fields OpenAI's own documented
#: examples (``x-oaiMeta``) leave out, which the openai SDK then reads as None. A profile that refuses what
#: the real service accepts, or what it sends, is wrong.
NOT_REQUIRED: dict[str, tuple[str, ...]] = {
    "FunctionTool": ("strict",),
    "InputImageContent": ("detail",),
    "OutputTextContent": ("logprobs",),
    "ResponseTextDeltaEvent": ("logprobs",),
    "ResponseTextDoneEvent": ("logprobs",),
    "WebSearchToolCall": ("action",),
    "ResponseUsage": ("input_tokens_details",),
}
#: Stream events whose documented examples leave ``sequence_number`` out (the SDK tolerates it).
EVENTS_WITHOUT_SEQUENCE_NUMBER = "Event"


def relaxed(source: dict[str, Schema]) -> dict[str, Schema]:
    """The spec's components with ``NOT_REQUIRED`` (and events' ``sequence_number``) no longer required."""
    out = copy.deepcopy(source)
    for name, schema in out.items():
        dropped = set(NOT_REQUIRED.get(name, ()))
        if name.endswith(EVENTS_WITHOUT_SEQUENCE_NUMBER):
            dropped.add("sequence_number")
        for node in [schema, *schema.get("allOf", [])] if isinstance(schema, dict) else []:
            if isinstance(node, dict) and dropped & set(node.get("required", [])):
                node["required"] = [r for r in node["required"] if r not in dropped]
    return out


def nullable_optional(defs: dict[str, Schema]) -> dict[str, Schema]:
    """Every optional property may be ``null`` (clients, the openai SDK included, treat null and absent alike;
    OpenAI's own examples send ``"user": null``). A property an ``allOf`` sibling requires stays as it is."""
    required_by_siblings: dict[str, set[str]] = {}

    def required_of(node: Schema) -> set[str]:
        if isinstance(node, dict) and "$ref" in node:
            node = defs.get(node["$ref"].removeprefix(DEFS_REF_PREFIX), {})
        return set(node.get("required", [])) if isinstance(node, dict) else set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("allOf"), list):
                together = required_of(node).union(*(required_of(m) for m in node["allOf"]))
                for member in node["allOf"]:
                    if isinstance(member, dict) and "$ref" in member:
                        key = member["$ref"].removeprefix(DEFS_REF_PREFIX)
                        required_by_siblings.setdefault(key, set()).update(together)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(defs)

    def visit(node: Any, kept: set[str]) -> Any:
        if isinstance(node, list):
            return [visit(v, set()) for v in node]
        if not isinstance(node, dict):
            return node
        together = kept | set(node.get("required", []))
        if isinstance(node.get("allOf"), list):
            together = together.union(*(required_of(m) for m in node["allOf"]))
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: visit(sub, set()) if name in together or name == "type" else _or_null(visit(sub, set()))
                    for name, sub in value.items()
                }
            elif key == "allOf":
                out[key] = [visit(m, together) for m in value]
            else:
                out[key] = visit(value, set())
        return out

    return {name: visit(schema, required_by_siblings.get(name, set())) for name, schema in defs.items()}


def _or_null(schema: Schema) -> Schema:
    if schema is True or not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if isinstance(kind, (str, list)) and "$ref" not in schema and "const" not in schema:
        return _make_nullable(copy.deepcopy(schema))
    if any(isinstance(b, dict) and b.get("type") == "null" for b in schema.get("anyOf", [])):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def components_document(spec: dict[str, Any], *, dispatch: bool = True) -> tuple[dict[str, Any], UnionLog]:
    """The ``$defs`` document every entry file points into, and what became of each union.

    ``dispatch=False`` gives the same document with plain ``anyOf`` unions (for tests).
    """
    source = relaxed(spec["components"]["schemas"])
    cleaned = {name: clean(schema, name) for name, schema in source.items()}
    translator = UnionTranslator(cleaned, dispatch=dispatch)
    translated = nullable_optional({name: translator.rewrite(schema, name) for name, schema in cleaned.items()})
    keep = reachable(translated, (component for component, _ in ENTRY_POINTS.values()))
    translator.log.keep_only(keep)
    document = {
        "$schema": DIALECT,
        "$id": BASE_URI + COMPONENTS_FILE,
        "$comment": generated_notice(spec),
        "$defs": {name: translated[name] for name in keep},
    }
    return document, translator.log


def generated_notice(spec: dict[str, Any]) -> str:
    version = spec.get("info", {}).get("version", "unknown")
    return (
        f"Generated from the OpenAI OpenAPI document (info.version {version}) by "
        "schemas/derive_openai.py. Do not edit: change the script and rerun it."
    )


def entry_document(name: str, component: str, title: str, spec: dict[str, Any]) -> dict[str, Any]:
    """An entry file: just a reference to one component."""
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_URI}{name}.schema.json",
        "title": title,
        "$comment": generated_notice(spec),
        "$ref": f"{COMPONENTS_FILE}#/$defs/{component}",
    }


def request_document(spec: dict[str, Any], known_parameters: list[str]) -> dict[str, Any]:
    """``CreateResponse`` closed to unknown parameters, with ``model``/``input`` required.

    Closed with ``additionalProperties: false`` over the statically collected
    parameter names rather than ``unevaluatedProperties: false``: jsonschema
    only counts a property as evaluated when the ``allOf`` member declaring it
    is valid, so one bad value (``temperature: 3``) would also report every
    sibling parameter of that member as unknown.
    """
    document = entry_document("request", "CreateResponse", ENTRY_POINTS["request"][1], spec)
    document["$comment"] += (
        " Beyond the spec: model and input are required (CreateResponse requires nothing, but the"
        " openai SDK's responses.stream() insists on both); max_tokens is accepted as the gateway's"
        " documented alias (both profiles accept it); unknown parameters are rejected, as OpenAI"
        ' does ("Unknown parameter").'
    )
    document["required"] = ["model", "input"]
    properties: dict[str, Any] = {name: True for name in known_parameters}
    properties.update({name: {"not": {"type": "null"}} for name in document["required"]})  # required: not null
    properties["max_tokens"] = {"type": ["integer", "null"], "minimum": 1}
    document["properties"] = dict(sorted(properties.items()))
    document["additionalProperties"] = False
    return document


def closed_document(name: str, spec: dict[str, Any], known_parameters: list[str]) -> dict[str, Any]:
    """A request body entry closed to unknown parameters (``additionalProperties: false`` over its names)."""
    component, title = ENTRY_POINTS[name]
    document = entry_document(name, component, title, spec)
    document["$comment"] += " Unknown parameters are rejected, as OpenAI does."
    document["properties"] = {name: True for name in known_parameters}
    document["additionalProperties"] = False
    return document


def declared_properties(defs: dict[str, Schema], name: str) -> list[str]:
    """Every property name a component declares through its ``$ref``/``allOf`` chain, sorted."""
    names: set[str] = set()

    def visit(schema: Schema) -> None:
        if not isinstance(schema, dict):
            return
        names.update(schema.get("properties", {}))
        if "$ref" in schema:
            visit(defs[schema["$ref"].removeprefix(DEFS_REF_PREFIX)])
        for sub in schema.get("allOf", []):
            visit(sub)

    visit(defs[name])
    return sorted(names)


def deleted_document(spec: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /responses/{id}``: the spec documents no body, so this one is written by hand."""
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_URI}deleted.schema.json",
        "title": "Deleted response (openai profile)",
        "$comment": (
            f"Not derived: the spec (info.version {spec.get('info', {}).get('version', 'unknown')}) gives"
            " DELETE /responses/{response_id} no 200 body and the SDK returns None. This mirrors the body"
            " OpenAI sends, {id, object: response.deleted, deleted: true}; the spec's own example text shows"
            " object 'response', so both values are accepted. Written by schemas/derive_openai.py."
        ),
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": {"enum": ["response.deleted", "response"]},
            "deleted": {"const": True},
        },
    }


#: Where the hand-written documents come from: the openai SDK's types (openai 2.x/3.x, ``openai/types/...``).
SDK_SOURCE = "the openai SDK's types (openai/types/{where}), not the spec, which leaves this API out"


def sdk_document(name: str, title: str, where: str, spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A document the spec does not hold, written from the SDK's types; ``$ref``s point into the components."""
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_URI}{name}.schema.json",
        "title": title,
        "$comment": (
            f"Not derived: written by schemas/derive_openai.py from {SDK_SOURCE.format(where=where)} "
            f"(spec info.version {spec.get('info', {}).get('version', 'unknown')}). Replies are read as tolerantly "
            "as the derived ones; request bodies refuse unknown parameters."
        ),
        **schema,
    }


def _ref(component: str) -> dict[str, str]:
    return {"$ref": f"{COMPONENTS_FILE}#/$defs/{component}"}


def _metadata() -> dict[str, Any]:
    return {"anyOf": [_ref("Metadata"), {"type": "null"}]}


def _closed(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": False}


def sdk_documents(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``POST /responses/compact`` and the Conversations API: in the SDK, not in the cut-down spec."""
    items = {"type": "array", "maxItems": 20, "items": _ref("InputItem")}
    documents = {
        "compact_request": (
            "Compact a conversation (openai profile)",
            "responses/response_compact_params.py",
            _closed(
                {
                    "model": {"type": "string", "minLength": 1},
                    "input": {
                        "anyOf": [{"type": "string"}, {"type": "array", "items": _ref("InputItem")}, {"type": "null"}]
                    },
                    "instructions": {"type": ["string", "null"]},
                    "previous_response_id": {"type": ["string", "null"]},
                    "prompt_cache_key": {"type": ["string", "null"]},
                    "prompt_cache_options": {"type": ["object", "null"]},
                    "prompt_cache_retention": {"type": ["string", "null"]},
                    "service_tier": {"type": ["string", "null"]},
                },
                ["model"],
            ),
        ),
        "compacted_response": (
            "Compacted response (openai profile)",
            "responses/compacted_response.py",
            {
                "type": "object",
                "required": ["id", "created_at", "object", "output", "usage"],
                "properties": {
                    "id": {"type": "string"},
                    "created_at": {"type": "integer"},
                    "object": {"const": "response.compaction"},
                    "output": {"type": "array", "items": _ref("ItemResource")},
                    "usage": _ref("ResponseUsage"),
                },
            },
        ),
        "conversation": (
            "Conversation (openai profile)",
            "conversations/conversation.py",
            {
                "type": "object",
                "required": ["id", "created_at", "metadata", "object"],
                "properties": {
                    "id": {"type": "string"},
                    "created_at": {"type": "integer"},
                    "metadata": {"type": ["object", "null"]},
                    "object": {"const": "conversation"},
                },
            },
        ),
        "conversation_deleted": (
            "Deleted conversation (openai profile)",
            "conversations/conversation_deleted_resource.py",
            {
                "type": "object",
                "required": ["id", "deleted", "object"],
                "properties": {
                    "id": {"type": "string"},
                    "deleted": {"type": "boolean"},
                    "object": {"const": "conversation.deleted"},
                },
            },
        ),
        "conversation_item_list": (
            "Conversation item list (openai profile)",
            "conversations/conversation_item_list.py",
            {
                "type": "object",
                "required": ["object", "data", "has_more", "first_id", "last_id"],
                "properties": {
                    "object": {"const": "list"},
                    "data": {"type": "array", "items": _ref("ItemResource")},
                    "has_more": {"type": "boolean"},
                    "first_id": {"type": ["string", "null"]},
                    "last_id": {"type": ["string", "null"]},
                },
            },
        ),
        "conversation_create_request": (
            "Create a conversation (openai profile)",
            "conversations/conversation_create_params.py",
            _closed({"items": {"anyOf": [items, {"type": "null"}]}, "metadata": _metadata()}, []),
        ),
        "conversation_update_request": (
            "Update a conversation (openai profile)",
            "conversations/conversation_update_params.py",
            _closed({"metadata": _metadata()}, ["metadata"]),
        ),
        "conversation_items_request": (
            "Add items to a conversation (openai profile)",
            "conversations/item_create_params.py",
            _closed({"items": {**items, "minItems": 1}}, ["items"]),
        ),
    }
    return {
        f"{name}.schema.json": sdk_document(name, title, where, spec, schema)
        for name, (title, where, schema) in documents.items()
    }


def derive(spec: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], UnionLog]:
    """Every output file (name -> document) for ``spec``, and the union report."""
    components, log = components_document(spec)
    files: dict[str, dict[str, Any]] = {COMPONENTS_FILE: components}
    for name, (component, title) in ENTRY_POINTS.items():
        if name == "request":
            known = declared_properties(components["$defs"], component)
            files[f"{name}.schema.json"] = request_document(spec, known)
        elif name in REQUEST_ENTRY_POINTS:
            files[f"{name}.schema.json"] = closed_document(
                name, spec, declared_properties(components["$defs"], component)
            )
        else:
            files[f"{name}.schema.json"] = entry_document(name, component, title, spec)
    files["deleted.schema.json"] = deleted_document(spec)
    files.update(sdk_documents(spec))
    return files, log


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write(files: dict[str, dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write the files and remove stale generated ones; returns what changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, document in sorted(files.items()):
        path = out_dir / name
        text = render(document)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for stale in sorted(set(out_dir.glob("*.schema.json")) - {out_dir / n for n in files}):
        stale.unlink()
        changed.append(stale)
    return changed


def stale_files(files: dict[str, dict[str, Any]], out_dir: Path) -> list[str]:
    """Names of files on disk that differ from (or are missing from) a fresh derivation."""
    on_disk = {p.name for p in out_dir.glob("*.schema.json")}
    differing = [
        name
        for name, document in sorted(files.items())
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != render(document)
    ]
    return differing + sorted(on_disk - set(files))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.derive_openai", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help=f"OpenAPI document (default: {DEFAULT_SPEC})")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output directory (default: {OUT_DIR})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files are out of date")
    args = parser.parse_args(argv)
    spec = _read_spec(args.spec)
    if spec is None:
        return 2
    files, log = derive(spec)
    if args.check:
        stale = stale_files(files, args.out)
        for name in stale:
            print(f"out of date: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    changed = write(files, args.out)
    print(
        f"{len(files)} files in {args.out} ({len(changed)} changed); "
        f"{len(files[COMPONENTS_FILE]['$defs'])} components; unions: {len(log.discriminated)} discriminated, "
        f"{len(log.grouped)} discriminated with overlapping values, {len(log.any_of)} anyOf"
    )
    return 0


def _read_spec(path: Path) -> dict[str, Any] | None:
    """The OpenAPI document at ``path``, or None after one line on stderr saying what is wrong and what to pass."""
    prog = "python -m schemas.derive_openai"
    if not path.is_file():
        print(
            f"{prog}: no OpenAPI document at {path}: pass --spec PATH, the Responses part of OpenAI's OpenAPI "
            "document (in this project: ../shared/reference/openai-responses-openapi.json beside the repository)",
            file=sys.stderr,
        )
        return None
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"{prog}: {path}: not a readable JSON document: {exc}", file=sys.stderr)
        return None
    components = spec.get("components") if isinstance(spec, dict) else None
    if not isinstance(components, dict) or not isinstance(components.get("schemas"), dict):
        print(f"{prog}: {path}: not an OpenAPI document (no components.schemas)", file=sys.stderr)
        return None
    return spec


if __name__ == "__main__":
    sys.exit(main())
