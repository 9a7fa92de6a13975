"""Recording: exchanges land on disk as readable files, and no key ever does."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.__main__ import main
from contract_tests.record import REDACTED, Recorder, Redactor, load_requests, record_target
from schemas.recording import block_type, load_exchanges, split_blocks

from .conftest import FIXTURES
from .servers import mock_process

KEY = "sk-RecKey7Qw9Zx3Lp5Vn8Kd2Hs6Jt1Mb4Gc0FyTu"
REQUESTS = FIXTURES / "recordings" / "requests.json"


@contextlib.contextmanager
def running_mock(*args: str, key: str = KEY) -> Iterator[str]:
    """``python -m mockserver`` with ``key`` as its one key, on a port it picks; yields its base URL, stops it after."""
    with mock_process("--api-key", key, "--quiet", *args) as server:
        yield f"{server.base}/v1"


def key_fragments(key: str) -> list[str]:
    """The key, its body without ``sk-``, and every 10-character run of it."""
    body = key.removeprefix("sk-")
    return [key, body, *(body[i : i + 10] for i in range(len(body) - 9))]


def assert_no_key(folder: Path, key: str) -> int:
    """Every byte of every file in ``folder``: no key and no part of it. Returns the bytes checked."""
    checked = 0
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            checked += len(data)
            for fragment in key_fragments(key):
                assert fragment.encode() not in data, f"{path.name} holds {fragment!r}"
    assert checked
    return checked


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The subprocess mock (started with a distinctive key), recorded with the committed request list."""
    out = tmp_path_factory.mktemp("recorded")
    with running_mock() as url:
        record_target(url, KEY, out, load_requests([REQUESTS]))
    return out


def test_recording_the_mock_writes_readable_files_without_the_key(recorded):
    names = sorted(p.name for p in recorded.iterdir())
    assert "001-documented.json" in names and "002-documented-stream.sse" in names and "index.json" in names
    assert assert_no_key(recorded, KEY) > 10_000
    exchanges = load_exchanges(recorded)
    assert len(exchanges) == 9  # documented, function_tool, reasoning_off, capped: plain + stream; unknown_model: plain
    for exchange in exchanges:
        data = exchange.data
        assert data["request"]["method"] == "POST" and data["request"]["path"] == "/v1/responses"
        assert data["request"]["headers"]["authorization"] == REDACTED
        assert data["timing"]["total_ms"] >= data["timing"]["ttfb_ms"] > 0
        assert "x-oneapi-request-id" in exchange.headers and "date" not in exchange.headers
        assert data["complete"] is True
        if exchange.is_stream:
            blocks = split_blocks(exchange.sse)
            events = data["stream"]["events"]
            assert [e["type"] for e in events] == [block_type(b) for b in blocks]
            assert events[0]["type"] == "response.created" and events[-1]["type"] in (
                "response.completed",
                "response.incomplete",
            )
            offsets = [e["offset_ms"] for e in events]
            assert offsets == sorted(offsets)
        else:
            assert isinstance(exchange.body, dict)
    statuses = {e.path.name: e.status for e in exchanges}
    assert statuses["009-unknown_model.json"] == 503


def test_record_command_reads_the_key_from_the_environment(tmp_path, monkeypatch, capsys):
    key = "sk-EnvKey4Rt8Yu2Io6Pa1Sd5Fg9Hj3Kl7Zx0CvBn"
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps({"short": {"model": "qwen-turbo", "input": "hi"}}))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("CONTRACT_API_KEY", key)
    with running_mock(key=key) as url:
        code = main(
            [
                "record",
                "--base-url",
                url.removesuffix("/v1"),
                "--out",
                str(tmp_path / "out"),
                "--requests",
                str(requests),
                "--no-documented",
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "001-short.json  200" in printed and "002-short-stream.json  200" in printed
    assert_no_key(tmp_path / "out", key)


def echoing_target(key: str) -> httpx.MockTransport:
    """A target that leaks the key everywhere it could: body, headers, cookies, escaped, in pieces."""

    def handler(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        body = {
            "error": {"message": f"invalid token {sent}; key {key[:14]}…{key[-12:]}", "escaped": json.dumps(key)},
            "echo": request.headers.get("x-api-key"),
        }
        headers = {
            "set-cookie": f"session={key}",
            "x-request-id": "req-1",
            "x-ratelimit-remaining-requests": "9",
            "x-echo": key,
        }
        return httpx.Response(401, json=body, headers=headers)

    return httpx.MockTransport(handler)


def test_a_key_echoed_by_the_target_is_redacted_everywhere(tmp_path):
    recorder = Recorder(tmp_path, secrets=[KEY], base_url=f"https://user:{KEY}@gateway.invalid/v1?key={KEY}")
    with httpx.Client(transport=recorder.transport(echoing_target(KEY))) as client:
        client.post(
            "https://gateway.invalid/v1/responses",
            json={"model": "m", "input": KEY},
            headers={"Authorization": KEY, "x-api-key": KEY, "Cookie": f"k={KEY}"},
        )
    assert_no_key(tmp_path, KEY)
    data = json.loads((tmp_path / "001-responses.json").read_text())
    assert data["request"]["headers"]["x-api-key"] == REDACTED and data["request"]["headers"]["cookie"] == REDACTED
    assert data["response"]["headers"] == {
        "content-type": "application/json",
        "x-request-id": "req-1",
        "x-ratelimit-remaining-requests": "9",
    }
    assert data["request"]["body"]["input"] == REDACTED
    assert json.loads((tmp_path / "index.json").read_text())["target"] == "https://gateway.invalid/v1"


def test_a_key_nobody_declared_is_learnt_from_the_authorization_header(tmp_path):
    recorder = Recorder(tmp_path)  # not told about the key
    with httpx.Client(transport=recorder.transport(echoing_target(KEY))) as client:
        client.post("https://gateway.invalid/v1/responses", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert_no_key(tmp_path, KEY)


def test_redactor_handles_prefixes_escapes_and_fragments():
    redactor = Redactor([f"Bearer {KEY}"])
    body = KEY.removeprefix("sk-")
    text = f"a {KEY} b {body} c {body[5:25]} d {body[:9]} e"
    out = redactor.text(text)
    assert out == f"a {REDACTED} b {REDACTED} c {REDACTED} d {body[:9]} e"  # 9 characters are not a secret
    assert Redactor(["abc"]).text("the abc of it") == "the abc of it"  # too short to be a key: only whole values
    assert Redactor(["abc"]).text('{"k": "abc"}') == f'{{"k": "{REDACTED}"}}'


@pytest.mark.parametrize("key", ["sk-x", "x"])
def test_recording_with_a_short_key_changes_no_body_text(tmp_path, key):
    """A short key is redacted where it stands (headers, whole values), never inside text: no 'te[REDACTED]t'."""
    from mockserver import create_app

    app = create_app(seed=2, api_keys=[key], log_requests=False)
    written = record_target(
        "http://mock.invalid/v1", key, tmp_path, load_requests([]), transport=httpx.WSGITransport(app=app)
    )
    plain = json.loads(written[0].read_text(encoding="utf-8"))
    assert plain["request"]["headers"]["authorization"] == REDACTED
    text = json.dumps(plain["response"]["body"], ensure_ascii=False)
    assert REDACTED not in text and "x_details" in text and plain["response"]["body"]["object"] == "response"
    stream = (tmp_path / json.loads(written[1].read_text(encoding="utf-8"))["stream"]["file"]).read_text()
    assert REDACTED not in stream and "x_details" in stream


def test_the_recorder_names_exchanges_and_continues_numbering(tmp_path):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    for _ in range(2):
        recorder = Recorder(tmp_path)
        with httpx.Client(transport=recorder.transport(transport)) as client:
            client.post("http://t.invalid/v1/responses", json={}, extensions={"record_name": "my test[1]"})
    assert sorted(p.name for p in tmp_path.glob("0*.json")) == ["001-my-test-1.json", "002-my-test-1.json"]


def test_request_lists_come_from_files_objects_and_folders(tmp_path):
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"name": "a", "body": {"model": "m", "input": "x"}, "modes": ["stream"]}]))
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"b": {"model": "m", "input": "y"}}))
    specs = load_requests([listed, mapping, FIXTURES / "requests" / "valid"])
    assert [s.name for s in specs[:3]] == ["documented", "a", "b"]
    assert specs[1].modes == ("stream",) and specs[2].modes == ("plain", "stream")
    assert "string_input" in [s.name for s in specs]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"body": {}}]))
    with pytest.raises(ValueError, match=r"broken.json: \[0\]: each request needs a 'name'"):
        load_requests([broken])


def test_the_committed_recordings_hold_no_secret_and_match_the_documented_reply():
    for folder in ("mock", "documented"):
        for path in (FIXTURES / "recordings" / folder).iterdir():
            assert not re.search(r"sk-[A-Za-z0-9]{16,}", path.read_text(encoding="utf-8")), path
        for exchange in load_exchanges(FIXTURES / "recordings" / folder):
            assert exchange.data["request"]["headers"].get("authorization", REDACTED) == REDACTED
    documented = load_exchanges(FIXTURES / "recordings" / "documented")
    assert [e.body for e in documented] == [json.loads((FIXTURES / "documented_response.json").read_text())]
    assert documented[0].request_body == json.loads((FIXTURES / "documented_request.json").read_text())


def test_the_openai_sdk_records_through_the_transport(tmp_path):
    """How the contract suite records (``--record DIR``): its client's transport is the recorder's."""
    openai = pytest.importorskip("openai")
    if not openai.__version__.startswith("2."):
        pytest.skip("openai 3.x sends through httpx2, not httpx")
    from mockserver import create_app

    app = create_app(seed=3, api_keys=[KEY], log_requests=False)
    recorder = Recorder(tmp_path, secrets=[KEY])
    http_client = httpx.Client(transport=recorder.transport(httpx.WSGITransport(app=app)))
    client = openai.OpenAI(base_url="http://mock.invalid/v1", api_key=KEY, http_client=http_client, max_retries=0)
    reply = client.responses.create(model="qwen3.6-plus", input="你好", extra_headers={"X-Trace": KEY})
    with client.responses.stream(model="qwen3.6-plus", input="你好") as stream:
        final = stream.get_final_response()
    assert reply.output_text and final.output_text
    plain, streamed = load_exchanges(tmp_path)
    assert plain.body["id"] == reply.id and streamed.is_stream and not plain.is_stream
    assert plain.data["request"]["headers"]["x-trace"] == REDACTED
    assert_no_key(tmp_path, KEY)
