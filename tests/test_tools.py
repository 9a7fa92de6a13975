"""Function calling: which tools are called, arguments that fit, the follow-up turn, streaming."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

import schemas
from mockserver import create_app
from schemas.stream import parse_sse, validate_sse

from .conftest import API_KEY, WEATHER
from .schema_strategies import json_schemas

TIME = {
    "type": "function",
    "name": "get_time",
    "description": "Current time and weather station clock for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
STOCK = {
    "type": "function",
    "name": "get_stock_price",
    "description": "Price of a stock ticker",
    "parameters": {
        "type": "object",
        "properties": {"ticker": {"type": "string", "pattern": "^[A-Z]{1,5}$"}},
        "required": ["ticker"],
    },
}


def create(client, **body):
    body.setdefault("model", "qwen3.6-plus")
    return client.post("/v1/responses", json=body)


def calls_in(response_body):
    return [item for item in response_body["output"] if item["type"] == "function_call"]


def test_auto_calls_the_tool_the_question_is_about(client):
    reply = create(client, input="What's the weather in Paris today?", tools=[WEATHER, STOCK])
    assert reply.status_code == 200
    body = reply.json
    (call,) = calls_in(body)
    assert call["name"] == "get_weather" and call["call_id"].startswith("call_") and call["id"].startswith("fc_")
    arguments = json.loads(call["arguments"])
    assert arguments["location"] == "Paris" and arguments["unit"] in ("celsius", "fahrenheit")
    assert [item["type"] for item in body["output"]] == ["reasoning", "function_call"]
    assert not schemas.validate(body, "response", "gateway")


def test_auto_without_a_relevant_tool_answers_in_text(client):
    body = create(client, input="Tell me a joke about cats", tools=[WEATHER, STOCK]).json
    assert not calls_in(body) and body["output"][-1]["type"] == "message"


def test_none_never_calls_and_required_always_does(client):
    assert not calls_in(create(client, input="What's the weather in Paris?", tools=[WEATHER], tool_choice="none").json)
    forced = calls_in(create(client, input="Tell me a joke", tools=[WEATHER, STOCK], tool_choice="required").json)
    assert [c["name"] for c in forced] == ["get_weather"]


def test_named_tool_choice_calls_exactly_that_function(client):
    body = create(
        client,
        input="What's the weather in Paris?",
        tools=[WEATHER, STOCK],
        tool_choice={"type": "function", "name": "get_stock_price"},
    ).json
    (call,) = calls_in(body)
    assert call["name"] == "get_stock_price"
    assert Draft202012Validator(STOCK["parameters"]).is_valid(json.loads(call["arguments"]))


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_unknown_named_tool_is_a_400_in_the_profiles_envelope(profile):
    client = create_app(profile=profile, api_keys=[API_KEY]).test_client()
    reply = client.post(
        "/v1/responses",
        json={
            "model": "qwen-plus",
            "input": "x",
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "name": "nope"},
        },
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert reply.status_code == 400
    assert not schemas.validate(reply.json, "error", profile)
    assert "'nope'" in reply.json["error"]["message"]
    if profile == "openai":
        assert reply.json["error"]["param"] == "tool_choice"


def test_parallel_calls_unless_parallel_tool_calls_is_false(client):
    question = "What's the weather and the time in Paris?"
    both = calls_in(create(client, input=question, tools=[WEATHER, TIME]).json)
    assert [c["name"] for c in both] == ["get_weather", "get_time"]
    assert len({c["call_id"] for c in both}) == 2
    one = create(client, input=question, tools=[WEATHER, TIME], parallel_tool_calls=False).json
    assert [c["name"] for c in calls_in(one)] == ["get_weather"] and one["parallel_tool_calls"] is False


def test_arguments_are_deterministic_under_the_seed(app):
    def arguments(seed):
        client = create_app(seed=seed, api_keys=[API_KEY]).test_client()
        body = client.post(
            "/v1/responses",
            json={"model": "qwen-plus", "input": "weather?", "tools": [WEATHER, STOCK], "tool_choice": "required"},
            headers={"Authorization": API_KEY},
        ).json
        return [c["arguments"] for c in calls_in(body)]

    assert arguments(1) == arguments(1)
    assert len({tuple(arguments(seed)) for seed in range(6)}) > 1


def test_function_call_output_gets_a_message_that_uses_the_result(client):
    first = create(client, input="What's the weather in Paris?", tools=[WEATHER]).json
    (call,) = calls_in(first)
    result = '{"temperature": 21, "sky": "clear"}'
    # via previous_response_id
    follow = create(
        client,
        previous_response_id=first["id"],
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call["call_id"], "output": result}],
    ).json
    assert not calls_in(follow)
    assert result in follow["output"][-1]["content"][0]["text"]
    assert follow["usage"]["input_tokens"] > first["usage"]["input_tokens"]  # the whole conversation is counted
    # directly, the whole conversation in the input
    direct = create(
        client,
        tools=[WEATHER],
        store=False,
        input=[
            {"role": "user", "content": "What's the weather in Paris?"},
            {"type": "function_call", "call_id": call["call_id"], "name": call["name"], "arguments": call["arguments"]},
            {"type": "function_call_output", "call_id": call["call_id"], "output": result},
        ],
    ).json
    assert result in direct["output"][-1]["content"][0]["text"]


def test_chinese_tool_result_gets_a_chinese_reply(client):
    body = create(
        client,
        model="qwen-plus",
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "杭州：晴，21度"}],
    ).json
    assert body["output"][-1]["content"][0]["text"].startswith("根据工具返回的结果")


def test_streamed_call_has_argument_deltas_and_a_valid_sequence():
    client = create_app(seed=7, api_keys=[API_KEY], serve_stored_routes=True).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    reply = create(client, input="What's the weather in Paris?", tools=[WEATHER], stream=True)
    raw = reply.get_data(as_text=True)
    assert validate_sse(raw, "gateway") == []
    events = [e.json for e in parse_sse(raw).events]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    (done,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    final = events[-1]["response"]
    (call,) = calls_in(final)
    assert deltas == done["arguments"] == call["arguments"] and done["name"] == "get_weather"
    added = next(
        e for e in events if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"
    )
    assert added["item"]["arguments"] == "" and added["output_index"] == 1
    assert client.get(f"/v1/responses/{final['id']}").json == final


def test_token_cap_drops_calls_that_do_not_fit(client):
    body = create(
        client, model="qwen-plus", input="weather and time in Paris?", tools=[WEATHER, TIME], max_output_tokens=16
    ).json
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] <= 16


def test_invalid_parameters_schema_is_a_400_naming_the_tool(client):
    broken = {
        **WEATHER,
        "name": "broken",
        "strict": False,
        "parameters": {"type": "object", "properties": {"x": {"type": "strin"}}},
    }
    reply = create(client, input="x", tools=[broken])
    assert reply.status_code == 400 and reply.json["error"]["code"] == "invalid_function_parameters"
    assert "'broken'" in reply.json["error"]["message"]
    loose = {
        **WEATHER,
        "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
    }  # strict, but x is not required
    assert (
        create(client, input="x", tools=[loose]).status_code == 200
    )  # the gateway profile does not enforce strict mode
    openai_client = create_app(profile="openai", api_keys=[API_KEY]).test_client()
    reply = openai_client.post(
        "/v1/responses",
        json={"model": "qwen-plus", "input": "x", "tools": [loose]},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert reply.status_code == 400 and "Missing 'x'" in reply.json["error"]["message"]
    assert reply.json["error"]["param"] == "tools[0].parameters"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(parameters=json_schemas(root_object=True))
def test_generated_arguments_always_fit_generated_parameter_schemas(client, parameters):
    tool = {"type": "function", "name": "do_it", "parameters": parameters}
    reply = create(client, model="qwen-plus", input="please do it", tools=[tool], tool_choice="required", store=False)
    assert reply.status_code == 200, reply.json
    (call,) = calls_in(reply.json)
    arguments = json.loads(call["arguments"])
    errors = list(Draft202012Validator(parameters).iter_errors(arguments))
    assert not errors, [e.message for e in errors]
