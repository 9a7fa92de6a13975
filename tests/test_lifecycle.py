"""The stateful lifecycle in the mock: background, cancel, stream resume, input tokens, conversations, compact.

In-process (Flask's test client), with the background clock set by the test
(``records.now``), so every state is reached exactly and nothing sleeps; then
the same state through stores shared by two apps (SQLite, Redis), as worker
processes share them, and a real ``--workers 2`` server.
"""

from __future__ import annotations

import json
import math

import httpx
import pytest

import schemas
from mockserver import create_app
from mockserver.state import records
from mockserver.state.owners import any_owners
from mockserver.state.store import CONVERSATIONS, open_store
from schemas.stream import parse_sse, validate_sse

from .servers import mock_process

KEY = "sk-lifecycle"
AUTH = {"Authorization": f"Bearer {KEY}"}
MODEL = "qwen3.6-plus"


def client(**config):
    return create_app(profile="openai", seed=3, log_requests=False, **config).test_client()


@pytest.fixture
def openai():
    return client(background_pace=(1.0, 2.0))


def create(api, **body):
    reply = api.post("/v1/responses", json={"model": MODEL, "input": "How do tides work?", **body}, headers=AUTH)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def get(api, path):
    return api.get(path, headers=AUTH)


# --- background -----------------------------------------------------------------------------------


def test_a_background_response_is_queued_then_in_progress_then_completed(openai, clock):
    start = clock.now
    created = create(openai, background=True)
    assert created["status"] == "queued" and created["background"] is True and created["output"] == []
    assert "usage" not in created and schemas.validate(created, "response", "openai") == []
    statuses = []
    for moved in (0.5, 1.0, 2.9, 3.0):
        clock.now = start + moved
        statuses.append(get(openai, f"/v1/responses/{created['id']}").get_json()["status"])
    assert statuses == ["queued", "in_progress", "in_progress", "completed"]
    final = get(openai, f"/v1/responses/{created['id']}").get_json()
    assert final["output"] and final["usage"]["total_tokens"] > 0 and final["background"] is True


def test_a_background_response_fails_or_stops_early_as_a_synchronous_one_would(openai, clock):
    failed = openai.post(
        "/v1/responses",
        json={"model": MODEL, "input": "hi", "background": True},
        headers={**AUTH, "X-Mock-Fault": "rate-limit-200"},
    ).get_json()
    capped = create(openai, background=True, max_output_tokens=16)
    clock.now += 10
    assert get(openai, f"/v1/responses/{failed['id']}").get_json()["status"] == "failed"
    assert get(openai, f"/v1/responses/{capped['id']}").get_json()["status"] == "incomplete"


def test_cancel_makes_a_running_background_response_cancelled_for_good(openai, clock):
    created = create(openai, background=True)
    clock.now += 1.5  # in progress
    cancelled = openai.post(f"/v1/responses/{created['id']}/cancel", headers=AUTH)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    clock.now += 100  # long past when it would have finished
    assert get(openai, f"/v1/responses/{created['id']}").get_json()["status"] == "cancelled"
    again = openai.post(f"/v1/responses/{created['id']}/cancel", headers=AUTH)
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"  # idempotent
    follow_up = create(openai, input="And then?", previous_response_id=created["id"])
    assert follow_up["usage"]["input_tokens"] < 40  # the cancelled turn's output is not part of the history


def test_cancel_refuses_finished_and_synchronous_responses(openai, clock):
    background = create(openai, background=True)
    clock.now += 3.0
    finished = openai.post(f"/v1/responses/{background['id']}/cancel", headers=AUTH)
    assert finished.status_code == 400
    assert finished.get_json()["error"]["message"] == "Cannot cancel a response that is already completed."
    plain = create(openai)
    refused = openai.post(f"/v1/responses/{plain['id']}/cancel", headers=AUTH)
    assert refused.status_code == 400 and "background=true" in refused.get_json()["error"]["message"]
    unknown = openai.post("/v1/responses/resp_nope/cancel", headers=AUTH)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["param"] == "response_id"


def test_background_needs_store(openai):
    reply = openai.post(
        "/v1/responses", json={"model": MODEL, "input": "hi", "background": True, "store": False}, headers=AUTH
    )
    assert reply.status_code == 400 and reply.get_json()["error"]["param"] == "store"


def test_hold_keeps_a_background_response_in_progress_until_cancelled(clock):
    api = client(background_pace=(0, math.inf))
    created = create(api, background=True)
    clock.now += 10**6
    assert get(api, f"/v1/responses/{created['id']}").get_json()["status"] == "in_progress"
    assert api.post(f"/v1/responses/{created['id']}/cancel", headers=AUTH).get_json()["status"] == "cancelled"


def test_a_streamed_background_response_streams_and_is_stored(openai, clock):
    reply = openai.post(
        "/v1/responses", json={"model": MODEL, "input": "hi there", "background": True, "stream": True}, headers=AUTH
    )
    text = reply.get_data(as_text=True)
    assert validate_sse(text, "openai") == []
    events = [e.json for e in parse_sse(text).events]
    assert events[0]["response"]["status"] == "queued" and events[-1]["type"] == "response.completed"
    response_id = events[0]["response"]["id"]
    assert get(openai, f"/v1/responses/{response_id}").get_json()["status"] == "queued"
    clock.now += 3
    assert get(openai, f"/v1/responses/{response_id}").get_json() == events[-1]["response"]


def test_the_gateway_answers_background_synchronously_and_routes_none_of_the_lifecycle():
    gateway = create_app(seed=3, log_requests=False).test_client()
    body = create(gateway, background=True)
    assert body["status"] == "completed" and body["background"] is False and body["output"]
    for method, path in [
        ("POST", f"/v1/responses/{body['id']}/cancel"),
        ("POST", "/v1/responses/input_tokens"),
        ("POST", "/v1/conversations"),
        ("GET", f"/v1/responses/{body['id']}"),
    ]:
        reply = gateway.open(path, method=method, json={}, headers=AUTH)
        assert reply.status_code == 404 and reply.get_json()["error"]["message"] == f"Invalid URL ({method} {path})"


# --- stream resume --------------------------------------------------------------------------------


def stream_blocks(text: str) -> list[str]:
    return [block for block in text.split("\n\n") if block and not block.startswith(":")]


def test_a_resumed_stream_is_the_original_suffix_byte_for_byte(openai):
    original = openai.post(
        "/v1/responses", json={"model": MODEL, "input": "Why is the sky blue?", "stream": True}, headers=AUTH
    ).get_data(as_text=True)
    response_id = json.loads(stream_blocks(original)[0].split("data: ", 1)[1])["response"]["id"]
    stored = get(openai, f"/v1/responses/{response_id}").get_json()
    for after in (-1, 0, 3, 10):
        resumed = get(openai, f"/v1/responses/{response_id}?stream=true&starting_after={after}")
        assert resumed.mimetype == "text/event-stream"
        text = resumed.get_data(as_text=True)
        assert stream_blocks(text) == stream_blocks(original)[after + 1 :]
        assert validate_sse(text, "openai", starting_after=after, stored=stored) == []
    last = len(stream_blocks(original)) - 1
    assert get(openai, f"/v1/responses/{response_id}?stream=true&starting_after={last}").get_data() == b""


def test_a_background_stream_resumes_only_with_what_has_happened(openai, clock):
    """Resuming never hands out an answer GET says is not there yet: queued, in progress, cancelled, finished."""
    start = clock.now
    original = openai.post(
        "/v1/responses",
        json={"model": MODEL, "input": "Why is the sky blue?", "stream": True, "background": True},
        headers=AUTH,
    ).get_data(as_text=True)
    response_id = json.loads(stream_blocks(original)[0].split("data: ", 1)[1])["response"]["id"]

    def resumed_types() -> list[str]:
        text = get(openai, f"/v1/responses/{response_id}?stream=true&starting_after=-1").get_data(as_text=True)
        return [json.loads(block.split("data: ", 1)[1])["type"] for block in stream_blocks(text)]

    clock.now = start + 0.5  # queued
    queued = resumed_types()
    assert queued and set(queued) <= {"response.created", "response.queued"}
    clock.now = start + 1.5  # in progress
    running = resumed_types()
    assert running[: len(queued)] == queued and set(running) <= {
        "response.created",
        "response.queued",
        "response.in_progress",
    }
    assert get(openai, f"/v1/responses/{response_id}").get_json()["status"] == "in_progress"
    clock.now = start + 3.5  # finished: the whole stream
    finished = resumed_types()
    assert (
        finished[: len(running)] == running
        and len(finished) > len(running)
        and "response.output_text.delta" in finished
    )
    assert finished[-1] == "response.completed" and len(finished) == len(stream_blocks(original))

    cancelled = create(openai, background=True, stream=False)
    clock.now = start + 4.0
    assert openai.post(f"/v1/responses/{cancelled['id']}/cancel", headers=AUTH).get_json()["status"] == "cancelled"
    clock.now = start + 100
    text = get(openai, f"/v1/responses/{cancelled['id']}?stream=true&starting_after=-1").get_data(as_text=True)
    assert "output_text" not in text and "response.completed" not in text


def test_a_stream_a_fault_cut_resumes_as_it_was_sent(openai):
    original = openai.post(
        "/v1/responses",
        json={"model": MODEL, "input": "Why is the sky blue?", "stream": True},
        headers={**AUTH, "X-Mock-Fault": "stream-error=6"},
    ).get_data(as_text=True)
    response_id = json.loads(stream_blocks(original)[0].split("data: ", 1)[1])["response"]["id"]
    resumed = get(openai, f"/v1/responses/{response_id}?stream=true&starting_after=2").get_data(as_text=True)
    assert stream_blocks(resumed) == stream_blocks(original)[3:]
    assert json.loads(stream_blocks(resumed)[-1].split("data: ", 1)[1])["type"] == "error"


def test_a_plain_response_can_be_streamed_from_the_store(openai):
    plain = create(openai, input="Tell me a fact about tea.")
    streamed = get(openai, f"/v1/responses/{plain['id']}?stream=true").get_data(as_text=True)
    events = [e.json for e in parse_sse(streamed).events]
    assert validate_sse(streamed, "openai") == [] and events[-1]["response"] == plain


@pytest.mark.parametrize("query", ["stream=yes", "stream=true&starting_after=x", "stream=true&starting_after=-2"])
def test_resume_parameters_are_checked(openai, query):
    plain = create(openai)
    reply = get(openai, f"/v1/responses/{plain['id']}?{query}")
    assert reply.status_code == 400 and reply.get_json()["error"]["param"] in ("stream", "starting_after")


def test_stored_events_are_derived_again_from_the_record(openai):
    """What an admin view reads: the events of a stored response, as sent."""
    app = create_app(profile="openai", seed=3, log_requests=False)
    api = app.test_client()
    original = api.post("/v1/responses", json={"model": MODEL, "input": "hi", "stream": True}, headers=AUTH).get_data(
        as_text=True
    )
    response_id = json.loads(stream_blocks(original)[0].split("data: ", 1)[1])["response"]["id"]
    record = any_owners(app.extensions["mock"].store, response_id)
    assert "events" not in record  # derived, not stored twice
    assert records.stored_events(record) == [e.json for e in parse_sse(original).events]


# --- input tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"input": "How do tides work?"},
        {
            "input": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
            "instructions": "Be brief.",
        },
        {"input": "你好，请介绍一下杭州。"},
    ],
)
def test_input_tokens_are_what_usage_would_charge(openai, body):
    counted = openai.post("/v1/responses/input_tokens", json={"model": MODEL, **body}, headers=AUTH).get_json()
    assert counted["object"] == "response.input_tokens" and counted["input_tokens"] > 0
    assert schemas.validate(counted, "input_tokens", "openai") == []
    assert counted["input_tokens"] == create(openai, **body)["usage"]["input_tokens"]


def test_input_tokens_follow_previous_response_id_and_conversations(openai):
    first = create(openai, input="My name is Ada.")
    follow = {"input": "What is my name?", "previous_response_id": first["id"]}
    counted = openai.post("/v1/responses/input_tokens", json={"model": MODEL, **follow}, headers=AUTH).get_json()
    assert counted["input_tokens"] == create(openai, **follow)["usage"]["input_tokens"]


def test_input_tokens_refuse_what_openai_refuses(openai):
    unknown = openai.post("/v1/responses/input_tokens", json={"input": "x", "colour": 1}, headers=AUTH)
    assert unknown.status_code == 400 and unknown.get_json()["error"]["code"] == "unknown_parameter"
    model = openai.post("/v1/responses/input_tokens", json={"input": "x", "model": "gpt-nope"}, headers=AUTH)
    assert model.status_code == 400 and model.get_json()["error"]["code"] == "model_not_found"


# --- conversations --------------------------------------------------------------------------------


def test_a_conversation_is_history_and_keeps_every_turn(openai):
    conversation = openai.post("/v1/conversations", json={"metadata": {"topic": "names"}}, headers=AUTH).get_json()
    assert conversation["object"] == "conversation" and conversation["id"].startswith("conv_")
    assert schemas.validate(conversation, "conversation", "openai") == []
    first = create(openai, input="My name is Ada. Please remember it.", conversation=conversation["id"])
    second = create(openai, input="What is my name?", conversation={"id": conversation["id"]})
    assert "Ada" in second["output"][-1]["content"][0]["text"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]
    listed = get(openai, f"/v1/conversations/{conversation['id']}/items?order=asc").get_json()
    assert schemas.validate(listed, "conversation_item_list", "openai") == []
    assert [(i["type"], i.get("role")) for i in listed["data"]] == [
        ("message", "user"),
        ("reasoning", None),
        ("message", "assistant"),
        ("message", "user"),
        ("reasoning", None),
        ("message", "assistant"),
    ]
    page = get(openai, f"/v1/conversations/{conversation['id']}/items?limit=2").get_json()
    assert page["has_more"] is True and page["data"][0]["id"] == listed["data"][-1]["id"]


def test_conversation_routes(openai):
    made = openai.post(
        "/v1/conversations", json={"items": [{"role": "user", "content": "Hello"}]}, headers=AUTH
    ).get_json()
    cid = made["id"]
    updated = openai.post(f"/v1/conversations/{cid}", json={"metadata": {"k": "v"}}, headers=AUTH).get_json()
    assert updated["metadata"] == {"k": "v"} and get(openai, f"/v1/conversations/{cid}").get_json() == updated
    added = openai.post(
        f"/v1/conversations/{cid}/items", json={"items": [{"role": "user", "content": "More"}]}, headers=AUTH
    ).get_json()
    assert added["object"] == "list" and [i["content"][0]["text"] for i in added["data"]] == ["More"]
    item_id = added["data"][0]["id"]
    assert get(openai, f"/v1/conversations/{cid}/items/{item_id}").get_json() == added["data"][0]
    after = openai.delete(f"/v1/conversations/{cid}/items/{item_id}", headers=AUTH)
    assert after.status_code == 200 and after.get_json()["id"] == cid
    assert get(openai, f"/v1/conversations/{cid}/items/{item_id}").status_code == 404
    assert len(get(openai, f"/v1/conversations/{cid}/items").get_json()["data"]) == 1
    deleted = openai.delete(f"/v1/conversations/{cid}", headers=AUTH).get_json()
    assert deleted == {"id": cid, "object": "conversation.deleted", "deleted": True}
    gone = get(openai, f"/v1/conversations/{cid}")
    assert gone.status_code == 404 and gone.get_json()["error"]["message"] == f"Conversation with id '{cid}' not found."


def test_conversation_errors(openai):
    assert get(openai, "/v1/conversations/conv_nope/items").status_code == 404
    unknown = openai.post(
        "/v1/responses", json={"model": MODEL, "input": "x", "conversation": "conv_nope"}, headers=AUTH
    )
    assert unknown.status_code == 404 and unknown.get_json()["error"]["param"] == "conversation"
    previous = create(openai)
    conversation = openai.post("/v1/conversations", json={}, headers=AUTH).get_json()
    both = openai.post(
        "/v1/responses",
        json={"model": MODEL, "input": "x", "conversation": conversation["id"], "previous_response_id": previous["id"]},
        headers=AUTH,
    )
    assert both.status_code == 400 and both.get_json()["error"]["param"] == "conversation"
    too_many = openai.post("/v1/conversations", json={"items": [{"role": "user", "content": "x"}] * 21}, headers=AUTH)
    assert too_many.status_code == 400


# --- compact --------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_compact_keeps_the_user_messages_and_one_compaction_item(profile):
    api = create_app(profile=profile, seed=3, log_requests=False).test_client()
    first = create(api, input="My name is Ada. Please remember it.")
    compacted = api.post(
        "/v1/responses/compact",
        json={
            "model": MODEL,
            "input": [{"role": "user", "content": "What is my name?"}],
            "previous_response_id": first["id"],
        }
        if profile == "openai"
        else {
            "model": MODEL,
            "input": [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hi Ada!"}],
        },
        headers=AUTH,
    ).get_json()
    assert schemas.validate(compacted, "compacted_response", profile) == []
    assert compacted["object"] == "response.compaction"
    kinds = [(item["type"], item.get("role")) for item in compacted["output"]]
    assert kinds[-1] == ("compaction", None) and all(kind == ("message", "user") for kind in kinds[:-1])
    continued = create(api, input=[*compacted["output"], {"role": "user", "content": "Thanks!"}])
    assert continued["usage"]["input_tokens"] > create(api, input="Thanks!")["usage"]["input_tokens"]


# --- include, ids, headers ------------------------------------------------------------------------


def test_include_values_the_mock_can_honour_are_honoured(openai):
    body = create(
        openai,
        input="Hello!",
        include=["reasoning.encrypted_content", "message.output_text.logprobs", "file_search_call.results"],
    )
    reasoning, message = body["output"][0], body["output"][-1]
    assert reasoning["encrypted_content"].startswith("mock-reasoning.")
    part = message["content"][0]
    assert "".join(p["token"] for p in part["logprobs"]) == part["text"] and all(
        p["logprob"] <= 0 for p in part["logprobs"]
    )
    assert schemas.validate(body, "response", "openai") == []
    plain = create(openai, input="Hello!")
    assert "encrypted_content" not in plain["output"][0] and plain["output"][-1]["content"][0]["logprobs"] == []


def test_include_values_outside_the_documented_set_are_refused(openai):
    reply = openai.post(
        "/v1/responses", json={"model": MODEL, "input": "x", "include": ["message.everything"]}, headers=AUTH
    )
    assert reply.status_code == 400 and reply.get_json()["error"]["param"].startswith("include")


def test_openai_ids_and_rate_limit_headers(openai):
    reply = openai.post("/v1/responses", json={"model": MODEL, "input": "x"}, headers=AUTH)
    body = reply.get_json()
    assert body["id"].startswith("resp_") and len(body["id"]) == 55 and "-" not in body["id"]
    assert reply.headers["x-ratelimit-limit-requests"] and reply.headers["x-ratelimit-remaining-tokens"]
    gateway = create_app(seed=3, log_requests=False).test_client()
    reply = gateway.post("/v1/responses", json={"model": MODEL, "input": "x"}, headers=AUTH)
    assert not [name for name, _ in reply.headers if name.lower().startswith("x-ratelimit")]
    assert reply.get_json()["id"].count("-") == 4  # the gateway's documented resp_ + UUID


# --- shared stores: what worker processes see -----------------------------------------------------


def test_kinds_have_their_own_ids_and_updates_are_atomic(store_url):
    import threading

    store = open_store(store_url, 100)
    store.put("same", {"n": 0})
    store.put("same", {"items": []}, kind=CONVERSATIONS)
    assert store.ids() == ["same"] and store.ids(kind=CONVERSATIONS) == ["same"] and len(store) == 1

    def append(worker: int) -> None:
        for n in range(25):
            store.update("same", lambda r, x=f"{worker}-{n}": {"items": [*r["items"], x]}, kind=CONVERSATIONS)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.get("same", kind=CONVERSATIONS)["items"]) == 100  # nothing lost
    assert store.get("same") == {"n": 0}
    with pytest.raises(ZeroDivisionError):
        store.update("same", lambda r: 1 / 0)
    assert store.get("same") == {"n": 0} and store.update("missing", lambda r: r) is None
    store.clear()
    assert store.ids(kind=CONVERSATIONS) == []


def test_two_apps_sharing_a_store_share_background_cancel_and_conversations(shared_url, clock):
    one, two = (client(store_url=shared_url, background_pace=(1.0, 2.0)) for _ in range(2))
    created = create(one, background=True)
    clock.now += 1.5
    assert get(two, f"/v1/responses/{created['id']}").get_json()["status"] == "in_progress"  # no timer in `one`
    assert two.post(f"/v1/responses/{created['id']}/cancel", headers=AUTH).get_json()["status"] == "cancelled"
    assert get(one, f"/v1/responses/{created['id']}").get_json()["status"] == "cancelled"
    conversation = one.post("/v1/conversations", json={}, headers=AUTH).get_json()
    create(two, input="My name is Ada.", conversation=conversation["id"])
    create(one, input="What is my name?", conversation=conversation["id"])
    assert len(get(two, f"/v1/conversations/{conversation['id']}/items").get_json()["data"]) == 6


def test_a_workers_server_runs_the_lifecycle_across_processes():
    with mock_process("--profile", "openai", "--workers", "2", "--background-pace", "0,hold", "--quiet") as server:
        base = f"{server.base}/v1"
        with httpx.Client(headers=AUTH, timeout=30) as http:
            created = http.post(f"{base}/responses", json={"model": MODEL, "input": "hi", "background": True}).json()
            statuses = {http.get(f"{base}/responses/{created['id']}").json()["status"] for _ in range(6)}
            assert statuses == {"in_progress"}
            assert http.post(f"{base}/responses/{created['id']}/cancel").json()["status"] == "cancelled"
            assert {http.get(f"{base}/responses/{created['id']}").json()["status"] for _ in range(6)} == {"cancelled"}
            conversation = http.post(f"{base}/conversations", json={}).json()
            for text in ("one", "two", "three"):
                http.post(f"{base}/responses", json={"model": MODEL, "input": text, "conversation": conversation["id"]})
            items = http.get(f"{base}/conversations/{conversation['id']}/items?limit=100").json()["data"]
            assert len(items) == 9


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/conversations", b"{not json"),
        ("POST", "/v1/conversations", b'{"items": "nope"}'),
        ("POST", "/v1/conversations/conv_1%0d%0aSet-Cookie:%20x=1", b'{"metadata": {}}'),
        ("GET", "/v1/conversations/conv_x/items?limit=1000", None),
        ("GET", "/v1/conversations/conv_x/items/%00", None),
        ("POST", "/v1/responses/input_tokens", b'{"input": 5}'),
        ("POST", "/v1/responses/input_tokens", b"[1, 2]"),
        ("POST", "/v1/responses/compact", b'{"input": "no model"}'),
        ("POST", "/v1/responses/compact", b'{"model": "qwen3.6-plus", "previous_response_id": "resp_none"}'),
        ("POST", "/v1/responses/resp_%0d%0a/cancel", None),
        ("GET", "/v1/responses/resp_x?stream=true&starting_after=99999999999999999999", None),
    ],
)
def test_hostile_input_to_the_lifecycle_routes_is_a_4xx_in_the_envelope(openai, method, path, body):
    headers = {**AUTH, "Content-Type": "application/json"}
    reply = openai.open(path, method=method, data=body, headers=headers)
    assert 400 <= reply.status_code < 500, reply.get_data(as_text=True)
    error = reply.get_json()["error"]
    assert schemas.validate(reply.get_json(), "error", "openai") == [] and "\r" not in error["message"]


def test_the_admin_views_show_a_background_response_where_its_clock_says(openai, clock):
    created = create(openai, background=True)
    listed = openai.get("/__mock__/responses").get_json()["data"]
    assert [r["status"] for r in listed if r["id"] == created["id"]] == ["queued"]
    assert openai.get(f"/__mock__/responses/{created['id']}").get_json()["status"] == "queued"
    clock.now += 10
    assert openai.get(f"/__mock__/responses/{created['id']}").get_json()["status"] == "completed"
