"""Contract names live in schemas/: event types, the recording format, routes and echo defaults."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import schemas
from schemas import endpoints, events
from schemas.recording import EXCHANGE_GLOB, block_type, exchange_problem, load_exchanges, split_blocks
from schemas.stream import TERMINAL

from .conftest import FIXTURES, ROOT

EVENT_SCHEMAS = {
    "gateway": (schemas.SCHEMA_ROOT / "gateway" / "event.schema.json").read_text(encoding="utf-8"),
    "openai": (schemas.SCHEMA_ROOT / "openai" / "components.schema.json").read_text(encoding="utf-8"),
}


@pytest.mark.parametrize("profile", list(EVENT_SCHEMAS))
@pytest.mark.parametrize("name", events.ALL)
def test_every_event_type_named_in_schemas_events_is_one_the_profile_knows(profile, name):
    assert re.search(rf'"const":\s*"{re.escape(name)}"', EVENT_SCHEMAS[profile]), name


def test_the_terminal_events_are_the_stream_validators():
    assert set(events.TERMINAL_BY_STATUS.values()) == {kind for kind, status in TERMINAL.items() if status}
    assert events.TERMINAL_BY_STATUS["failed"] == events.FAILED


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


#: A ``response.*`` event type, as a whole string constant (``response.output_text.delta``).
EVENT_TYPE_LITERAL = re.compile(r"response\.[a-z_]+(\.[a-z_]+)*")


def test_no_event_type_literal_outside_schemas():
    """Event types come from schemas.events: no ``response.*`` literal in mockserver/, contract_tests/ or bench/."""
    found = []
    for path in _python_files("mockserver", "contract_tests", "bench"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and EVENT_TYPE_LITERAL.fullmatch(node.value)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert found == []


def test_the_mock_never_imports_contract_tests_and_schemas_imports_neither():
    for folder, forbidden in (("mockserver", ("contract_tests",)), ("schemas", ("contract_tests", "mockserver"))):
        for path in _python_files(folder):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                assert not [n for n in names if n.split(".")[0] in forbidden], (path, names)


@pytest.mark.parametrize("folder", sorted(p.parent for p in FIXTURES.glob(f"recordings/*/{EXCHANGE_GLOB}")))
def test_every_committed_recording_fits_the_exchange_schema(folder):
    assert load_exchanges(folder)


def test_an_exchange_that_does_not_fit_is_named_by_pointer(tmp_path):
    exchange = json.loads(next(FIXTURES.glob(f"recordings/mock/{EXCHANGE_GLOB}")).read_text(encoding="utf-8"))
    exchange["response"]["status"] = "200"
    assert exchange_problem(exchange).startswith("/response/status:")
    (tmp_path / "001-bad.json").write_text(json.dumps(exchange), encoding="utf-8")
    with pytest.raises(ValueError, match=r"001-bad.json: not a recorded exchange .*/response/status"):
        load_exchanges(tmp_path)


def test_blocks_and_their_types():
    data = b'event: response.created\ndata: {"type": "response.created"}\n\n: PING\n\ndata: [DONE]\n\ndata: {"ty'
    blocks = split_blocks(data)
    assert b"".join(blocks) == data and len(blocks) == 4
    assert [block_type(b) for b in blocks] == [events.CREATED, ":comment", ":data", ":data"]


def test_routes_and_the_noroute_answer():
    assert set(endpoints.stored_routes()) <= set(endpoints.served_routes("openai"))
    assert not set(endpoints.stored_routes()) & set(endpoints.served_routes("gateway"))
    assert endpoints.no_route_answer("openai") is None
    body = endpoints.no_route_answer("gateway").body("GET", "/v1/x")
    assert (
        body == b'{"error":{"code":"","message":"Invalid URL (GET /v1/x)","param":"","type":"invalid_request_error"}}'
    )


def test_echo_defaults_are_what_a_bare_request_is_echoed_with():
    from mockserver import create_app

    reply = (
        create_app(profile="openai")
        .test_client()
        .post("/v1/responses", json={"model": "qwen-plus", "input": "hi"}, headers={"Authorization": "sk-a"})
    )
    body = reply.get_json()
    for name, default in endpoints.response_echo_defaults().items():
        assert body[name] == default, name
