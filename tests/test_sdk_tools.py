"""Tool calling and structured output through the official openai SDK (2.x and 3.x), sync and async."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Literal

import openai
import pytest
from pydantic import BaseModel

from .conftest import API_KEY, WEATHER

pytestmark = pytest.mark.sdk


def weather_tool(location: str, unit: str) -> str:
    return json.dumps({"location": location, "temperature": 21, "unit": unit})


@pytest.fixture
def sdk(live_server):
    return openai.OpenAI(api_key=API_KEY, base_url=f"{live_server.url}/v1", max_retries=0)


@pytest.fixture
def async_sdk(live_server):
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=f"{live_server.url}/v1", max_retries=0)


def test_tool_round_trip(sdk):
    first = sdk.responses.create(model="qwen3.6-plus", input="What's the weather in Paris?", tools=[WEATHER])
    calls = [item for item in first.output if item.type == "function_call"]
    assert [call.name for call in calls] == ["get_weather"]
    result = weather_tool(**json.loads(calls[0].arguments))
    second = sdk.responses.create(
        model="qwen3.6-plus",
        previous_response_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": result}],
    )
    assert second.status == "completed" and result in second.output_text


def test_streamed_tool_round_trip(sdk):
    arguments = []
    with sdk.responses.stream(model="qwen3.6-plus", input="Weather in Paris, please", tools=[WEATHER]) as stream:
        for event in stream:
            if event.type == "response.function_call_arguments.delta":
                arguments.append(event.delta)
        final = stream.get_final_response()
    (call,) = [item for item in final.output if item.type == "function_call"]
    assert "".join(arguments) == call.arguments and json.loads(call.arguments)["location"] == "Paris"
    with sdk.responses.stream(
        model="qwen3.6-plus",
        input=[
            {"role": "user", "content": "Weather in Paris, please"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": weather_tool(**json.loads(call.arguments)),
            },
        ],
        tools=[WEATHER],
    ) as stream:
        answer = stream.get_final_response()
    assert '"temperature": 21' in answer.output_text


def test_async_streamed_tool_round_trip(async_sdk):
    async def round_trip():
        stream = await async_sdk.responses.create(
            model="qwen3.6-plus", input="What's the weather in Paris?", tools=[WEATHER], stream=True
        )
        final = None
        async for event in stream:
            if event.type == "response.completed":
                final = event.response
        (call,) = [item for item in final.output if item.type == "function_call"]
        reply = await async_sdk.responses.create(
            model="qwen3.6-plus",
            previous_response_id=final.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 degrees"}],
        )
        return reply.output_text

    assert "sunny, 21 degrees" in asyncio.run(round_trip())


class Address(BaseModel):
    city: str
    postcode: str


class Person(BaseModel):
    name: str
    age: int
    email: str | None
    address: Address


class Team(BaseModel):
    name: str
    kind: Literal["engineering", "research"]
    founded: datetime
    members: list[Person]


def test_parse_returns_a_nested_pydantic_model(sdk):
    response = sdk.responses.parse(model="qwen-plus", input="Describe a small team", text_format=Team)
    team = response.output_parsed
    assert isinstance(team, Team) and all(isinstance(m.address, Address) for m in team.members)
    assert Team.model_validate_json(response.output_text) == team


def test_async_parse_returns_a_nested_pydantic_model(async_sdk):
    response = asyncio.run(async_sdk.responses.parse(model="qwen3.6-plus", input="描述一个小团队", text_format=Team))
    assert isinstance(response.output_parsed, Team)
