"""The upstream's built-in tools in the mock: ``web_search`` and ``code_interpreter``, both profiles, streamed too."""

from __future__ import annotations

import pytest

import schemas
from mockserver import create_app
from mockserver.reply.builtin import evaluate, program_for
from schemas.stream import parse_sse, validate_sse

AUTH = {"Authorization": "sk-tools"}
SEARCH = [{"type": "web_search"}]
CODE = [{"type": "code_interpreter", "container": {"type": "auto"}}]


def create(profile: str, text: str, tools: list, **body) -> dict:
    client = create_app(profile=profile, seed=3, log_requests=False).test_client()
    reply = client.post(
        "/v1/responses", json={"model": "qwen3.6-plus", "input": text, "tools": tools, **body}, headers=AUTH
    )
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def items(body: dict, kind: str) -> list[dict]:
    return [item for item in body["output"] if item["type"] == kind]


def test_web_search_in_the_gateway_profile_lists_sources_and_counts_in_x_tools():
    body = create("gateway", "How do tides work?", SEARCH)
    assert [item["type"] for item in body["output"]] == ["reasoning", "web_search_call", "message"]
    (call,) = items(body, "web_search_call")
    assert call["status"] == "completed" and call["id"].startswith("ws_")
    assert call["action"]["type"] == "search" and call["action"]["query"] == "tides work"
    assert len(call["action"]["sources"]) == 3
    assert all(
        source["url"].startswith("https://") and ".example/" in source["url"] for source in call["action"]["sources"]
    )
    assert body["usage"]["x_tools"] == {"web_search": {"count": 1}}
    assert schemas.validate(body, "response", "gateway") == []
    assert "3 sources" in body["output"][-1]["content"][0]["text"]


def test_web_search_in_the_openai_profile_as_openai_documents_it():
    body = create("openai", "How do tides work?", SEARCH)
    (call,) = items(body, "web_search_call")
    assert "sources" not in call["action"] and "x_tools" not in body["usage"]
    annotations = body["output"][-1]["content"][0]["annotations"]
    text = body["output"][-1]["content"][0]["text"]
    assert annotations and annotations[0]["type"] == "url_citation"
    assert text[annotations[0]["start_index"] : annotations[0]["end_index"]] == annotations[0]["title"]
    assert schemas.validate(body, "response", "openai") == []
    with_sources = create("openai", "How do tides work?", SEARCH, include=["web_search_call.action.sources"])
    assert len(items(with_sources, "web_search_call")[0]["action"]["sources"]) == 3


def test_sources_are_fixed_by_the_seed():
    first, second = (items(create("gateway", "How do tides work?", SEARCH), "web_search_call")[0] for _ in range(2))
    assert first["action"] == second["action"] and first["id"] != second["id"]


@pytest.mark.parametrize(
    ("question", "code", "printed"),
    [
        ("What is 37*41?", "result = 37*41\nprint(result)", "1517"),
        ("Please calculate (2 + 3) ^ 2", "result = (2 + 3) ** 2\nprint(result)", "25"),
        (
            "Compute the average of 3, 5 and 10",
            "numbers = [3, 5, 10]\nprint(sum(numbers), sum(numbers) / len(numbers))",
            "18 6",
        ),
    ],
)
def test_code_interpreter_writes_code_for_the_question(question, code, printed):
    written, result = program_for(question)
    assert (written, result) == (code, printed)
    body = create("gateway", question, CODE)
    (call,) = items(body, "code_interpreter_call")
    assert call["code"] == written and call["outputs"] == [{"type": "logs", "logs": result + "\n"}]
    assert body["usage"]["x_tools"] == {"code_interpreter": {"count": 1}}
    assert result in body["output"][-1]["content"][0]["text"]


def test_code_interpreter_outputs_only_with_include_in_the_openai_profile():
    (plain,) = items(create("openai", "What is 6*7?", CODE), "code_interpreter_call")
    assert plain["outputs"] is None and plain["container_id"].startswith("cntr_")
    asked = create("openai", "What is 6*7?", CODE, include=["code_interpreter_call.outputs"])
    assert items(asked, "code_interpreter_call")[0]["outputs"] == [{"type": "logs", "logs": "42\n"}]
    assert schemas.validate(asked, "response", "openai") == []


def test_no_tool_call_for_a_greeting_none_or_a_question_without_numbers():
    assert not items(create("gateway", "hello", SEARCH), "web_search_call")
    assert not items(create("gateway", "How do tides work?", SEARCH, tool_choice="none"), "web_search_call")
    assert not items(create("gateway", "Tell me about tea.", CODE), "code_interpreter_call")


def test_arithmetic_is_read_never_run():
    assert evaluate("2 + 3 * 4") == 14
    assert evaluate("__import__('os').system('true')") is None
    assert evaluate("9 ** 9999") is None and evaluate("1/0") is None


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_built_in_tool_calls_stream_with_their_events(profile):
    client = create_app(profile=profile, seed=3, log_requests=False).test_client()
    raw = client.post(
        "/v1/responses",
        json={
            "model": "qwen3.6-plus",
            "input": "Search for tides and compute 12*12",
            "tools": SEARCH + CODE,
            "stream": True,
        },
        headers=AUTH,
    ).get_data(as_text=True)
    assert validate_sse(raw, profile) == []
    kinds = [e.json["type"] for e in parse_sse(raw).events]
    for kind in (
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
        "response.web_search_call.completed",
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ):
        assert kind in kinds
    final = parse_sse(raw).events[-1].json["response"]
    assert [item["type"] for item in final["output"]][-3:] == ["web_search_call", "code_interpreter_call", "message"]
