"""The corpus of real traffic (``fixtures/real``) and the derivation rule of the gateway profile, for tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import schemas

from .conftest import FIXTURES

REAL = FIXTURES / "real"
INDEX = json.loads((REAL / "index.json").read_text(encoding="utf-8"))
DERIVATION = json.loads((schemas.SCHEMA_ROOT / "gateway" / "derivation.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Example:
    file: str
    kind: str
    entry: dict[str, Any]

    @property
    def value(self) -> Any:
        return json.loads((REAL / self.file).read_text(encoding="utf-8"))


EXAMPLES = [Example(e["file"], e["kind"], e) for e in INDEX["files"]]
REPLIES = [e for e in EXAMPLES if e.kind == "response"]
ERRORS = [e for e in EXAMPLES if e.kind == "error"]

_STEP = re.compile(r"^([^\[]+)(?:\[(\w+)=([^\]]*)\])?$")


def select(kind: str, document: Any, selector: str) -> Iterator[tuple[str, Any]]:
    """The objects ``selector`` picks in ``document`` of ``kind``, with their JSON pointers.

    ``response[status=completed]/usage/x_details/*`` : the first step names the
    kind of document (and a filter on it), then keys, ``*`` for every item,
    ``[type=X]`` to keep only objects whose ``type`` is X.
    """
    steps = selector.split("/")
    name, key, wanted = _STEP.match(steps[0]).groups()
    if name != kind or not _keeps(document, key, wanted):
        return
    nodes: list[tuple[str, Any]] = [("", document)]
    for step in steps[1:]:
        name, key, wanted = _STEP.match(step).groups()
        following = []
        for pointer, node in nodes:
            if name == "*" and isinstance(node, list):
                following += [(f"{pointer}/{i}", child) for i, child in enumerate(node)]
            elif isinstance(node, dict) and name in node:
                following.append((f"{pointer}/{name}", node[name]))
        nodes = [(p, n) for p, n in following if _keeps(n, key, wanted)]
    yield from ((p, n) for p, n in nodes if isinstance(n, dict))


def _keeps(node: Any, key: str | None, wanted: str | None) -> bool:
    return key is None or (isinstance(node, dict) and node.get(key) == wanted)


def required_pointers(kind: str, document: Any) -> set[str]:
    """Every pointer in ``document`` that the derivation rule makes required."""
    found = set()
    for entry in DERIVATION["objects"]:
        for pointer, _ in select(kind, document, entry["select"]):
            found.update(f"{pointer}/{name}" for name in entry["required"])
    return found


def member_pointers(value: Any, pointer: str = "") -> Iterator[str]:
    """The pointer of every object member at any depth (array items themselves are not members)."""
    if isinstance(value, dict):
        for key, child in value.items():
            here = f"{pointer}/{schemas.to_pointer([key])[1:]}"
            yield here
            yield from member_pointers(child, here)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from member_pointers(child, f"{pointer}/{index}")
