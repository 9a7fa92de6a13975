"""Real traffic (``fixtures/real``) fits the gateway profile, and the profile is derived from it on a stated rule.

The rule lives in ``schemas/gateway/derivation.json``; these tests recompute
each of its corpus-derived entries from the examples and compare them with
the rule and with the schema files, so none of the three can drift.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from schemas.stream import validate_stream

from .real_corpus import DERIVATION, ERRORS, EXAMPLES, INDEX, REAL, REPLIES, member_pointers, required_pointers, select


def _node(schema: dict, at: str) -> dict:
    node = schema
    for token in filter(None, at.split("/")):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_every_file_of_the_corpus_is_indexed_with_its_source() -> None:
    files = {p.name for p in REAL.iterdir()} - {"index.json", "README.md"}
    assert files == {e.file for e in EXAMPLES}
    for example in EXAMPLES:
        assert example.entry["source"] and example.entry["origin"] in ("published", "rendered"), example.file
        assert example.kind in ("response", "error", "events", "stream"), example.file
    assert INDEX["seen"] and INDEX["left_out"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.file)
def test_every_real_example_validates_in_the_gateway_profile(example) -> None:
    value = example.value
    if example.kind == "response":
        assert schemas.validate(value, "response", "gateway") == []
    elif example.kind == "error":
        assert schemas.validate(value, "error", "gateway") == []
    elif example.kind == "events":
        for event in value:
            assert schemas.validate(event, "event", "gateway") == [], event["type"]
        if not example.entry.get("excerpt"):
            assert validate_stream(value, "gateway") == []
    else:
        assert schemas.validate_sse((REAL / example.file).read_text(encoding="utf-8"), "gateway") == []


def test_the_qwen_cloud_style_reply_is_accepted_on_the_five_points_the_first_profile_refused() -> None:
    reply = json.loads((REAL / "modelstudio-en-create-reply.json").read_text(encoding="utf-8"))
    assert not {"completed_at", "metadata", "temperature", "top_p"} & set(reply)
    assert not reply["id"].startswith("resp_")
    assert schemas.validate(reply, "response", "gateway") == []


@pytest.mark.parametrize("entry", DERIVATION["objects"], ids=lambda e: e["name"])
def test_the_schemas_require_exactly_what_the_rule_derives(entry) -> None:
    """Each entry's required fields are in the schema file at its place; corpus entries are recomputed."""
    node = _node(schemas.load(entry["schema"], "gateway"), entry["at"])
    assert sorted(node.get("required", [])) == sorted(entry["required"]), entry["name"]
    if entry["from"] == "corpus":
        kind = entry["select"].split("/")[0].split("[")[0]
        seen = [obj for e in EXAMPLES if e.kind == kind for _, obj in select(kind, e.value, entry["select"])]
        assert seen, f"no example for {entry['name']}"
        carried_by_all = set.intersection(*(set(obj) for obj in seen))
        assert sorted(carried_by_all) == sorted(entry["required"]), entry["name"]
    else:
        assert entry["why"], entry["name"]


def test_what_a_completed_reply_requires_is_non_null() -> None:
    """The status rule: usage, output... required for a completed reply, and not null there."""
    completed = _node(schemas.load("response", "gateway"), "/allOf/0/then")
    reply = json.loads((REAL / "modelstudio-en-create-reply.json").read_text(encoding="utf-8"))
    for name in completed["required"]:
        if name in ("id", "status"):
            continue
        broken = {**reply, name: None}
        assert [f.path for f in schemas.validate(broken, "response", "gateway")] == [f"/{name}"], name


def _examples_with_pointers(required: bool) -> st.SearchStrategy[tuple[str, object, str]]:
    cases = []
    for example in REPLIES + ERRORS:
        value = example.value
        needed = required_pointers(example.kind, value)
        for pointer in member_pointers(value):
            if (pointer in needed) == required:
                cases.append((example.kind, value, pointer))
    return st.sampled_from(cases)


def _edit(value: object, pointer: str, *, delete: bool) -> object:
    value = copy.deepcopy(value)
    *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    node = value
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if delete:
        del node[last]
    else:
        node[last] = None
    return value


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(case=_examples_with_pointers(required=False), delete=st.booleans())
def test_nulling_or_deleting_an_optional_field_of_a_real_example_still_validates(case, delete) -> None:
    kind, value, pointer = case
    assert schemas.validate(_edit(value, pointer, delete=delete), kind, "gateway") == [], pointer


@_SETTINGS
@given(case=_examples_with_pointers(required=True))
def test_deleting_a_required_field_fails_naming_its_pointer(case) -> None:
    kind, value, pointer = case
    found = schemas.validate(_edit(value, pointer, delete=True), kind, "gateway")
    assert [(f.path, f.keyword, f.level) for f in found] == [(pointer, "required", "violation")]


def test_the_profiles_noroute_body_is_new_apis_byte_for_byte() -> None:
    """endpoints.json (``no_route``) renders exactly what new-api's RelayNotFound writes (gin's compact JSON)."""
    from schemas.behaviour import behaviour

    raw = (REAL / "newapi-noroute-error.json").read_text(encoding="utf-8").strip()
    path = "/v1/responses/resp_4ab5fe23-6b2f-9d70-aec7-f6e24bd8143e"
    status, body = behaviour("gateway").unrouted_body("GET", path)
    assert status == 404 and json.dumps(body, ensure_ascii=False, separators=(",", ":")) == raw
    assert behaviour("gateway").unrouted_body("POST", "/v1/responses") is None
    assert behaviour("gateway").unrouted_body("DELETE", path)[1]["error"]["message"] == f"Invalid URL (DELETE {path})"
