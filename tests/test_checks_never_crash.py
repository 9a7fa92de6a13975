"""The checks judge any reply and never crash: arbitrary JSON and mangled real replies go to every check.

Each check must return findings (a list) whatever it is given; a crash would
turn a verdict into a traceback (the suite once died on ``"text": null``).
"""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests import checks
from contract_tests.target import Reply, Sent
from schemas.behaviour import behaviour
from schemas.findings import Finding
from schemas.stream import parse_sse, validate_sse, validate_stream

from .conftest import FIXTURES
from .real_corpus import REPLIES, member_pointers

DOCUMENTED_REQUEST = json.loads((FIXTURES / "documented_request.json").read_text(encoding="utf-8"))
TOOL_REQUEST = {
    **DOCUMENTED_REQUEST,
    "tools": [{"type": "function", "name": "get_weather", "strict": True, "parameters": {"type": "object"}}],
    "text": {"format": {"type": "json_schema", "name": "r", "strict": True, "schema": {"type": "object"}}},
}
REAL_REPLIES = [r.value for r in REPLIES]
MOCK_STREAM = (FIXTURES / "streams" / "mock_gateway.sse").read_text(encoding="utf-8")
MOCK_EVENTS = [e.json for e in parse_sse(MOCK_STREAM).events]
KEYS = sorted({k for reply in REAL_REPLIES for p in member_pointers(reply) for k in [p.rsplit("/", 1)[-1]]})

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
odd_values = st.none() | st.just([]) | st.just({}) | st.just("x" * 20_000) | st.integers() | st.booleans() | json_values


@st.composite
def mangled(draw: st.DrawFn, documents: list) -> object:
    """A real document with a few members replaced by null, a wrong type or a huge string."""
    value = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 4))):
        pointers = list(member_pointers(value))
        if not pointers:
            break
        *parents, last = [unescape(t) for t in draw(st.sampled_from(pointers)).split("/")[1:]]
        node = value
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        node[last] = draw(odd_values)
    return value


def unescape(token: str) -> str:
    """A JSON pointer token as the key it names (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``)."""
    return token.replace("~1", "/").replace("~0", "~")


replies = json_values | mangled(REAL_REPLIES)
event_lists = st.lists(json_values, max_size=6) | st.lists(mangled(MOCK_EVENTS), min_size=1, max_size=1).map(
    lambda one: [*MOCK_EVENTS[:5], *one, *MOCK_EVENTS[5:]]
)


def reply_of(value: object, status: int = 200, text: str | None = None) -> Reply:
    sent = Sent("POST", "http://t.invalid/v1/responses", {}, b"{}")
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(value) if text is None else text, sent)


def all_findings(found: object) -> None:
    assert isinstance(found, list) and all(isinstance(f, Finding) for f in found), found


_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@_SETTINGS
@given(body=replies, status=st.sampled_from([200, 400, 404, 500]), profile=st.sampled_from(["gateway", "openai"]))
def test_every_reply_check_returns_findings_for_any_body(body, status, profile) -> None:
    reply = reply_of(body, status)
    rules = behaviour(profile)
    for request in (DOCUMENTED_REQUEST, TOOL_REQUEST)[: 1 + (status == 200)]:
        all_findings(checks.reply_status(reply))
        all_findings(checks.reply_schema(body, profile))
        all_findings([f for f, _ in checks.openai_deviations(body)])
        all_findings(checks.invariants(body, request, profile))
        all_findings(checks.identity(body, request, rules))
        all_findings(checks.timestamps(body))
        all_findings(checks.usage_arithmetic(body.get("usage") if isinstance(body, dict) else body))
        all_findings(checks.status_consistency(body))
        all_findings(checks.output_present(body, request))
        all_findings(checks.tool_arguments(body, 0, request))
        all_findings(checks.json_output(checks.output_text(body), request))
        all_findings(checks.token_limit(body, request, rules))
        assert isinstance(checks.output_text(body), str)
        all_findings(checks.error_reply(reply, profile, "invalid_key"))
        all_findings(checks.error_reply(reply, profile))
        all_findings(checks.same_json(body, REAL_REPLIES[0]))
        all_findings(checks.input_items(reply, profile, ["hello"]))
        all_findings(checks.documented_shape(body, REAL_REPLIES[0], same_keys=True))
        all_findings(checks.model_list(body, profile))
        all_findings(checks.deleted(body, profile, "resp_1"))
        all_findings(checks.unrouted(reply, profile, "GET", "/v1/responses/resp_1"))
        all_findings(checks.unknown_parameters_accepted(reply, profile, ["x"]))
        all_findings(checks.leaked_route(reply, "GET /responses/resp_1", "resp_1"))
        all_findings(checks.leaked_follow_up(reply, reply_of(REAL_REPLIES[0]), "resp_1"))
        all_findings(checks.refused_alike(reply, 404, body, "GET /responses/resp_1"))
        assert isinstance(checks.is_no_route(reply, profile, "GET", "/v1/responses/resp_1"), bool)


@settings(_SETTINGS, max_examples=25)
@given(events=event_lists, profile=st.sampled_from(["gateway", "openai"]))
def test_every_stream_rule_returns_findings_for_any_events(events, profile) -> None:
    all_findings(validate_stream(events, profile))
    text = "".join(f"event: {getattr(e, 'get', lambda _: None)('type')}\ndata: {json.dumps(e)}\n\n" for e in events)
    all_findings(validate_sse(text, profile))
    found, final = checks.stream(Reply(200, {"Content-Type": "text/event-stream"}, text), profile)
    all_findings(found)


@_SETTINGS
@given(text=st.text(max_size=300))
def test_the_stream_check_reads_any_text(text) -> None:
    all_findings(validate_sse(text))
    found, _ = checks.stream(Reply(200, {"Content-Type": "text/event-stream"}, text), "gateway")
    all_findings(found)


DEEP = "[" * 100_000 + "]" * 100_000  # valid JSON, nested past what the parser can read


def test_json_nested_past_the_parser_is_judged_not_a_crash() -> None:
    assert Reply(200, {}, DEEP).json is None
    all_findings(validate_sse(f"event: response.created\ndata: {DEEP}\n\n", "gateway"))
    found, _ = checks.stream(Reply(200, {"Content-Type": "text/event-stream"}, f"data: {DEEP}\n\n"), "openai")
    all_findings(found)
    call = {"type": "function_call", "name": "get_weather", "call_id": "c", "arguments": DEEP}
    body = {**REAL_REPLIES[0], "output": [call]}
    all_findings(checks.invariants(body, TOOL_REQUEST, "gateway"))
    all_findings(checks.tool_arguments(body, 0, TOOL_REQUEST))
