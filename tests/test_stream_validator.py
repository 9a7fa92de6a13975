"""The stream validator: parsing, each sequence rule, and the mock's streams under hypothesis."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import create_app
from mockserver.reply.events import split_text
from schemas.stream import parse_sse, validate_sse

from .conftest import FIXTURES, ROOT

STREAMS = FIXTURES / "streams"

BROKEN = {
    "broken_sequence_gap": ("sequence_number", 6),
    "broken_output_index": ("output_index", None),
    "broken_delta_mismatch": ("text_reassembly", None),
    "broken_missing_terminal": ("terminal_missing", -1),
    "broken_terminal_not_last": ("terminal_not_last", None),
    "broken_delta_before_item": ("item_order", None),
}


@pytest.mark.parametrize("name", ["mock_gateway", "dashscope_reasoning_text_with_pings"])
def test_valid_streams_pass(name):
    assert validate_sse((STREAMS / f"{name}.sse").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_stream_fails_for_its_rule(name):
    rule, index = BROKEN[name]
    violations = validate_sse((STREAMS / f"{name}.sse").read_text(encoding="utf-8"))
    assert violations and violations[0].rule == rule, [str(v) for v in violations]
    if index is not None:
        assert violations[0].index == index


def test_a_malformed_terminal_event_is_one_schema_report_not_also_a_missing_terminal():
    raw = (STREAMS / "mock_gateway.sse").read_text(encoding="utf-8")
    broken = raw.replace(
        '"type":"response.completed","sequence_number":82,"response":{"id"',
        '"type":"response.completed","sequence_number":82,"response":{"id":7,"_id"',
        1,
    )
    assert broken != raw
    violations = validate_sse(broken)
    assert [v.rule for v in violations] == ["schema"], [str(v) for v in violations]


def test_a_failure_may_leave_an_item_unfinished_but_a_completion_may_not():
    from mockserver.delivery.sse import encode_event

    events = list(parse_sse((STREAMS / "mock_gateway.sse").read_text(encoding="utf-8")).events)
    first_delta = next(i for i, e in enumerate(events) if e.json["type"].endswith(".delta"))
    cut = [e.json for e in events[: first_delta + 1]]  # an item added, one delta, then the end
    final = {**events[-1].json["response"], "output": []}
    ends = {
        "response.failed": {**final, "status": "failed", "error": {"code": "server_error", "message": "boom"}},
        "response.completed": final,
    }
    rules = {}
    for kind, response in ends.items():
        stream = b"".join(
            encode_event(e) for e in [*cut, {"type": kind, "sequence_number": len(cut), "response": response}]
        )
        rules[kind] = [v.rule for v in validate_sse(stream)]
    assert rules == {"response.failed": [], "response.completed": ["item_order"]}


def test_parse_skips_comments_joins_data_and_notes_done_and_unterminated():
    parsed = parse_sse(': PING\r\nevent: x\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: [DONE]\n\ndata: {"b": 2}')
    assert [e.json for e in parsed.events] == [{"a": 1}]
    assert parsed.done_marker and parsed.unterminated == '{"b": 2}'


def test_unterminated_last_event_is_a_violation():
    raw = (STREAMS / "mock_gateway.sse").read_text(encoding="utf-8").rstrip("\n")
    assert any(v.rule == "unterminated" for v in validate_sse(raw))


def test_cli_validates_a_recorded_stream():
    ok = subprocess.run(
        [sys.executable, "-m", "schemas", "validate", "event", "fixtures/streams/mock_gateway.sse"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    bad = subprocess.run(
        [sys.executable, "-m", "schemas", "validate", "event", "fixtures/streams/broken_sequence_gap.sse"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and bad.returncode == 1
    assert (
        "event #6 (response.reasoning_summary_text.delta) /sequence_number: sequence_number: expected 6, got 7"
        in bad.stdout
    )


@given(st.text(min_size=1, max_size=200), st.integers(0, 2**32))
def test_split_text_never_splits_a_character_and_reassembles(text, seed):
    import random

    chunks = split_text(text, random.Random(seed))
    assert "".join(chunks) == text and all(chunks)


APP = {profile: create_app(profile=profile, seed=5, log_requests=False) for profile in ("gateway", "openai")}
WORDS = st.sampled_from(["你好", "天气", "tea", "Rust", "为什么", "how", "数据库", "🙂", "explain", "？"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    profile=st.sampled_from(["gateway", "openai"]),
    words=st.lists(WORDS, min_size=1, max_size=12),
    model=st.sampled_from(["qwen3.6-plus", "qwen-plus"]),
    cap=st.none() | st.integers(16, 400),
    family=st.sampled_from(["summary", "text"]),
)
def test_mock_streams_always_pass_the_validator(profile, words, model, cap, family):
    if family == "text":
        profile = "gateway"  # DashScope's reasoning_text events are a gateway-only form
    app = (
        APP[profile]
        if family == "summary"
        else create_app(profile=profile, reasoning_stream=family, log_requests=False)
    )
    body = {"model": model, "input": " ".join(words), "stream": True}
    if cap is not None:
        body["max_output_tokens"] = cap
    raw = app.test_client().post("/v1/responses", json=body, headers={"Authorization": "sk-a"}).get_data(as_text=True)
    assert validate_sse(raw, profile) == []


# --- resumed mode (``starting_after``): the suffix of a stored stream ---------------------------------


def _stored_stream(profile: str = "openai") -> tuple[list[dict], dict]:
    client = create_app(profile=profile, seed=5, log_requests=False).test_client()
    raw = client.post(
        "/v1/responses",
        json={"model": "qwen3.6-plus", "input": "How do tides work?", "stream": True},
        headers={"Authorization": "sk-resume"},
    ).get_data(as_text=True)
    events = [e.json for e in parse_sse(raw).events]
    return events, events[-1]["response"]


@pytest.mark.parametrize("after", [-1, 0, 3, 7, 12])
def test_a_resumed_suffix_passes_in_resumed_mode(after):
    from schemas.stream import validate_stream

    events, stored = _stored_stream()
    assert validate_stream(events[after + 1 :], "openai", starting_after=after, stored=stored) == []


def test_a_suffix_checked_as_a_whole_stream_fails_but_passes_resumed():
    from schemas.stream import validate_stream

    events, stored = _stored_stream()
    assert {f.rule for f in validate_stream(events[4:], "openai")} >= {"sequence_number"}
    assert validate_stream(events[4:], "openai", starting_after=3, stored=stored) == []


def test_a_resumed_stream_must_continue_the_numbering():
    from schemas.stream import validate_stream

    events, stored = _stored_stream()
    found = validate_stream(events[4:], "openai", starting_after=2, stored=stored)
    assert found and found[0].rule == "sequence_number" and found[0].message == "expected 3, got 4"


def test_a_resumed_delta_that_does_not_end_the_stored_text_fails():
    from schemas.stream import validate_stream

    events, stored = _stored_stream()
    suffix = [dict(e) for e in events[10:]]
    delta = next(i for i, e in enumerate(suffix) if e["type"] == "response.output_text.delta")
    suffix[delta]["delta"] = "something else "
    found = validate_stream(suffix, "openai", starting_after=9, stored=stored)
    assert found and found[0].rule == "text_reassembly"


def test_a_resumed_stream_must_end_with_the_stored_reply():
    import copy

    from schemas.stream import validate_stream

    events, stored = _stored_stream()
    other = copy.deepcopy(stored)
    other["output"][-1]["content"][0]["text"] += " (changed)"
    found = validate_stream(events[6:], "openai", starting_after=5, stored=other)
    assert found and found[0].rule == "final_output"
    empty = validate_stream([], "openai", starting_after=len(events) - 1, stored=stored)
    assert empty == []  # resumed after the last event: nothing is left


def test_a_resumed_stream_is_checked_in_both_profiles_from_raw_sse():
    from schemas.recording import split_blocks

    for profile in ("gateway", "openai"):
        client = create_app(profile=profile, seed=5, log_requests=False, serve_stored_routes=True).test_client()
        raw = client.post(
            "/v1/responses",
            json={"model": "qwen3.6-plus", "input": "你好", "stream": True},
            headers={"Authorization": "sk-resume"},
        ).get_data()
        blocks = split_blocks(raw)
        stored = parse_sse(raw).events[-1].json["response"]
        assert validate_sse(b"".join(blocks[5:]), profile, starting_after=4, stored=stored) == []
