"""Stored responses belong to the key (or project) that created them.

Another key gets exactly what an id that never existed gets (same status,
same body but for the id and the request id, same headers): through
``previous_response_id`` in both profiles, and through ``GET``,
``input_items`` and ``DELETE`` where they are served. Checked on every store
(memory, SQLite, Redis when redis-server is installed), with several
workers on one port, and through the openai SDK.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver import create_app
from mockserver.config import ConfigError, KeySpec, load_keys_file
from mockserver.state.owners import owner_of
from mockserver.state.store import CONVERSATIONS, open_store

from .servers import mock_process, redis_server
from .test_workers import served_by

KEY_A = "sk-owner-a-1f9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a4"
KEY_B = "sk-owner-b-0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"
FIRST = {"model": "qwen3.6-plus", "input": "My name is Ada. Please remember it."}
FOLLOW_UP = {"model": "qwen3.6-plus", "input": "What is my name?"}

_prefixes = iter(range(10**6))


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "lmdb", "sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "lmdb":
        return f"lmdb:///{tmp_path / 'store.lmdb'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return f"{request.getfixturevalue('redis_url')}?prefix=own{next(_prefixes)}"


def as_key(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def mock(store_url: str, profile: str, keys: list[Any] | None = None, **config: Any) -> Any:
    keys = [KEY_A, KEY_B] if keys is None else keys
    app = create_app(profile=profile, api_keys=keys, store_url=store_url, log_requests=False, **config)
    return app.test_client()


def create(client: Any, key: str, **extra: Any) -> dict[str, Any]:
    reply = client.post("/v1/responses", json={**FIRST, **extra}, headers=as_key(key))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def never_created(response_id: str) -> str:
    """An id of the same shape (and length) as ``response_id`` that no one created."""
    return response_id.split("_", 1)[0] + "_" + str(uuid.uuid4())


_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def assert_answered_alike(foreign: Any, unknown: Any, foreign_id: str, unknown_id: str) -> None:
    """Another owner's id and a never-created id get the same status, headers and body (ids aside)."""
    assert foreign.status_code == unknown.status_code >= 400
    assert sorted(foreign.headers.keys()) == sorted(unknown.headers.keys())
    assert foreign.headers["Content-Type"] == unknown.headers["Content-Type"]

    def normalised(reply: Any, response_id: str) -> str:
        return _REQUEST_ID.sub("REQUEST-ID", reply.get_data(as_text=True).replace(response_id, "ID"))

    assert normalised(foreign, foreign_id) == normalised(unknown, unknown_id)


# --- previous_response_id: both profiles, every store -------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("profile", ["gateway", "openai"])
def test_another_keys_previous_response_id_is_refused_as_an_unknown_one(
    store_url: str, profile: str, stream: bool
) -> None:
    client = mock(store_url, profile)
    created = create(client, KEY_A)
    theirs = {**FOLLOW_UP, "previous_response_id": created["id"], "stream": stream}
    foreign = client.post("/v1/responses", json=theirs, headers=as_key(KEY_B))
    unknown_id = never_created(created["id"])
    unknown = client.post("/v1/responses", json={**theirs, "previous_response_id": unknown_id}, headers=as_key(KEY_B))
    assert foreign.status_code == 400
    assert foreign.get_json()["error"]["code"] == "previous_response_not_found"
    assert_answered_alike(foreign, unknown, created["id"], unknown_id)

    fresh = client.post("/v1/responses", json={**FOLLOW_UP, "store": False}, headers=as_key(KEY_A)).get_json()
    mine = client.post("/v1/responses", json={**theirs, "stream": False}, headers=as_key(KEY_A))
    assert mine.status_code == 200, mine.get_data(as_text=True)
    assert mine.get_json()["usage"]["input_tokens"] > fresh["usage"]["input_tokens"]  # the first turn was read


# --- GET, input_items, DELETE: where they are served, every store ------------------------------


@pytest.mark.parametrize("profile", ["openai", "gateway"])
def test_another_keys_stored_routes_answer_404_as_for_an_unknown_id(store_url: str, profile: str) -> None:
    client = mock(store_url, profile, serve_stored_routes=profile == "gateway")
    created = create(client, KEY_A)
    response_id, unknown_id = created["id"], never_created(created["id"])
    for method, suffix in (("GET", ""), ("GET", "/input_items"), ("DELETE", ""), ("GET", "")):
        foreign = client.open(f"/v1/responses/{response_id}{suffix}", method=method, headers=as_key(KEY_B))
        unknown = client.open(f"/v1/responses/{unknown_id}{suffix}", method=method, headers=as_key(KEY_B))
        assert foreign.status_code == 404, (method, suffix, foreign.get_data(as_text=True))
        assert_answered_alike(foreign, unknown, response_id, unknown_id)

    mine = client.get(f"/v1/responses/{response_id}", headers=as_key(KEY_A))
    assert mine.status_code == 200 and mine.get_json() == created  # the second key's DELETE removed nothing
    items = client.get(f"/v1/responses/{response_id}/input_items", headers=as_key(KEY_A))
    assert items.status_code == 200 and items.get_json()["data"][0]["content"][0]["text"] == FIRST["input"]
    assert client.delete(f"/v1/responses/{response_id}", headers=as_key(KEY_A)).status_code == 200
    assert client.get(f"/v1/responses/{response_id}", headers=as_key(KEY_A)).status_code == 404


# --- the lifecycle routes (openai profile): cancel, stream resume, conversations --------------------


def test_another_key_cannot_cancel_or_resume_a_response(store_url: str) -> None:
    client = mock(store_url, "openai", background_pace=(math.inf, math.inf))
    queued = create(client, KEY_A, background=True)
    streamed = client.post("/v1/responses", json={**FIRST, "stream": True}, headers=as_key(KEY_A))
    streamed_id = json.loads(streamed.get_data(as_text=True).split("data: ", 2)[1].split("\n", 1)[0])["response"]["id"]
    for path, method, response_id in (
        ("/v1/responses/{}/cancel", "POST", queued["id"]),
        ("/v1/responses/{}?stream=true&starting_after=2", "GET", streamed_id),
    ):
        unknown_id = never_created(response_id)
        foreign = client.open(path.format(response_id), method=method, headers=as_key(KEY_B))
        unknown = client.open(path.format(unknown_id), method=method, headers=as_key(KEY_B))
        assert foreign.status_code == 404, (path, foreign.get_data(as_text=True))
        assert_answered_alike(foreign, unknown, response_id, unknown_id)
    mine = client.get(f"/v1/responses/{queued['id']}", headers=as_key(KEY_A)).get_json()
    assert mine["status"] == "queued"  # the other key's cancel changed nothing
    resumed = client.get(f"/v1/responses/{streamed_id}?stream=true&starting_after=2", headers=as_key(KEY_A))
    assert resumed.status_code == 200 and '"sequence_number": 3' in resumed.get_data(as_text=True).replace(
        '"sequence_number":3', '"sequence_number": 3'
    )


def test_a_conversation_belongs_to_the_key_that_created_it(store_url: str) -> None:
    client = mock(store_url, "openai")
    made = client.post("/v1/conversations", json={"metadata": {"topic": "ada"}}, headers=as_key(KEY_A))
    assert made.status_code == 200, made.get_data(as_text=True)
    conversation_id = made.get_json()["id"]
    unknown_id = never_created(conversation_id)
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "", {"metadata": {"topic": "stolen"}}),
        ("GET", "/items", None),
        ("POST", "/items", {"items": [{"type": "message", "role": "user", "content": "hi"}]}),
        ("DELETE", "", None),
    ):
        foreign = client.open(
            f"/v1/conversations/{conversation_id}{suffix}", method=method, json=body, headers=as_key(KEY_B)
        )
        unknown = client.open(
            f"/v1/conversations/{unknown_id}{suffix}", method=method, json=body, headers=as_key(KEY_B)
        )
        assert foreign.status_code == 404, (method, suffix, foreign.get_data(as_text=True))
        assert_answered_alike(foreign, unknown, conversation_id, unknown_id)
    foreign_turn = client.post(
        "/v1/responses", json={**FOLLOW_UP, "conversation": conversation_id}, headers=as_key(KEY_B)
    )
    unknown_turn = client.post("/v1/responses", json={**FOLLOW_UP, "conversation": unknown_id}, headers=as_key(KEY_B))
    assert foreign_turn.status_code == 404
    assert_answered_alike(foreign_turn, unknown_turn, conversation_id, unknown_id)

    mine = client.get(f"/v1/conversations/{conversation_id}", headers=as_key(KEY_A))
    assert mine.status_code == 200 and mine.get_json()["metadata"] == {"topic": "ada"}
    assert client.get(f"/v1/conversations/{conversation_id}/items", headers=as_key(KEY_A)).get_json()["data"] == []
    turn = client.post("/v1/responses", json={**FOLLOW_UP, "conversation": conversation_id}, headers=as_key(KEY_A))
    assert turn.status_code == 200, turn.get_data(as_text=True)
    assert len(client.get(f"/v1/conversations/{conversation_id}/items", headers=as_key(KEY_A)).get_json()["data"]) >= 2


def test_the_key_is_never_what_the_store_holds(store_url: str) -> None:
    """Records are kept under a digest of the key: neither a record nor its key in the store holds the key."""
    store = open_store(store_url, 100)
    client = create_app(profile="openai", api_keys=[KEY_A], store=store, log_requests=False).test_client()
    created = create(client, KEY_A)
    conversation = client.post("/v1/conversations", json={}, headers=as_key(KEY_A)).get_json()
    keys = store.ids()
    assert keys == [f"{owner_of(KeySpec(KEY_A))}:{created['id']}"]
    assert store.ids(kind=CONVERSATIONS) == [f"{owner_of(KeySpec(KEY_A))}:{conversation['id']}"]
    records = [store.get(key) for key in keys] + [
        store.get(key, kind=CONVERSATIONS) for key in store.ids(kind=CONVERSATIONS)
    ]
    held = json.dumps([keys, store.ids(kind=CONVERSATIONS), records])
    assert KEY_A not in held and KEY_A.removeprefix("sk-") not in held


def test_a_sqlite_file_never_holds_the_key(tmp_path: Any) -> None:
    path = tmp_path / "store.db"
    client = mock(f"sqlite:///{path}", "openai")
    create(client, KEY_A)
    create(client, KEY_B)
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert KEY_A.encode() not in written and KEY_B.encode() not in written
    assert owner_of(KeySpec(KEY_A)).encode() in written  # the digest is what is kept


# --- who is an owner -----------------------------------------------------------------------------


def test_without_configured_keys_each_distinct_key_is_its_own_owner() -> None:
    client = create_app(profile="openai", log_requests=False).test_client()
    created = create(client, "sk-anyone-one")
    assert client.get(f"/v1/responses/{created['id']}", headers=as_key("sk-anyone-two")).status_code == 404
    # the same key, in any of the header forms the gateway accepts, is the same owner
    for header in ("Bearer sk-anyone-one", "sk-anyone-one", "bearer  sk-anyone-one "):
        assert client.get(f"/v1/responses/{created['id']}", headers={"Authorization": header}).status_code == 200


def test_keys_naming_one_project_share_their_responses(tmp_path: Any) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(
        json.dumps(
            [
                {"key": "sk-team-alice", "project": "team"},
                {"key": "sk-team-bob", "project": "team"},
                {"key": "sk-other-carol", "project": "other"},
                "sk-alone-dave",
                {"key": "sk-named-dave", "project": "sk-alone-dave"},  # a project named like a key is not that key
            ]
        )
    )
    client = create_app(profile="openai", api_keys=load_keys_file(keys_file), log_requests=False).test_client()
    alices = create(client, "sk-team-alice")
    follow_up = {**FOLLOW_UP, "previous_response_id": alices["id"]}
    assert client.get(f"/v1/responses/{alices['id']}", headers=as_key("sk-team-bob")).get_json() == alices
    assert client.post("/v1/responses", json=follow_up, headers=as_key("sk-team-bob")).status_code == 200
    for outsider in ("sk-other-carol", "sk-alone-dave", "sk-named-dave"):
        assert client.get(f"/v1/responses/{alices['id']}", headers=as_key(outsider)).status_code == 404
        assert client.post("/v1/responses", json=follow_up, headers=as_key(outsider)).status_code == 400
    daves = create(client, "sk-alone-dave")
    for outsider in ("sk-team-alice", "sk-named-dave"):
        assert client.get(f"/v1/responses/{daves['id']}", headers=as_key(outsider)).status_code == 404
    assert client.delete(f"/v1/responses/{alices['id']}", headers=as_key("sk-team-bob")).status_code == 200
    assert client.get(f"/v1/responses/{alices['id']}", headers=as_key("sk-team-alice")).status_code == 404


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"key": "sk-x", "project": ""}, r"\[0\]\.project: must be a non-empty string"),
        ({"key": "sk-x", "project": 7}, r"\[0\]\.project: must be a non-empty string"),
        ({"key": "sk-x", "projekt": "team"}, r"\[0\]\.projekt: unknown field \(known: .*project"),
    ],
)
def test_a_bad_project_in_a_keys_file_names_the_file_and_field(tmp_path: Any, entry: dict, message: str) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps([entry]))
    with pytest.raises(ConfigError, match=message) as raised:
        load_keys_file(keys_file)
    assert str(keys_file) in str(raised.value) and "sk-x" not in str(raised.value)


def test_the_admin_lists_every_owners_responses_by_their_ids() -> None:
    client = mock("memory://", "gateway")
    ids = [create(client, key)["id"] for key in (KEY_A, KEY_B)]
    listed = client.get("/__mock__/responses").get_json()
    assert [r["id"] for r in listed["data"]] == ids[::-1] and listed["total"] == 2
    assert client.get("/__mock__/health").get_json()["stored"] == 2


# --- several workers on one port ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("store", ["default", "redis"])
def test_workers_sharing_a_store_keep_the_owner(store: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    store_args = [] if store == "default" else ["--store", f"{request.getfixturevalue('redis_url')}?prefix=w{store}"]
    with mock_process(
        "--workers", "3", "--profile", "openai", "--api-key", KEY_A, "--api-key", KEY_B, *store_args, keep_lines=5000
    ) as server:
        base = server.base

        def send(method: str, path: str, key: str, body: Any = None) -> httpx.Response:
            return httpx.request(method, base + path, json=body, headers=as_key(key), timeout=20)  # a new connection

        created = [send("POST", "/v1/responses", KEY_A, FIRST).json() for _ in range(6)]
        for response in created:
            path = f"/v1/responses/{response['id']}"
            assert [send("GET", path, KEY_B).status_code for _ in range(3)] == [404] * 3
            follow_up = {**FOLLOW_UP, "previous_response_id": response["id"]}
            assert send("POST", "/v1/responses", KEY_B, follow_up).status_code == 400
            mine = send("GET", path, KEY_A)
            assert mine.status_code == 200 and mine.json() == response
        assert server.stop() == 0  # stopped: every log line the workers wrote has been read
    assert len(set(served_by(server).values())) >= 2, "every request landed on one worker"


# --- the openai SDK ----------------------------------------------------------------------------


@pytest.mark.sdk
def test_the_sdk_sees_not_found_for_another_keys_response() -> None:
    import openai

    from .servers import LiveServer

    app = create_app(profile="openai", api_keys=[KEY_A, KEY_B], log_requests=False)
    with LiveServer(app) as server:
        alice = openai.OpenAI(api_key=KEY_A, base_url=f"{server.url}/v1", max_retries=0)
        bob = openai.OpenAI(api_key=KEY_B, base_url=f"{server.url}/v1", max_retries=0)
        created = alice.responses.create(**FIRST)
        with pytest.raises(openai.NotFoundError):
            bob.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.input_items.list(created.id)
        with pytest.raises(openai.NotFoundError):
            bob.responses.delete(created.id)
        with pytest.raises(openai.BadRequestError) as refused:
            bob.responses.create(**FOLLOW_UP, previous_response_id=created.id)
        assert refused.value.code == "previous_response_not_found"
        assert alice.responses.retrieve(created.id).output_text == created.output_text
        assert alice.responses.create(**FOLLOW_UP, previous_response_id=created.id).status == "completed"
        alice.close()
        bob.close()
