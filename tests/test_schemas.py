"""The schemas themselves: well-formed, true to the documented examples, precise in their errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

import schemas
from schemas.behaviour import behaviour, deviations, known_deviation
from schemas.loader import registry

from .conftest import FIXTURES, ROOT, load_fixture

ALL_SCHEMA_FILES = sorted(schemas.SCHEMA_ROOT.glob("*/*.schema.json")) + [schemas.SCHEMA_ROOT / "profiles.schema.json"]


@pytest.mark.parametrize("path", ALL_SCHEMA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_schema_is_valid_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("path", ALL_SCHEMA_FILES[:-1], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_reference_resolves_offline(path: Path) -> None:
    """Every ``$ref`` of every file is looked up in the registry built from disk (validating ``{}`` would stop
    at the first ``required`` and never reach most references)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    resolver = registry().resolver(base_uri=schema["$id"])
    refs = _refs(schema)
    for ref in refs:
        resolver.lookup(ref)  # raises for a missing file or a pointer to nothing
    if (
        path.parent.name == "gateway" and path.name == "response.schema.json"
    ):  # the walk does find references (a test that sees none proves nothing)
        assert "output_item.schema.json" in refs and "usage.schema.json" in refs


def test_documented_request_and_response_validate_in_gateway_profile(documented_request, documented_response) -> None:
    assert schemas.validate(documented_request, "request") == []
    assert schemas.validate(documented_response, "response") == []


def test_documented_response_fails_openai_profile_with_exactly_the_listed_deviations(documented_response) -> None:
    violations = schemas.validate(documented_response, "response", "openai")
    assert {v.path for v in violations} == {
        "/error",
        "/incomplete_details",
        "/instructions",
        "/usage/input_tokens_details/cache_write_tokens",
    }
    assert all(v.keyword == "required" for v in violations)
    assert all(known_deviation(v.path) is not None for v in violations)
    assert len(deviations()) == 4


@pytest.mark.parametrize("path", sorted((FIXTURES / "requests/valid").glob("*.json")), ids=lambda p: p.stem)
def test_valid_request_fixtures_pass(path: Path) -> None:
    assert schemas.validate(load_fixture(str(path.relative_to(FIXTURES))), "request") == []


@pytest.mark.parametrize("path", sorted((FIXTURES / "responses/valid").glob("*.json")), ids=lambda p: p.stem)
def test_valid_response_fixtures_pass(path: Path) -> None:
    assert schemas.validate(load_fixture(str(path.relative_to(FIXTURES))), "response") == []


@pytest.mark.parametrize(
    ("kind", "path"),
    [("request", p) for p in sorted((FIXTURES / "requests/invalid").glob("*.json"))]
    + [("response", p) for p in sorted((FIXTURES / "responses/invalid").glob("*.json"))],
    ids=lambda x: x.stem if isinstance(x, Path) else x,
)
def test_invalid_fixture_fails_for_the_intended_reason(kind: str, path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    violations = schemas.validate(case["instance"], kind)
    assert [(v.path, v.keyword) for v in violations] == [(case["expect"]["path"], case["expect"]["keyword"])], case[
        "description"
    ]


@pytest.mark.parametrize("path", sorted((FIXTURES / "errors").glob("*.json")), ids=lambda p: p.stem)
def test_error_fixtures_match_their_profile(path: Path) -> None:
    profile = path.stem.split("_")[0]
    assert schemas.validate(load_fixture(f"errors/{path.name}"), "error", profile) == []


def test_gateway_error_is_not_an_openai_error() -> None:
    violations = schemas.validate(load_fixture("errors/gateway_unknown_model.json"), "error", "openai")
    assert [v.path for v in violations] == ["/error/param"]


def test_violation_names_param_like_openai() -> None:
    [violation] = schemas.validate(
        {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]}, "request"
    )
    assert violation.param == "input[0].content[0].text"


def test_bundle_is_self_contained_and_equivalent(documented_request) -> None:
    bundled = schemas.bundle("request")
    assert "$ref" not in json.dumps(bundled)
    validator = Draft202012Validator(bundled)
    assert validator.is_valid(documented_request)
    for path in sorted((FIXTURES / "requests/invalid").glob("*.json")):
        assert not validator.is_valid(json.loads(path.read_text(encoding="utf-8"))["instance"]), path.stem


def test_profiles_are_loaded_and_differ() -> None:
    gateway, openai = behaviour("gateway"), behaviour("openai")
    assert gateway.failure("unknown_model").status == 503
    assert openai.failure("unknown_model").status == 400
    status, body = gateway.error_body("invalid_key", request_id="r1")
    assert status == 401 and "param" not in body["error"] and body["error"]["message"].endswith("(request id: r1)")
    assert schemas.validate(body, "error", "gateway") == []
    status, body = openai.error_body("invalid_request", request_id="r1", param="temperature", detail="too high")
    assert body["error"]["param"] == "temperature" and schemas.validate(body, "error", "openai") == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(from_schema(schemas.bundle("request")))
def test_generated_requests_validate_against_the_request_schema(request_body) -> None:
    assert schemas.validate(request_body, "request") == []


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "schemas", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_accepts_the_documented_examples() -> None:
    assert run_cli("validate", "request", "fixtures/documented_request.json").returncode == 0
    assert run_cli("validate", "response", "fixtures/documented_response.json").returncode == 0


def test_cli_names_the_four_openai_deviations() -> None:
    result = run_cli("validate", "--profile", "openai", "response", "fixtures/documented_response.json")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    for pointer in (
        "/error:",
        "/incomplete_details:",
        "/instructions:",
        "/usage/input_tokens_details/cache_write_tokens:",
    ):
        assert any(f"fixtures/documented_response.json: {pointer}" in line for line in lines), pointer


def test_cli_reports_the_pointer_of_a_break(tmp_path: Path, documented_response) -> None:
    del documented_response["usage"]["total_tokens"]
    documented_response["output"][1]["content"][0]["text"] = 3
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(documented_response), encoding="utf-8")
    result = run_cli("validate", "response", str(broken))
    assert result.returncode == 1
    assert f"{broken}: /usage/total_tokens: required property is missing" in result.stdout
    assert f"{broken}: /output/1/content/0/text: 3 is not of type 'string'" in result.stdout


def test_cli_rejects_unreadable_files_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert run_cli("validate", "request", str(bad)).returncode == 2
