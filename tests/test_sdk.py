"""The official openai SDK against the mock on a real socket.

Runs under openai 2.x (httpx) in ``.venv`` and again under openai 3.x
(httpx2) in ``.venv-openai3`` (``make test`` runs ``-m sdk`` there).
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from mockserver import create_app

from .conftest import API_KEY, load_fixture, stream_text
from .servers import LiveServer

pytestmark = pytest.mark.sdk

DOCUMENTED = load_fixture("documented_request.json")


@pytest.fixture(scope="module")
def live_server():
    """The mock with the stored-response routes served: these tests retrieve and delete through the SDK."""
    with LiveServer(create_app(seed=7, api_keys=[API_KEY], log_requests=False, serve_stored_routes=True)) as server:
        yield server


@pytest.fixture
def sdk(live_server):
    return openai.OpenAI(api_key=API_KEY, base_url=f"{live_server.url}/v1", max_retries=0)


def test_create_reads_output_text(sdk):
    response = sdk.responses.create(
        model="qwen3.6-plus", input=DOCUMENTED["input"], temperature=0.7, extra_body={"max_tokens": 1024}
    )
    assert response.id.startswith("resp_") and response.status == "completed"
    assert response.output_text and response.output[0].type == "reasoning"
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens


def test_retrieve_input_items_delete(sdk):
    created = sdk.responses.create(model="qwen-plus", input="Tell me a fact about tea.")
    assert sdk.responses.retrieve(created.id).output_text == created.output_text
    items = sdk.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"]
    assert sdk.responses.delete(created.id) is None
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)


def test_errors_map_to_sdk_exceptions(sdk, live_server):
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.responses.create(model="qwen-plus", input="x", temperature=5)
    assert bad.value.status_code == 400 and bad.value.type == "new_api_error"
    wrong = openai.OpenAI(api_key="sk-wrong", base_url=f"{live_server.url}/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.responses.create(model="qwen-plus", input="x")
    with pytest.raises(openai.InternalServerError) as unknown:
        sdk.responses.create(model="no-such-model", input="x")
    assert unknown.value.status_code == 503 and unknown.value.code == "model_not_found"


def test_stream_helper_final_response_matches_deltas(sdk):
    deltas, final = stream_text(sdk, model="qwen3.6-plus", input="How do tides work?")
    assert final.output_text == "".join(deltas) and len(deltas) > 1
    assert sdk.responses.retrieve(final.id).output_text == final.output_text


def test_create_with_stream_true_yields_events_in_order(sdk):
    events = list(sdk.responses.create(model="qwen3.6-plus", input="你好", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_async_client_plain_and_streamed(live_server):
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(api_key=API_KEY, base_url=f"{live_server.url}/v1", max_retries=0)
        plain = await client.responses.create(model="qwen-plus", input="What is tea?")
        async with client.responses.stream(model="qwen-plus", input="What is tea?") as stream:
            final = await stream.get_final_response()
        await client.close()
        return plain.output_text, final.output_text

    plain, streamed = asyncio.run(run())
    assert plain == streamed  # same request, same seed: same text, streamed or not
