"""Structural comparison of a base schema with one inferred from recordings.

The base is either the committed schema of a profile (``mode="schema"``:
the schema may declare more than was seen, so only what was *seen* differently
counts) or a schema inferred from an earlier recording set
(``mode="observed"``: anything no longer seen is gone). Each difference is
named by path and classified:

- breaking: a required field missing or not always present (schema mode), a
  type changed;
- additive: a new field, a new enum value, a new ``type`` variant;
- note: something the same request showed before and no longer does (a
  field, an enum value, a ``type`` variant; observed mode), or ``null`` where
  a value was.

Each difference also names its rule (``schema``, ``drift.new``,
``drift.gone``, ``drift.no_longer_seen``, ``drift.null``,
``drift.type_changed``...), whose level the levels file gives: only
violations fail a drift run.

In schema mode each difference also carries the edit that would make the
committed schema accept what was seen; :class:`Docs` applies them to copies
of the schema files, which ``infer --write`` saves or shows as a diff.
Paths are JSON pointers with ``*`` for array items and ``[type=X]`` after a
position whose objects are told apart by ``type``.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

import schemas

BREAKING, ADDITIVE, NOTE = "breaking", "additive", "note"
CLASSES = (BREAKING, ADDITIVE, NOTE)
DISCRIMINATOR = "type"


@dataclass
class Difference:
    """One difference between what a schema (or an earlier recording) says and what was recorded."""

    where: str
    path: str
    cls: str
    what: str
    sources: list[str] = field(default_factory=list)
    patch: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: For a type change the new JSON types, for a new enum value the values: what to look for in a recording.
    values: tuple[Any, ...] = ()
    #: The rule it reports under (``schemas/levels.json``): ``schema``, ``drift.new``, ``drift.gone``, ...
    rule: str = "schema"
    #: Its level, set by the report from the levels file: violation, known or observation.
    level: str = ""
    note: str = ""

    @property
    def bare_path(self) -> str:
        """The path without ``[type=X]`` markers, as a validation error would name it."""
        return re.sub(r"\[type=[^\]]*\]", "", self.path)


@dataclass(frozen=True)
class Loc:
    """A schema node and the document (URI) it lives in, so ``$ref`` resolves and patches land in the file."""

    doc: str
    node: Any


class Docs:
    """Schema documents by URI: committed files loaded on first use as copies that patches may change."""

    def __init__(self, profile: str | None = None, documents: dict[str, Any] | None = None):
        self.profile = profile
        self.documents: dict[str, Any] = dict(documents or {})
        self.originals: dict[str, Any] = {uri: copy.deepcopy(doc) for uri, doc in self.documents.items()}

    def doc(self, uri: str) -> Any:
        if uri not in self.documents:
            if not uri.startswith(schemas.BASE_URI):
                raise LookupError(f"cannot resolve {uri}")
            profile, _, file = uri[len(schemas.BASE_URI) :].partition("/")
            self.documents[uri] = schemas.load(file.removesuffix(".schema.json"), profile)
            self.originals[uri] = copy.deepcopy(self.documents[uri])
        return self.documents[uri]

    def root(self, name: str) -> Loc:
        assert self.profile, "a committed-schema Docs needs a profile"
        uri = f"{schemas.BASE_URI}{self.profile}/{name}.schema.json"
        return Loc(uri, self.doc(uri))

    def resolve(self, loc: Loc, ref: str) -> Loc:
        url, fragment = urldefrag(urljoin(loc.doc, ref))
        node = self.doc(url)
        for token in filter(None, fragment.split("/")):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return Loc(url, node)

    def validator(self, name: str) -> Any:
        """A validator for schema ``name`` of this profile that sees the patched documents."""
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        for other in schemas.schema_names(self.profile):
            self.doc(f"{schemas.BASE_URI}{self.profile}/{other}.schema.json")
        registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in self.documents.items()
        )
        return Draft202012Validator(self.root(name).node, registry=registry)

    def changed(self) -> dict[str, tuple[Any, Any]]:
        """``uri -> (before, after)`` for each document a patch changed."""
        return {uri: (self.originals[uri], doc) for uri, doc in self.documents.items() if doc != self.originals[uri]}


def unified_diff(docs: Docs, label: Callable[[str], str] = lambda uri: uri) -> str:
    """A unified diff of each changed document, both sides printed the same way so only real changes show."""
    out = []
    for uri, (before, after) in sorted(docs.changed().items()):
        a = json.dumps(before, indent=2, ensure_ascii=False).splitlines(keepends=True)
        b = json.dumps(after, indent=2, ensure_ascii=False).splitlines(keepends=True)
        out.extend(difflib.unified_diff(a, b, f"{label(uri)}", f"{label(uri)} (candidate)"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


@dataclass
class View:
    """What a schema position allows, flattened over ``$ref``, ``allOf`` and ``anyOf``/``oneOf``."""

    types: set[str] | None = None
    type_at: Loc | None = None
    enum: list[Any] | None = None
    enum_at: Loc | None = None
    props: dict[str, list[Loc]] = field(default_factory=dict)
    required: dict[str, list[Loc]] = field(default_factory=dict)
    items: list[Loc] = field(default_factory=list)
    map_values: list[Loc] = field(default_factory=list)
    variants: dict[str, list[Loc]] = field(default_factory=dict)
    variants_at: Loc | None = None
    owner: Loc | None = None

    def allows_object(self) -> bool:
        return self.types is None or "object" in self.types


def view(locs: list[Loc], docs: Docs) -> View:
    """The merged view of schema nodes that all apply at one position."""
    result = View()
    for loc in locs:
        _collect(loc, docs, result, frozenset())
    return result


def _collect(loc: Loc, docs: Docs, into: View, seen: frozenset[int]) -> None:
    node = loc.node
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen = seen | {id(node)}
    if "type" in node:
        declared = node["type"]
        types = {declared} if isinstance(declared, str) else set(declared)
        into.types = types if into.types is None else (into.types & types or into.types | types)
        into.type_at = loc
    if "const" in node or "enum" in node:
        values = [node["const"]] if "const" in node else list(node["enum"])
        into.enum = values if into.enum is None else ([v for v in into.enum if v in values] or into.enum + values)
        into.enum_at = loc
    if isinstance(node.get("properties"), dict):
        for name, sub in node["properties"].items():
            into.props.setdefault(name, []).append(Loc(loc.doc, sub))
        if set(node["properties"]) - {DISCRIMINATOR} or into.owner is None:
            into.owner = loc
    for name in node.get("required", []):
        into.required.setdefault(name, []).append(loc)
    if isinstance(node.get("items"), dict):
        into.items.append(Loc(loc.doc, node["items"]))
    if isinstance(node.get("additionalProperties"), dict):
        into.map_values.append(Loc(loc.doc, node["additionalProperties"]))
    if isinstance(node.get("$ref"), str):
        _collect(docs.resolve(loc, node["$ref"]), docs, into, seen)
    for sub in node.get("allOf", []):
        if "if" not in sub:
            _collect(Loc(loc.doc, sub), docs, into, seen)
        elif isinstance(sub.get("then"), dict) and (value := _if_type(sub["if"])) is not None:
            into.variants.setdefault(value, []).append(Loc(loc.doc, sub["then"]))  # "if type is X then ..."
        # other conditional requirements are left to validation
    for keyword in ("anyOf", "oneOf"):
        if keyword in node:
            _merge_branches(loc, [Loc(loc.doc, b) for b in node[keyword]], docs, into, seen)


def _merge_branches(at: Loc, branches: list[Loc], docs: Docs, into: View, seen: frozenset[int]) -> None:
    """Branches told apart by a ``type`` constant become variants; others are merged as a union."""
    views = []
    for branch in branches:
        sub = View()
        _collect(branch, docs, sub, seen)
        views.append(sub)
    catch_all = [_is_catch_all(v, docs) for v in views]
    if any(catch_all) and not all(catch_all):  # "any other type": the tagged branches are the variants
        branches = [b for b, other in zip(branches, catch_all, strict=True) if not other]
        views = [v for v, other in zip(views, catch_all, strict=True) if not other]
    tags = [discriminator_values(v, docs) for v in views]
    if all(tags):
        into.variants_at = at
        for branch, values in zip(branches, tags, strict=True):
            for value in values:
                into.variants.setdefault(value, []).append(branch)
        into.types = into.types or {"object"}
        return
    union = View(types=set(), enum=[])
    for sub in views:
        union.types = None if union.types is None or sub.types is None else union.types | sub.types
        union.enum = (
            None
            if union.enum is None or sub.enum is None
            else union.enum + [v for v in sub.enum if v not in union.enum]
        )
        for name, locs in sub.props.items():
            union.props.setdefault(name, []).extend(locs)
        union.items += sub.items
        union.map_values += sub.map_values
        union.owner = union.owner or sub.owner
    objects = [sub for sub in views if sub.allows_object()]
    if objects:
        common = set.intersection(*(set(sub.required) for sub in objects))
        union.required = {n: [loc for sub in objects for loc in sub.required[n]] for n in common}
    if into.types is None or union.types is None:
        into.types = into.types if union.types is None else union.types
    if union.enum is not None and into.enum is None:
        into.enum, into.enum_at = union.enum, at
    for name, locs in union.props.items():
        into.props.setdefault(name, []).extend(locs)
    for name, locs in union.required.items():
        into.required.setdefault(name, []).extend(locs)
    into.items += union.items
    into.map_values += union.map_values
    into.owner = into.owner or union.owner


def _is_catch_all(v: View, docs: Docs) -> bool:
    """A branch for "any other ``type``" (``{"type": {"type": "string", "not": {"enum": [...]}}}``)."""
    locs = v.props.get(DISCRIMINATOR, [])
    return bool(locs) and all(isinstance(loc.node, dict) and "not" in loc.node for loc in locs)


def _if_type(condition: Any) -> str | None:
    """X in ``{"properties": {"type": {"const": X}}}``, the form the derived openai profile switches on."""
    if not isinstance(condition, dict):
        return None
    value = condition.get("properties", {}).get(DISCRIMINATOR, {})
    return value.get("const") if isinstance(value, dict) and isinstance(value.get("const"), str) else None


def discriminator_values(v: View, docs: Docs) -> list[str]:
    """The ``type`` constant(s) a variant view pins, or [] when it pins none."""
    if DISCRIMINATOR not in v.props:
        return []
    values = view(v.props[DISCRIMINATOR], docs).enum or []
    return [x for x in values if isinstance(x, str)]


@dataclass
class Comparison:
    """Walks a base schema (``base_docs``) and an inferred one side by side, collecting differences."""

    base_docs: Docs
    mode: str  # "schema" | "observed"
    where: str
    differences: list[Difference] = field(default_factory=list)

    def run(self, base: Loc, inferred: dict[str, Any]) -> list[Difference]:
        """Compare from the root of ``base``."""
        return self.run_many([base], inferred)

    def run_many(self, base: list[Loc], inferred: dict[str, Any]) -> list[Difference]:
        """Compare from several base nodes that all apply (e.g. an ``anyOf`` branch and its ``$ref``)."""
        self._new_docs = Docs(documents={"inferred:": inferred})
        self._compare(base, [Loc("inferred:", inferred)], "")
        return self.differences

    def _add(
        self,
        path: str,
        cls: str,
        what: str,
        patch: Callable[[], None] | None = None,
        values: tuple[Any, ...] = (),
        *,
        rule: str,
    ) -> None:
        patch = patch if self.mode == "schema" else None
        self.differences.append(Difference(self.where, path, cls, what, patch=patch, values=values, rule=rule))

    def _compare(self, base_locs: list[Loc], new_locs: list[Loc], path: str) -> None:
        base, new = view(base_locs, self.base_docs), view(new_locs, self._new_docs)
        if new.variants or (base.variants and discriminator_values(new, self._new_docs)):
            self._compare_variants(base, base_locs, new, new_locs, path)
            return
        self._compare_types(base, new, path)
        self._compare_enum(base, new, path)
        if new.types and "object" in new.types and (base.props or base.map_values):
            self._compare_props(base, new, path)
        if base.items and new.items:
            self._compare(base.items, new.items, f"{path}/*")

    def _compare_variants(self, base: View, base_locs: list[Loc], new: View, new_locs: list[Loc], path: str) -> None:
        new_variants = new.variants or {v: new_locs for v in discriminator_values(new, self._new_docs)}
        for value, locs in new_variants.items():
            here = f"{path}[type={value}]"
            if not base.variants:
                self._compare(base_locs, locs, here)
            elif value in base.variants:
                self._compare(base.variants[value], locs, here)
            else:
                self._add(
                    here,
                    ADDITIVE,
                    f"new type value {value!r} (a new kind of object here)",
                    self._patch_variant(base, locs),
                    rule="drift.new",
                )
        if self.mode == "observed":
            for value in base.variants.keys() - new_variants.keys():
                self._add(
                    f"{path}[type={value}]", NOTE, f"type value {value!r} no longer seen", rule="drift.no_longer_seen"
                )

    def _compare_types(self, base: View, new: View, path: str) -> None:
        if base.types is None or new.types is None:
            return
        extra = {t for t in new.types if t not in base.types and not (t == "integer" and "number" in base.types)}
        if not extra:
            return
        was, now = _types_text(base.types), _types_text(new.types)
        patch = None
        if base.type_at is not None:
            at = base.type_at.node
            merged = sorted(
                {"number" if t == "integer" and "number" in base.types else t for t in new.types}
                | (base.types & {"null"})
            )

            def patch() -> None:
                at["type"] = merged[0] if len(merged) == 1 else merged

        if extra == {"null"}:  # null where a value was: clients treat it as absent
            self._add(path, NOTE, f"null where a value was: was {was}, now {now}", patch, ("null",), rule="drift.null")
            return
        self._add(
            path,
            BREAKING,
            f"type changed: was {was}, now {now}",
            patch,
            tuple(sorted(extra)),
            rule="schema" if self.mode == "schema" else "drift.type_changed",
        )

    def _compare_enum(self, base: View, new: View, path: str) -> None:
        if base.enum is None or new.enum is None:
            return
        added = [v for v in new.enum if v not in base.enum]
        if added:
            at = base.enum_at.node if base.enum_at else None

            def patch() -> None:
                if at is not None:
                    values = [at.pop("const")] if "const" in at else at.get("enum", [])
                    at["enum"] = values + [v for v in added if v not in values]

            self._add(
                path,
                ADDITIVE,
                f"new enum value(s): {', '.join(map(json.dumps, added))}",
                patch,
                tuple(added),
                rule="drift.new",
            )
        if self.mode == "observed":
            removed = [v for v in base.enum if v not in new.enum]
            if removed:
                self._add(
                    path,
                    NOTE,
                    f"enum value(s) no longer seen: {', '.join(map(json.dumps, removed))}",
                    rule="drift.no_longer_seen",
                )

    def _compare_props(self, base: View, new: View, path: str) -> None:
        for name, locs in new.props.items():
            here = f"{path}/{_escape(name)}"
            declared = base.props.get(name) or base.map_values
            if declared:
                self._compare(declared, locs, here)
                continue
            always = "always" if name in new.required else "sometimes"
            self._add(
                here,
                ADDITIVE,
                f"new field ({_types_text(view(locs, self._new_docs).types)}, {always} present)",
                self._patch_field(base, name, locs),
                rule="drift.new",
            )
        for name, holders in base.required.items():
            here = f"{path}/{_escape(name)}"
            if name not in new.props:
                schema_mode = self.mode == "schema"
                self._add(
                    here,
                    BREAKING if schema_mode else NOTE,
                    "required field missing" if schema_mode else "field gone (was there for the same request)",
                    _patch_unrequire(holders, name),
                    rule="schema" if schema_mode else "drift.gone",
                )
            elif name not in new.required:
                what = (
                    "required field missing in some replies"
                    if self.mode == "schema"
                    else "field no longer always present"
                )
                self._add(
                    here,
                    BREAKING if self.mode == "schema" else NOTE,
                    what,
                    _patch_unrequire(holders, name),
                    rule="schema" if self.mode == "schema" else "drift.gone",
                )
        if self.mode == "observed":
            for name in base.props.keys() - new.props.keys() - base.required.keys():
                self._add(f"{path}/{_escape(name)}", NOTE, "optional field no longer seen", rule="drift.no_longer_seen")

    def _patch_field(self, base: View, name: str, locs: list[Loc]) -> Callable[[], None] | None:
        if base.owner is None:
            return None
        owner, schema = base.owner.node, copy.deepcopy(locs[0].node)

        def patch() -> None:
            owner.setdefault("properties", {})[name] = schema

        return patch

    def _patch_variant(self, base: View, locs: list[Loc]) -> Callable[[], None] | None:
        if base.variants_at is None:
            return None
        at, schema = base.variants_at.node, copy.deepcopy(locs[0].node)

        def patch() -> None:
            at["anyOf" if "anyOf" in at else "oneOf"].append(schema)

        return patch


def _patch_unrequire(holders: list[Loc], name: str) -> Callable[[], None]:
    def patch() -> None:
        for holder in holders:
            if name in holder.node.get("required", []):
                holder.node["required"] = [n for n in holder.node["required"] if n != name]
                if not holder.node["required"]:
                    del holder.node["required"]

    return patch


def _types_text(types: set[str] | None) -> str:
    return "any type" if types is None else "|".join(sorted(types)) or "nothing"


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
