"""Load the schema files into one ``referencing`` registry.

Every schema file carries an ``$id`` under :data:`BASE_URI`; the registry is
built from the files on disk only, so resolving a ``$ref`` never touches the
network. Loading, compiling and bundling are cached: each validator is built
once per process and reused, which is what keeps per-reply validation cheap.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_ROOT = Path(__file__).parent
BASE_URI = "https://contract.invalid/schemas/"
PROFILES = ("gateway", "openai")
DEFAULT_PROFILE = "gateway"


class UnknownSchema(LookupError):
    """Raised for a schema name or profile that has no file."""


def schema_path(name: str, profile: str = DEFAULT_PROFILE) -> Path:
    """The file that holds schema ``name`` of ``profile``."""
    if profile not in PROFILES:
        raise UnknownSchema(f"unknown profile {profile!r} (expected one of {', '.join(PROFILES)})")
    path = SCHEMA_ROOT / profile / f"{name}.schema.json"
    if not path.is_file():
        known = ", ".join(schema_names(profile))
        raise UnknownSchema(f"no schema {name!r} in profile {profile!r} (known: {known})")
    return path


def schema_uri(name: str, profile: str = DEFAULT_PROFILE) -> str:
    """The ``$id`` of schema ``name`` of ``profile``."""
    return f"{BASE_URI}{profile}/{name}.schema.json"


def schema_names(profile: str = DEFAULT_PROFILE) -> list[str]:
    """Names of the schemas a profile has, e.g. ``request``, ``response``."""
    return sorted(p.name.removesuffix(".schema.json") for p in (SCHEMA_ROOT / profile).glob("*.schema.json"))


def read_json(path: Path) -> Any:
    """Read one JSON file, naming the file in the error when it is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None


@functools.cache
def registry() -> Registry:
    """Every schema file of every profile, keyed by its ``$id``."""
    resources = []
    for profile in PROFILES:
        for path in sorted((SCHEMA_ROOT / profile).glob("*.schema.json")):
            contents = read_json(path)
            expected = f"{BASE_URI}{profile}/{path.name}"
            if contents.get("$id") != expected:
                raise ValueError(f"{path}: $id must be {expected!r}, found {contents.get('$id')!r}")
            resources.append((expected, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources).crawl()


@functools.cache
def _load(name: str, profile: str) -> dict[str, Any]:
    schema_path(name, profile)  # raises a readable error for unknown names
    return registry().contents(schema_uri(name, profile))


def load(name: str, profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """The schema ``name`` of ``profile`` as written on disk (a copy: callers may change it)."""
    return copy.deepcopy(_load(name, profile))


def bundle(name: str, profile: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """The schema with every ``$ref`` replaced by what it points to.

    Tools that do not follow references across files (hypothesis-jsonschema,
    OpenAPI documents) get one self-contained schema. Recursive references
    (only in the derived openai profile) are not inlined; bundling such a
    schema raises ``ValueError``.
    """
    return copy.deepcopy(_bundle(name, profile))


@functools.cache
def _bundle(name: str, profile: str) -> dict[str, Any]:
    return _inline(_load(name, profile), schema_uri(name, profile), frozenset())


def _inline(node: Any, base: str, seen: frozenset[str]) -> Any:
    """Copy ``node`` with each ``$ref`` replaced by its target, resolved against ``base``."""
    if isinstance(node, list):
        return [_inline(item, base, seen) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {k: _inline(v, base, seen) for k, v in node.items() if k not in _BUNDLE_DROPS}
    if "$ref" not in node:
        return copied
    target_uri = urljoin(base, node["$ref"])
    if target_uri in seen:
        raise ValueError(f"cannot bundle a recursive schema (at {target_uri})")
    target = registry().resolver(base_uri=base).lookup(node["$ref"]).contents
    inlined = _inline(target, urldefrag(target_uri).url, seen | {target_uri})
    del copied["$ref"]
    if not copied:
        return inlined
    return {"allOf": [inlined], **copied}


_BUNDLE_DROPS = ("$defs", "$id", "$schema", "$comment")
