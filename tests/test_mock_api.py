"""The mock's HTTP contract, in-process: replies, determinism, usage, store, auth, errors."""

from __future__ import annotations

import json

import pytest

import schemas
from mockserver import ConfigError, MockConfig, create_app
from schemas.behaviour import behaviour

from .conftest import API_KEY, FIXTURES, load_fixture

DOCUMENTED = load_fixture("documented_request.json")


def create(client, body, **kwargs):
    return client.post("/v1/responses", json=body, **kwargs)


def output_text(body):
    return "".join(p["text"] for item in body["output"] if item["type"] == "message" for p in item["content"])


def test_documented_request_with_bare_key_validates_against_gateway_profile(app):
    reply = app.test_client().post("/v1/responses", json=DOCUMENTED, headers={"Authorization": API_KEY})
    assert reply.status_code == 200
    body = reply.get_json()
    assert schemas.validate(body, "response", "gateway") == []
    assert [item["type"] for item in body["output"]] == ["reasoning", "message"]
    assert body["id"].startswith("resp_") and all(item["id"].startswith("msg_") for item in body["output"])
    assert "status" not in body["output"][0]
    assert body["created_at"] <= body["completed_at"]
    assert body["model"] == DOCUMENTED["model"] and body["temperature"] == DOCUMENTED["temperature"]


def test_chinese_input_gets_chinese_text_and_utf8_on_the_wire(client):
    reply = create(client, DOCUMENTED)
    assert "你" in output_text(reply.get_json()) or "您" in output_text(reply.get_json())
    assert "\\u" not in reply.get_data(as_text=True)
    assert output_text(reply.get_json()).encode("utf-8") in reply.get_data()


def test_english_input_gets_an_english_reply_that_is_not_an_echo(client):
    text = output_text(create(client, {"model": "qwen3.6-plus", "input": "How do I learn Rust quickly?"}).get_json())
    assert text.isascii() and "Rust" in text and "How do I learn Rust quickly?" not in text


def test_openai_profile_serves_openai_shape(client):
    app = create_app(profile="openai", seed=7)
    body = create(app.test_client(), DOCUMENTED, headers={"Authorization": "Bearer sk-x"}).get_json()
    assert schemas.validate(body, "response", "openai") == []
    assert body["output"][0]["id"].startswith(behaviour("openai").id_prefixes["reasoning"])
    assert "x_details" not in body["usage"]


def test_echoes_request_settings(client):
    request = {**DOCUMENTED, "top_p": 0.5, "tool_choice": "none", "metadata": {"case": "echo"}, "tools": []}
    body = create(client, request).get_json()
    assert (body["top_p"], body["tool_choice"], body["metadata"], body["tools"]) == (0.5, "none", {"case": "echo"}, [])


def test_same_request_same_seed_same_text_and_usage():
    first, second = (create_app(seed=3).test_client() for _ in range(2))
    a = create(first, DOCUMENTED, headers={"Authorization": "sk-a"}).get_json()
    b = create(second, DOCUMENTED, headers={"Authorization": "sk-b"}).get_json()
    assert output_text(a) == output_text(b) and a["usage"] == b["usage"] and a["id"] != b["id"]


def test_another_seed_changes_the_reply():
    request = {"model": "qwen3.6-plus", "input": "Explain vector databases"}
    texts = {
        output_text(create(create_app(seed=s).test_client(), request, headers={"Authorization": "sk-a"}).get_json())
        for s in range(6)
    }
    assert len(texts) > 1


def test_usage_adds_up(client):
    usage = create(client, {"model": "qwen3.6-plus", "input": "Tell me about tea"}).get_json()["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert 0 < usage["output_tokens_details"]["reasoning_tokens"] < usage["output_tokens"]
    [detail] = usage["x_details"]
    assert {k: detail[k] for k in ("input_tokens", "output_tokens", "total_tokens")} == {
        k: usage[k] for k in ("input_tokens", "output_tokens", "total_tokens")
    }


def test_input_tokens_grow_with_the_input_and_count_cjk(client):
    short = create(client, {"model": "qwen-plus", "input": "你好"}).get_json()["usage"]["input_tokens"]
    long = create(client, {"model": "qwen-plus", "input": "你好" * 50}).get_json()["usage"]["input_tokens"]
    assert long - short == 98  # one token per CJK character


def test_max_output_tokens_cuts_the_reply(client):
    body = create(client, {"model": "qwen-plus", "input": "Explain tea in detail", "max_output_tokens": 16}).get_json()
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 16
    assert schemas.validate(body, "response") == []


def test_gateway_ignores_max_tokens_but_openai_profile_caps_by_it(caplog):
    caplog.set_level("INFO", logger="mockserver")
    request = {"model": "qwen-plus", "input": "Explain tea in detail", "max_tokens": 5}
    gateway = create(create_app().test_client(), request, headers={"Authorization": "sk-a"}).get_json()
    assert gateway["status"] == "completed" and gateway["usage"]["output_tokens"] > 5
    assert "max_tokens=5 ignored" in caplog.text
    openai = create(create_app(profile="openai").test_client(), request, headers={"Authorization": "sk-a"}).get_json()
    assert openai["status"] == "incomplete" and openai["usage"]["output_tokens"] == 5


def test_max_output_tokens_wins_over_max_tokens_in_openai_profile():
    request = {"model": "qwen-plus", "input": "Explain tea in detail", "max_tokens": 5, "max_output_tokens": 20}
    body = create(create_app(profile="openai").test_client(), request, headers={"Authorization": "sk-a"}).get_json()
    assert body["usage"]["output_tokens"] == 20


@pytest.mark.parametrize(
    ("request_extra", "reasons"),
    [
        ({}, True),
        ({"reasoning": {"effort": "none"}}, False),
        ({"enable_thinking": False}, False),
        ({"reasoning": {"effort": "high"}, "enable_thinking": False}, True),
    ],
)
def test_reasoning_control(client, request_extra, reasons):
    body = create(client, {"model": "qwen3.6-plus", "input": "hi", **request_extra}).get_json()
    assert (body["output"][0]["type"] == "reasoning") is reasons


def test_model_without_reasoning_by_default(client):
    body = create(client, {"model": "qwen-turbo", "input": "hi"}).get_json()
    assert [item["type"] for item in body["output"]] == ["message"]


@pytest.fixture
def stored_client():
    """The gateway profile with the stored-response routes served (``serve_stored_routes``)."""
    client = create_app(seed=7, api_keys=[API_KEY], serve_stored_routes=True).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return client


def test_retrieve_delete_and_404(stored_client):
    client = stored_client
    body = create(client, DOCUMENTED).get_json()
    assert client.get(f"/v1/responses/{body['id']}").get_json() == body
    deleted = client.delete(f"/v1/responses/{body['id']}")
    assert deleted.get_json() == {"id": body["id"], "object": "response.deleted", "deleted": True}
    missing = client.get(f"/v1/responses/{body['id']}")
    assert missing.status_code == 404 and schemas.validate(missing.get_json(), "error") == []
    assert client.delete(f"/v1/responses/{body['id']}").status_code == 404


def test_store_false_is_not_retrievable(stored_client):
    client = stored_client
    body = create(client, {**DOCUMENTED, "store": False}).get_json()
    assert body["store"] is False and client.get(f"/v1/responses/{body['id']}").status_code == 404


def test_input_items_list_and_pagination(stored_client):
    client = stored_client
    items = [{"role": "user", "content": f"message {i}"} for i in range(5)]
    body = create(client, {"model": "qwen-plus", "input": items}).get_json()
    page = client.get(f"/v1/responses/{body['id']}/input_items?limit=2&order=asc").get_json()
    assert schemas.validate(page, "input_items_list") == []
    assert [i["content"][0]["text"] for i in page["data"]] == ["message 0", "message 1"] and page["has_more"]
    rest = client.get(f"/v1/responses/{body['id']}/input_items?order=asc&after={page['last_id']}").get_json()
    assert [i["content"][0]["text"] for i in rest["data"]] == ["message 2", "message 3", "message 4"] and not rest[
        "has_more"
    ]
    default = client.get(f"/v1/responses/{body['id']}/input_items").get_json()
    assert default["data"][0]["content"][0]["text"] == "message 4"  # OpenAI's default order is desc
    assert client.get(f"/v1/responses/{body['id']}/input_items?limit=0").status_code == 400
    assert client.get(f"/v1/responses/{body['id']}/input_items?limit=101").status_code == 400
    assert client.get(f"/v1/responses/{body['id']}/input_items?limit=100").status_code == 200
    assert client.get(f"/v1/responses/{body['id']}/input_items?order=sideways").status_code == 400


def test_previous_response_id_builds_a_conversation(client):
    first = create(client, {"model": "qwen-plus", "input": "My name is Ada."}).get_json()
    second = create(
        client, {"model": "qwen-plus", "input": "What is my name?", "previous_response_id": first["id"]}
    ).get_json()
    alone = create(client, {"model": "qwen-plus", "input": "What is my name?"}).get_json()
    assert second["usage"]["input_tokens"] > alone["usage"]["input_tokens"] + first["usage"]["input_tokens"] - 1
    assert second["previous_response_id"] == first["id"]
    unknown = create(client, {"model": "qwen-plus", "input": "x", "previous_response_id": "resp_nope"})
    assert unknown.status_code == 400


def test_eviction_cap_drops_the_oldest():
    client = create_app(max_stored=3, serve_stored_routes=True).test_client()
    ids = [
        create(client, {"model": "qwen-plus", "input": f"n{i}"}, headers={"Authorization": "sk-a"}).get_json()["id"]
        for i in range(5)
    ]
    statuses = [client.get(f"/v1/responses/{i}", headers={"Authorization": "sk-a"}).status_code for i in ids]
    assert statuses == [404, 404, 200, 200, 200]


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@pytest.mark.parametrize(
    ("headers", "failure"),
    [
        ({}, "missing_key"),
        ({"Authorization": "Bearer sk-wrong"}, "invalid_key"),
        ({"Authorization": "sk-wrong"}, "invalid_key"),
        ({"Authorization": "Bearer "}, "missing_key"),
    ],
)
def test_auth_failures(profile, headers, failure):
    client = create_app(profile=profile, api_keys=[API_KEY]).test_client()
    reply = create(client, DOCUMENTED, headers=headers)
    assert reply.status_code == behaviour(profile).failure(failure).status == 401
    assert schemas.validate(reply.get_json(), "error", profile) == []
    assert API_KEY not in reply.get_data(as_text=True)


def test_any_non_empty_key_passes_without_configured_keys():
    assert create(create_app().test_client(), DOCUMENTED, headers={"Authorization": "whatever"}).status_code == 200


def raw(client, data, content_type="application/json"):
    return client.post("/v1/responses", data=data, headers={"Content-Type": content_type})


@pytest.mark.parametrize("profile", ["gateway", "openai"])
@pytest.mark.parametrize(
    ("send", "failure", "param"),
    [
        (lambda c: raw(c, b"{not json"), "invalid_json", None),
        (lambda c: raw(c, b"[1, 2]"), "invalid_json", None),
        (lambda c: raw(c, b'{"model": "qwen-plus", "input": "x", "input": "y"}'), "invalid_json", None),
        (lambda c: raw(c, b'{"model": "qwen-plus", "input": "x", "temperature": NaN}'), "invalid_json", None),
        (lambda c: raw(c, b"\xff\xfe"), "invalid_json", None),
        (lambda c: raw(c, json.dumps(DOCUMENTED), "text/plain"), "unsupported_media_type", None),
        (lambda c: create(c, {**DOCUMENTED, "temperature": 3}), "invalid_request", "temperature"),
        (
            lambda c: create(
                c, {**DOCUMENTED, "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]}
            ),
            "invalid_request",
            "input[0].content[0].text",
        ),
        (lambda c: create(c, {"input": "x"}), "missing_model", "model"),
        (lambda c: create(c, {"model": "qwen-plus"}), "missing_input", "input"),
        (lambda c: create(c, {**DOCUMENTED, "model": "qwen-404"}), "unknown_model", "model"),
        (lambda c: c.put("/__mock__/health"), "method_not_allowed", None),
        (lambda c: c.get("/unknown"), "route_not_found", None),
    ],
)
def test_errors_use_the_profile_envelope(profile, send, failure, param):
    client = create_app(profile=profile).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sk-a"
    reply = send(client)
    spec = behaviour(profile).failure(failure)
    assert reply.status_code == spec.status, reply.get_data(as_text=True)
    body = reply.get_json()
    assert schemas.validate(body, "error", profile) == []
    assert body["error"]["type"] == spec.type and body["error"]["code"] == spec.code
    if profile == "openai":
        assert body["error"]["param"] == (spec.param or param)
    else:
        assert "param" not in body["error"] and body["error"]["message"].endswith(
            f"(request id: {reply.headers['X-Oneapi-Request-Id']})"
        )


def test_unknown_parameters_are_ignored_by_the_gateway_and_rejected_by_openai(caplog):
    """The upstream documents that it ignores OpenAI parameters it does not list (profiles.json: unknown_parameters)."""
    body = {**DOCUMENTED, "temprature": 0.5, "background": True}
    gateway = create_app(profile="gateway").test_client()
    with caplog.at_level("INFO", logger="mockserver"):
        reply = gateway.post("/v1/responses", json=body, headers={"Authorization": "sk-a"})
    assert reply.status_code == 200 and reply.get_json()["background"] is False  # answered synchronously
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("parameters ignored")]
    assert sorted(line.split(": ", 1)[1].split(", ")) == ["background", "max_tokens", "temprature"]
    openai = create_app(profile="openai").test_client()
    reply = openai.post("/v1/responses", json=body, headers={"Authorization": "Bearer sk-a"})
    spec = behaviour("openai").failure("unknown_parameter")
    assert reply.status_code == spec.status and reply.get_json()["error"]["param"] == "temprature"


def test_ignored_parameters_are_said_once_per_set_not_on_every_request(caplog):
    """A client sends its ignored parameters with every request: the hint is logged once, each request's line always."""
    client = create_app(profile="gateway").test_client()
    bodies = [DOCUMENTED, DOCUMENTED, {**DOCUMENTED, "temprature": 0.5}, DOCUMENTED]
    with caplog.at_level("INFO", logger="mockserver"):
        for body in bodies:
            assert client.post("/v1/responses", json=body, headers={"Authorization": "sk-a"}).status_code == 200
        client.post("/__mock__/reset")
        client.post("/v1/responses", json=DOCUMENTED, headers={"Authorization": "sk-a"})
    said = [r.getMessage() for r in caplog.records]
    ignored = [line.split(": ", 1)[1] for line in said if line.startswith("parameters ignored")]
    assert ignored == ["max_tokens", "max_tokens, temprature", "max_tokens"]  # after the reset, once again
    assert sum(line.startswith("max_tokens=1024 ignored") for line in said) == 3
    assert sum(line.startswith("POST /v1/responses 200") for line in said) == 5


def test_oversized_body_is_413_in_the_envelope():
    client = create_app(max_body_bytes=2048).test_client()
    reply = client.post(
        "/v1/responses", json={"model": "qwen-plus", "input": "x" * 5000}, headers={"Authorization": "sk-a"}
    )
    assert reply.status_code == 413 and schemas.validate(reply.get_json(), "error") == []


def test_models_are_configurable_and_listed():
    client = create_app(models=["alpha:plain", "beta"]).test_client()
    listing = client.get("/v1/models", headers={"Authorization": "sk-a"}).get_json()
    assert schemas.validate(listing, "model_list") == [] and [m["id"] for m in listing["data"]] == ["alpha", "beta"]
    assert [
        i["type"]
        for i in create(client, {"model": "alpha", "input": "hi"}, headers={"Authorization": "sk-a"}).get_json()[
            "output"
        ]
    ] == ["message"]
    assert create(client, DOCUMENTED, headers={"Authorization": "sk-a"}).status_code == 503


def test_request_id_header_on_every_reply(client):
    assert client.get("/v1/unknown").headers["X-Oneapi-Request-Id"]
    assert create_app(profile="openai").test_client().get("/v1/models").headers["x-request-id"]


def test_openapi_document_is_built_from_the_schemas(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["schemas"]["CreateResponse"] == schemas.bundle("request")
    assert set(document["paths"]) == {"/v1/responses", "/v1/responses/compact", "/v1/models"}  # what the gateway routes
    stored = create_app(profile="openai").test_client().get("/openapi.json").get_json()
    assert set(stored["paths"]) >= {"/v1/responses/{response_id}", "/v1/responses/{response_id}/input_items"}
    query = {
        p["name"]: p["schema"] for p in stored["paths"]["/v1/responses/{response_id}/input_items"]["get"]["parameters"]
    }
    assert query["limit"]["maximum"] == 100 and query["order"]["enum"] == ["asc", "desc"]


UNROUTED = [
    ("GET", "/v1/responses/resp_abc"),
    ("DELETE", "/v1/responses/resp_abc"),
    ("GET", "/v1/responses/resp_abc/input_items"),
    ("GET", "/v1/responses"),
    ("GET", "/v1/responses/compact"),
    ("POST", "/v1/responses/resp_abc/cancel"),
    ("POST", "/v1/responses/input_tokens"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations/conv_abc/items"),
    ("POST", "/v1/chat/nothing"),
]


@pytest.mark.parametrize(("method", "path"), UNROUTED)
def test_the_gateway_answers_unrouted_paths_with_new_apis_noroute_404_before_the_key(method, path):
    client = create_app(api_keys=[API_KEY]).test_client()
    reply = client.open(path, method=method)  # no key at all: NoRoute comes first
    assert reply.status_code == 404
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    message = f"Invalid URL ({method} {path})"
    expected = f'{{"error":{{"code":"","message":"{message}","param":"","type":"invalid_request_error"}}}}'
    assert reply.get_data(as_text=True) == expected  # byte for byte as gin's c.JSON writes it: no request id
    assert schemas.validate(reply.get_json(), "error", "gateway") == []


def test_go_escapes_in_the_noroute_message():
    reply = create_app().test_client().get("/v1/a<b>&c")
    assert "\\u003cb\\u003e\\u0026c" in reply.get_data(as_text=True)


def test_previous_response_id_works_without_the_stored_routes(client):
    first = create(client, {"model": "qwen-plus", "input": "My name is Ada."}).get_json()
    second = create(client, {"model": "qwen-plus", "input": "And mine?", "previous_response_id": first["id"]})
    assert second.status_code == 200 and second.get_json()["previous_response_id"] == first["id"]
    assert client.get(f"/v1/responses/{first['id']}").status_code == 404


@pytest.mark.parametrize(("profile", "option"), [("openai", False), ("gateway", True)])
def test_the_stored_routes_are_served_in_the_openai_profile_and_with_the_option(profile, option):
    client = create_app(profile=profile, serve_stored_routes=option).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = "Bearer sk-a"
    body = create(client, {"model": "qwen-plus", "input": "hi"}).get_json()
    assert client.get(f"/v1/responses/{body['id']}").get_json() == body
    assert client.get(f"/v1/responses/{body['id']}/input_items").status_code == 200
    unknown = client.get("/v1/responses/resp_unknown")
    assert (
        unknown.status_code == 404
        and unknown.get_json()["error"]["type"] == behaviour(profile).failure("not_found").type
    )
    assert client.delete(f"/v1/responses/{body['id']}").status_code == 200


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"profile": "nope"}, "profile"),
        ({"max_stored": 0}, "max_stored"),
        ({"models": []}, "models"),
        ({"colour": 1}, "colour"),
    ],
)
def test_invalid_config_names_the_field(values, field):
    with pytest.raises(ConfigError, match=field):
        MockConfig.build(**values)


def test_keys_never_appear_in_reprs():
    assert API_KEY not in repr(MockConfig.build(api_keys=[API_KEY]))


def _status_of(client, headers=None, **kwargs):
    return client.post("/v1/responses", headers={"Authorization": "sk-a", **(headers or {})}, **kwargs).status_code


#: Requests that make the mock answer each status it can send from POST /v1/responses.
PROVOKED = [
    lambda c: _status_of(c, json=DOCUMENTED),
    lambda c: _status_of(c, data=json.dumps(DOCUMENTED), content_type="text/plain"),  # 415
    lambda c: _status_of(c, json={**DOCUMENTED, "input": "x" * 5000}),  # 413
    lambda c: _status_of(c, json={**DOCUMENTED, "model": "qwen-404"}),  # 503 gateway, 400 openai
    lambda c: _status_of(c, json=DOCUMENTED, headers={"Authorization": ""}),  # 401
    lambda c: _status_of(c, json=DOCUMENTED, headers={"Authorization": "sk-turbo-only"}),  # 403
    lambda c: _status_of(c, json=DOCUMENTED, headers={"Authorization": "sk-ten-calls-used"}),  # 401 gw, 429 openai
    lambda c: _status_of(c, json=DOCUMENTED, headers={"X-Mock-Fault": "status=429"}),
    lambda c: _status_of(c, json=DOCUMENTED, headers={"X-Mock-Fault": "status=500"}),
    lambda c: _status_of(c, json=DOCUMENTED, headers={"X-Mock-Fault": "status=502"}),
    lambda c: _status_of(c, json=DOCUMENTED, headers={"X-Mock-Fault": "nonsense"}),  # the mock's own 400
    lambda c: _status_of(c, json={"model": "qwen-plus", "input": "x", "metadata": {"case": "rate-limit"}}),
    lambda c: c.put("/v1/responses").status_code,  # 405 openai, NoRoute 404 gateway
]


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_openapi_documents_every_status_the_mock_sends(profile):
    keys = ["sk-a", {"key": "sk-turbo-only", "models": ["qwen-turbo"]}, {"key": "sk-ten-calls-used", "quota": 0}]
    scenarios = FIXTURES / "scenarios" if profile == "gateway" else None  # the example scenarios are gateway-shaped
    app = create_app(profile=profile, api_keys=keys, max_body_bytes=2048, scenarios_dir=scenarios, log_requests=False)
    client = app.test_client()
    sent = {provoke(client) for provoke in PROVOKED}
    document = client.get("/openapi.json").get_json()
    documented = {int(s) for s in document["paths"]["/v1/responses"]["post"]["responses"]}
    unrouted = {404} if profile == "gateway" else {405}  # answered for the path, not for the operation
    assert sent - unrouted <= documented, sorted(sent - documented)
    assert {413, 415, 503, 429, 500, 502, 400, 401, 403} <= documented
    assert {f.status for f in behaviour(profile).failures.values()} <= documented
    assert sent >= {200, 400, 401, 403, 413, 415, 429, 500, 502}


def test_openapi_documents_canned_and_server_statuses(tmp_path):
    teapot = {"name": "teapot", "match": {"model": "qwen-plus"}, "reply": {"error": {"status": 418, "body": {}}}}
    (tmp_path / "teapot.json").write_text(json.dumps(teapot), encoding="utf-8")
    client = create_app(scenarios_dir=tmp_path).test_client()
    assert _status_of(client, json={"model": "qwen-plus", "input": "hi"}) == 418
    documented = client.get("/openapi.json").get_json()["paths"]["/v1/responses"]["post"]["responses"]
    assert {"418", "431", "501"} <= set(documented)
