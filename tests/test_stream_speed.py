"""The streamed path's shortcuts send what the plain way sends, byte for byte.

Each shortcut (issue 16, streaming) replaces a slower call on the per-event
path; these tests compare it with the call it replaced, so a shortcut that
drifts fails here rather than as a changed stream.
"""

from __future__ import annotations

import random

import pytest

from mockserver.config import Pacing
from mockserver.delivery.pacer import event_chunks
from mockserver.delivery.sse import encode_event
from mockserver.delivery.timing import _EVENT_LINE, _SEQUENCE, timed
from mockserver.jsontext import EncodedJSON, dumps_compact
from mockserver.reply.events import _PIECES, split_text

TEXTS = [
    "Hello there, how are you doing today? I am fine, thank you.",
    "你好！我是通义千问，由阿里云开发的大语言模型。",
    "mixed 中文 and English, with    spaces\nand lines",
    "x",
    '{"city": "Paris", "unit": "celsius"}',
]


def _split_with_randint(text: str, rng: random.Random) -> list[str]:
    """``split_text`` as it was written before: the number of pieces drawn with ``rng.randint(1, 3)``."""
    pieces = _PIECES.findall(text)
    if "".join(pieces) != text:
        pieces = list(text)
    chunks, index = [], 0
    while index < len(pieces):
        take = rng.randint(1, 3)
        chunks.append("".join(pieces[index : index + take]))
        index += take
    return chunks


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 2**40 + 3])
def test_split_text_cuts_as_randint_did_and_leaves_the_generator_where_it_did(seed: int) -> None:
    fast, slow = random.Random(seed), random.Random(seed)
    for text in TEXTS * 3:  # several texts in a row from one generator, as a stream's chunker does
        assert split_text(text, fast) == _split_with_randint(text, slow)
    assert fast.random() == slow.random()


def _plain_encoding(event: dict) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + dumps_compact(event) + b"\n\n"


@pytest.mark.parametrize(
    "event",
    [
        {"type": "response.output_text.delta", "sequence_number": 3, "delta": "你好 \u2028 </script>", "logprobs": []},
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "top_p": 1.0, "x": None}},
        {"type": "response.completed", "sequence_number": 9, "response": EncodedJSON(b'{"id":"resp_1"}')},
        {"type": "error", "sequence_number": 2, "code": "x", "big": 2**70},
        {"type": "response.output_text.done", "sequence_number": 5, "small": 1e-7, "emoji": "😀"},
    ],
)
def test_encode_event_writes_what_dumps_compact_writes(event: dict) -> None:
    assert encode_event(event) == _plain_encoding(event)


def test_event_chunks_without_waits_are_the_events_encoded_with_no_wait() -> None:
    events = [
        {"type": "response.created", "sequence_number": 0},
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": "a"},
    ]
    for pacing in (Pacing(), Pacing(jitter=0.5)):
        chunks = list(event_chunks(iter(events), delay=0.0, pacing=pacing, seed=1))
        assert [chunk.data for chunk in chunks] == [_plain_encoding(event) for event in events]
        assert [(chunk.wait, chunk.event) for chunk in chunks] == [(0.0, True), (0.0, True)]
    paced = list(event_chunks(iter(events), delay=0.25, pacing=Pacing(), seed=1))
    assert [chunk.wait for chunk in paced] == [0.0, 0.25]  # a delay still applies


def _noted_slowly(chunk: bytes) -> tuple[str, int | None] | None:
    """What the timing log noted for a chunk before the shortcut: the ``event:`` line and the first number."""
    event = _EVENT_LINE.search(chunk)
    if event is None:
        return None
    number = _SEQUENCE.search(chunk)
    return event.group(1).decode("utf-8", "replace").strip(), int(number.group(1)) if number else None


ODD_BLOCKS = [
    b": PING\n\n",
    b"id: 7\nevent: response.created\ndata: {}\n\n",
    b'event: response.created\r\ndata: {"type":"response.created","sequence_number":4}\r\n\r\n',
    b'event:   spaced.type  \ndata: {"sequence_number": 12}\n\n',
    b'event: Upper.Case\ndata: {"type":"Upper.Case","sequence_number":5}\n\n',
    b'event: x\ndata: {"type":"x","sequence_number":null,"y":{"sequence_number":8}}\n\n',
    b'event: x\ndata: {"type":"a\\"b","sequence_number":3}\n\n',
    b'event: x9\ndata: {"type":"x9","sequence_number":31}\n\n',
    b"data: {}\n\n",
    b"event: \ndata: {}\n\n",
]


def test_the_timing_log_notes_what_it_noted_before(client) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
    bodies = [
        {"model": "qwen3.6-plus", "input": "你好", "stream": True},
        {"model": "qwen3.6-plus", "input": "weather?", "stream": True, "tools": [tool], "tool_choice": "required"},
    ]
    blocks = list(ODD_BLOCKS)
    for body in bodies:
        sent = client.post("/v1/responses", json=body).get_data()
        blocks += [part + b"\n\n" for part in sent.split(b"\n\n") if part]
    assert len(blocks) > 40
    noted: list[list[dict]] = []
    assert list(timed(blocks, lambda sent, ending: noted.append(sent.events()))) == blocks
    expected = [seen for seen in map(_noted_slowly, blocks) if seen is not None]
    assert [(event["type"], event["sequence_number"]) for event in noted[0]] == expected


def test_a_streamed_create_reads_the_server_seed_once(monkeypatch) -> None:
    """The seed the reply's text was cut with also paces its events: one store read, not one per use."""
    from mockserver import create_app
    from mockserver.state.store import SEED_VALUE

    app = create_app(log_requests=False, jitter=0.001)
    store = app.extensions["mock"].store
    reads: list[str] = []
    get_value = store.get_value

    def counted(name, *args, **kwargs):
        reads.append(name)
        return get_value(name, *args, **kwargs)

    monkeypatch.setattr(store, "get_value", counted)
    body = {"model": "qwen3.6-plus", "input": "你好", "stream": True}
    sent = app.test_client().post("/v1/responses", json=body, headers={"Authorization": "Bearer sk-a"}).get_data()
    assert b"response.completed" in sent
    assert reads.count(SEED_VALUE) == 1


def test_a_streamed_requests_entry_is_kept_once_its_first_event_is_out() -> None:
    """The recent-requests entry of a stream is a store write: not before the first event, but never lost."""
    from mockserver.http.app import after_first_chunk

    calls: list[str] = []
    chunks = after_first_chunk(iter([b"a", b"b"]), lambda: calls.append("kept"))
    assert next(chunks) == b"a" and calls == []  # the first chunk goes out first
    assert next(chunks) == b"b" and calls == ["kept"]
    assert list(chunks) == [] and calls == ["kept"]

    closed: list[str] = []

    def source():
        try:
            yield b"first"
            yield b"second"
        finally:
            closed.append("closed")

    unread = after_first_chunk(source(), lambda: calls.append("kept unread"))
    next(unread)
    unread.close()  # the client left before asking for more
    assert calls[-1] == "kept unread" and closed == ["closed"]
    never_started = after_first_chunk(iter([]), lambda: calls.append("kept empty"))
    assert list(never_started) == [] and calls[-1] == "kept empty"


def test_a_store_that_fails_to_keep_the_entry_does_not_cut_the_stream(caplog, monkeypatch) -> None:
    from mockserver import create_app

    app = create_app(log_requests=False)
    state = app.extensions["mock"]

    def broken(entry):
        raise OSError("disk full")

    monkeypatch.setattr(state, "remember", broken)
    body = {"model": "qwen3.6-plus", "input": "你好", "stream": True}
    sent = app.test_client().post("/v1/responses", json=body, headers={"Authorization": "Bearer sk-a"}).get_data()
    assert b"event: response.completed" in sent  # the whole stream went out
    assert "could not keep POST /v1/responses in the recent requests: disk full" in caplog.text
