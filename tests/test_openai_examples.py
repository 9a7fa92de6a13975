"""The openai profile accepts what OpenAI itself sends and accepts.

Every request and reply example of the reference spec (``x-oaiMeta``) passes
the openai profile, though several replies omit ``logprobs`` or carry
``user: null``; a function tool without ``strict`` (what LangChain's
``ChatOpenAI(use_responses_api=True).bind_tools(...)`` sends) is accepted.
"""

from __future__ import annotations

import json

import pytest

import schemas
from schemas.stream import parse_sse

from .openai_examples import examples

EXAMPLES = examples()
WEATHER_TOOL_WITHOUT_STRICT = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def test_the_examples_are_all_read() -> None:
    kinds = sorted({e.schema for e in EXAMPLES})
    assert kinds == ["deleted", "input_items_list", "request", "response", "stream"] and len(EXAMPLES) >= 20


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.schema != "stream"], ids=lambda e: e.name)
def test_every_documented_request_and_reply_passes_the_openai_profile(example) -> None:
    assert schemas.validate(example.value, example.schema, "openai") == []


def test_the_documented_stream_passes_event_by_event_and_in_order() -> None:
    """Its text deltas are elided ('...' in the page), so the deltas cannot join into the text there."""
    [stream] = [e for e in EXAMPLES if e.schema == "stream"]
    events = [e.json for e in parse_sse(stream.value).events]
    assert len(events) >= 8
    for event in events:
        assert schemas.validate(event, "event", "openai") == [], event["type"]
    found = schemas.validate_stream(events, "openai")
    assert "\n...\n" in stream.value and {f.rule for f in found} <= {"text_reassembly"}


def test_a_function_tool_without_strict_is_accepted_by_the_openai_profile() -> None:
    request = {"model": "gpt-5.4", "input": "Weather in Paris?", "tools": [WEATHER_TOOL_WITHOUT_STRICT]}
    assert schemas.validate(request, "request", "openai") == []
    image = {"type": "input_image", "image_url": "https://example.com/cat.png"}  # detail defaults to auto
    request = {"model": "gpt-5.4", "input": [{"role": "user", "content": [image]}]}
    assert schemas.validate(request, "request", "openai") == []


@pytest.fixture
def mock_gateway_config() -> dict:
    """The ``mock_gateway`` fixture's mock, in the openai profile."""
    return {"profile": "openai"}


@pytest.mark.sdk
def test_the_sdk_sends_a_langchain_style_tool_to_the_openai_profile_mock(mock_gateway) -> None:
    import openai

    client = openai.OpenAI(max_retries=0)  # OPENAI_BASE_URL and OPENAI_API_KEY point at the mock
    reply = client.responses.create(
        model="qwen3.6-plus", input="What's the weather in Paris?", tools=[WEATHER_TOOL_WITHOUT_STRICT]
    )
    assert [item.name for item in reply.output if item.type == "function_call"] == ["get_weather"]
    sent = json.loads(mock_gateway.calls[-1].request.content)
    assert "strict" not in sent["tools"][0]
