"""The whole lifecycle through the official openai SDK, sync and async (openai 2.x here, 3.x in ``.venv-openai3``).

The mock runs on a real socket in this process, so the test sets the
background clock (``records.now``) between calls: a response is seen
queued, then completed, or held in progress and cancelled, without a
single sleep.
"""

from __future__ import annotations

import asyncio
import math

import openai
import pytest

from mockserver import create_app

from .conftest import API_KEY
from .servers import LiveServer

pytestmark = pytest.mark.sdk

MODEL = "qwen3.6-plus"


@pytest.fixture(scope="module")
def openai_server():
    app = create_app(profile="openai", seed=5, api_keys=[API_KEY], log_requests=False, background_pace=(1.0, 2.0))
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def held_server():
    """Background responses stay in progress until cancelled."""
    app = create_app(profile="openai", seed=5, api_keys=[API_KEY], log_requests=False, background_pace=(0, math.inf))
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def gateway_server():
    with LiveServer(create_app(seed=5, api_keys=[API_KEY], log_requests=False)) as server:
        yield server


def sync_client(server) -> openai.OpenAI:
    return openai.OpenAI(api_key=API_KEY, base_url=f"{server.url}/v1", max_retries=0)


def async_client(server) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=f"{server.url}/v1", max_retries=0)


# --- sync -----------------------------------------------------------------------------------------


def test_background_response_is_queued_then_completed_when_polled(openai_server, clock):
    sdk = sync_client(openai_server)
    created = sdk.responses.create(model=MODEL, input="How do tides work?", background=True)
    assert created.status in ("queued", "in_progress") and created.background is True
    clock.now += 5
    polled = sdk.responses.retrieve(created.id)
    assert polled.status == "completed" and "how tides work" in polled.output_text.lower()


def test_cancel_makes_it_cancelled_and_retrieve_agrees(held_server):
    sdk = sync_client(held_server)
    created = sdk.responses.create(model=MODEL, input="Write a haiku about the sea", background=True)
    assert sdk.responses.retrieve(created.id).status == "in_progress"
    assert sdk.responses.cancel(created.id).status == "cancelled"
    assert sdk.responses.retrieve(created.id).status == "cancelled"
    plain = sdk.responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.BadRequestError):
        sdk.responses.cancel(plain.id)


def test_retrieve_with_stream_resumes_after_the_given_sequence_number(openai_server):
    sdk = sync_client(openai_server)
    streamed = list(sdk.responses.create(model=MODEL, input="Why is the sky blue?", stream=True))
    response_id = streamed[0].response.id
    resumed = list(sdk.responses.retrieve(response_id, stream=True, starting_after=3))
    assert resumed[0].sequence_number == 4 and resumed[-1].type == "response.completed"
    assert [e.sequence_number for e in resumed] == [e.sequence_number for e in streamed[4:]]
    assert resumed[-1].response.output_text == streamed[-1].response.output_text


def test_input_tokens_count_is_what_usage_charges(openai_server):
    sdk = sync_client(openai_server)
    counted = sdk.responses.input_tokens.count(model=MODEL, input="How many moons does Mars have?")
    assert isinstance(counted.input_tokens, int) and counted.input_tokens > 0
    created = sdk.responses.create(model=MODEL, input="How many moons does Mars have?")
    assert counted.input_tokens == created.usage.input_tokens


def test_a_conversation_used_by_two_responses_lists_its_items_and_can_be_deleted(openai_server):
    sdk = sync_client(openai_server)
    conversation = sdk.conversations.create()
    sdk.responses.create(model=MODEL, input="My name is Ada.", conversation=conversation.id)
    second = sdk.responses.create(model=MODEL, input="What is my name?", conversation=conversation.id)
    assert "Ada" in second.output_text
    items = sdk.conversations.items.list(conversation.id)
    assert len(items.data) >= 4
    assert sdk.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.retrieve(conversation.id)


@pytest.mark.parametrize("profile", ["openai", "gateway"])
def test_compact_works_in_both_profiles(profile, openai_server, gateway_server):
    sdk = sync_client(openai_server if profile == "openai" else gateway_server)
    compacted = sdk.responses.compact(
        model=MODEL,
        input=[{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello, Ada!"}],
    )
    assert compacted.object == "response.compaction"
    assert [item.type for item in compacted.output] == ["message", "compaction"]
    assert compacted.usage.total_tokens == compacted.usage.input_tokens + compacted.usage.output_tokens


def test_web_search_yields_a_call_and_x_tools_in_the_gateway_profile(gateway_server):
    sdk = sync_client(gateway_server)
    response = sdk.responses.create(model=MODEL, input="What is new in tide research?", tools=[{"type": "web_search"}])
    call = next(item for item in response.output if item.type == "web_search_call")
    assert call.status == "completed" and call.action.type == "search" and call.action.sources
    assert (response.usage.model_extra or {})["x_tools"] == {"web_search": {"count": 1}}
    assert "3 sources" in response.output_text and call.action.query == "what is new in tide research"


def test_the_gateway_answers_background_synchronously_and_routes_no_lifecycle(gateway_server):
    sdk = sync_client(gateway_server)
    response = sdk.responses.create(model=MODEL, input="hi", background=True)
    assert response.status == "completed" and response.background is False and response.output_text
    with pytest.raises(openai.NotFoundError):
        sdk.responses.cancel(response.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.input_tokens.count(model=MODEL, input="hi")
    with pytest.raises(openai.NotFoundError):
        sdk.conversations.create()


# --- async ----------------------------------------------------------------------------------------


def test_the_lifecycle_with_the_async_client(openai_server, held_server, clock):
    async def run() -> None:
        sdk, held = async_client(openai_server), async_client(held_server)
        created = await sdk.responses.create(model=MODEL, input="How do tides work?", background=True)
        assert created.status in ("queued", "in_progress")
        clock.now += 5
        assert (await sdk.responses.retrieve(created.id)).status == "completed"
        running = await held.responses.create(model=MODEL, input="Tell me a story", background=True)
        assert (await held.responses.cancel(running.id)).status == "cancelled"
        assert (await held.responses.retrieve(running.id)).status == "cancelled"
        streamed = [e async for e in await sdk.responses.create(model=MODEL, input="hi there", stream=True)]
        resumed = [
            e async for e in await sdk.responses.retrieve(streamed[0].response.id, stream=True, starting_after=3)
        ]
        assert resumed[0].sequence_number == 4 and resumed[-1].type == "response.completed"
        counted = await sdk.responses.input_tokens.count(model=MODEL, input="Count me")
        assert counted.input_tokens == (await sdk.responses.create(model=MODEL, input="Count me")).usage.input_tokens
        conversation = await sdk.conversations.create()
        for text in ("My name is Ada.", "What is my name?"):
            await sdk.responses.create(model=MODEL, input=text, conversation=conversation.id)
        items = await sdk.conversations.items.list(conversation.id)
        assert len(items.data) >= 4
        assert (await sdk.conversations.delete(conversation.id)).deleted is True
        compacted = await sdk.responses.compact(model=MODEL, input="Remember that I like tea.")
        assert compacted.output[-1].type == "compaction"
        await sdk.close()
        await held.close()

    asyncio.run(run())
