"""How a finished Response streams: its events, derived from it.

The reply is built first; its events are then cut from it, so the deltas
always reassemble into the final text and the terminal event carries exactly
the reply that ``GET /v1/responses/{id}`` returns. Event types come from
``schemas.events``; writing events on the wire is delivery's job
(``delivery/sse.py``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from typing import Any

from schemas import events as ev
from schemas.stream import TERMINAL

Chunker = Callable[[str], list[str]]

_PIECES = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]|\s*\S+?(?=\s|$|[\u3400-\u9fff])|\s+")


def split_text(text: str, rng: random.Random) -> list[str]:
    """Deltas the way a model streams them: a word or 1-3 CJK characters at a time.

    Works on ``str``, so a character is never split; chunks are never empty
    and join back into ``text``.
    """
    pieces = _PIECES.findall(text)
    if "".join(pieces) != text:  # anything the pattern did not cover: fall back to characters
        pieces = list(text)
    chunks: list[str] = []
    draw = rng.getrandbits
    index = 0
    while index < len(pieces):
        take = draw(2)  # 1-3 pieces, drawn as rng.randint(1, 3) draws them (at a third of its cost)
        while take == 3:
            take = draw(2)
        take += 1
        chunks.append("".join(pieces[index : index + take]))
        index += take
    return chunks


def seeded_chunker(seed: int) -> Chunker:
    """Deltas cut by a generator fixed by ``seed``: the same reply streams the same way every time."""
    rng = random.Random(seed)
    return lambda text: split_text(text, rng)


def failed_event(response: dict[str, Any], sequence_number: int) -> dict[str, Any]:
    """The terminal event of a stream that ends with the failed ``response``."""
    return {"type": ev.FAILED, "sequence_number": sequence_number, "response": response}


def done_items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The output items that ``events`` finished (their ``output_item.done`` events), in order."""
    return [e["item"] for e in events if e.get("type") == ev.OUTPUT_ITEM_DONE and isinstance(e.get("item"), dict)]


def is_terminal(event: dict[str, Any]) -> bool:
    """Whether ``event`` ends a stream (completed, incomplete, failed or ``error``)."""
    return event.get("type") in TERMINAL


def response_events(
    response: dict[str, Any], *, reasoning_family: str = "summary", chunker: Chunker | None = None
) -> Iterator[dict[str, Any]]:
    """Every event of the stream for ``response``, numbered from 0.

    Cut as they are asked for, one output item at a time, so a stream sends
    its first event without waiting for the rest to be built; the chunker is
    still called in the same order, so the events are the same either way.
    """
    chunker = chunker or seeded_chunker(0)
    for number, event in enumerate(_unnumbered_events(response, reasoning_family, chunker)):
        yield {"type": event.pop("type"), "sequence_number": number, **event}


def _unnumbered_events(response: dict[str, Any], family: str, chunker: Chunker) -> Iterator[dict[str, Any]]:
    """The stream's events in order, before numbering: lifecycle start, each item's events, the terminal event."""
    yield from _lifecycle_start(response)
    for index, item in enumerate(response["output"]):
        yield from _item_events(item, index, family, chunker)
    yield {"type": ev.TERMINAL_BY_STATUS.get(response["status"], ev.COMPLETED), "response": response}


def _lifecycle_start(response: dict[str, Any]) -> list[dict[str, Any]]:
    """``response.created`` and ``response.in_progress``; a background response is created ``queued`` (OpenAI).

    Each snapshot is a dict of its own; their nested values are the Response's
    own, as the terminal event's are: events are encoded, never changed, so a
    deep copy per stream would buy nothing.
    """
    pending = {k: v for k, v in response.items() if k not in ("usage", "completed_at")}
    pending.update(status="in_progress", output=[])
    created = {**pending, "status": "queued"} if response.get("background") else pending
    return [
        {"type": ev.CREATED, "response": created},
        {"type": ev.IN_PROGRESS, "response": dict(pending)},
    ]


def _item_events(item: dict[str, Any], index: int, family: str, chunker: Chunker) -> list[dict[str, Any]]:
    kind = item["type"]
    if kind == "reasoning":
        added = {**item, "summary": []}
        body = _reasoning_events(item, index, family, chunker)
    elif kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        body = _message_events(item, index, chunker)
    elif kind == "function_call":
        added = {**item, "status": "in_progress", "arguments": ""}
        body = _function_call_events(item, index, chunker)
    elif kind == "web_search_call":
        added = {"id": item["id"], "type": kind, "status": "in_progress"}
        searching = (ev.WEB_SEARCH_CALL_IN_PROGRESS, ev.WEB_SEARCH_CALL_SEARCHING, ev.WEB_SEARCH_CALL_COMPLETED)
        body = _progress_events(item, index, searching)
    elif kind == "code_interpreter_call":
        added = {**item, "status": "in_progress", "code": "", "outputs": None}
        body = _code_events(item, index, chunker)
    else:
        added, body = item, []
    return [
        {"type": ev.OUTPUT_ITEM_ADDED, "output_index": index, "item": added},
        *body,
        {"type": ev.OUTPUT_ITEM_DONE, "output_index": index, "item": item},
    ]


def _reasoning_events(item: dict[str, Any], index: int, family: str, chunker: Chunker) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    where = {"item_id": item["id"], "output_index": index}
    for summary_index, part in enumerate(item.get("summary", [])):
        text = part["text"]
        if family == "text":  # DashScope: reasoning_text events, no content_index
            events += [{"type": ev.REASONING_TEXT_DELTA, **where, "delta": d} for d in chunker(text)]
            events.append({"type": ev.REASONING_TEXT_DONE, **where, "text": text})
            continue
        at = {**where, "summary_index": summary_index}
        events.append({"type": ev.REASONING_SUMMARY_PART_ADDED, **at, "part": {"type": "summary_text", "text": ""}})
        events += [{"type": ev.REASONING_SUMMARY_TEXT_DELTA, **at, "delta": d} for d in chunker(text)]
        events.append({"type": ev.REASONING_SUMMARY_TEXT_DONE, **at, "text": text})
        events.append({"type": ev.REASONING_SUMMARY_PART_DONE, **at, "part": part})
    return events


def _message_events(item: dict[str, Any], index: int, chunker: Chunker) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for content_index, part in enumerate(item["content"]):
        at = {"item_id": item["id"], "output_index": index, "content_index": content_index}
        if part["type"] != "output_text":
            events.append({"type": ev.CONTENT_PART_ADDED, **at, "part": part})
            events.append({"type": ev.CONTENT_PART_DONE, **at, "part": part})
            continue
        empty = {**part, "text": ""}
        events.append({"type": ev.CONTENT_PART_ADDED, **at, "part": empty})
        events += [{"type": ev.OUTPUT_TEXT_DELTA, **at, "delta": d, "logprobs": []} for d in chunker(part["text"])]
        events.append({"type": ev.OUTPUT_TEXT_DONE, **at, "text": part["text"], "logprobs": part.get("logprobs") or []})
        events.append({"type": ev.CONTENT_PART_DONE, **at, "part": part})
    return events


def _function_call_events(item: dict[str, Any], index: int, chunker: Chunker) -> list[dict[str, Any]]:
    at = {"item_id": item.get("id", item["call_id"]), "output_index": index}
    events = [{"type": ev.FUNCTION_CALL_ARGUMENTS_DELTA, **at, "delta": d} for d in chunker(item["arguments"])]
    events.append({"type": ev.FUNCTION_CALL_ARGUMENTS_DONE, **at, "name": item["name"], "arguments": item["arguments"]})
    return events


def _progress_events(item: dict[str, Any], index: int, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """A built-in tool call's progress events (in progress, searching, interpreting, completed)."""
    return [{"type": kind, "output_index": index, "item_id": item["id"]} for kind in kinds]


def _code_events(item: dict[str, Any], index: int, chunker: Chunker) -> list[dict[str, Any]]:
    """A code interpreter call: in progress, its code as deltas and done, interpreting, completed."""
    at = {"item_id": item["id"], "output_index": index}
    code = item.get("code") or ""
    return [
        *_progress_events(item, index, (ev.CODE_INTERPRETER_CALL_IN_PROGRESS,)),
        *({"type": ev.CODE_INTERPRETER_CALL_CODE_DELTA, **at, "delta": d} for d in chunker(code)),
        {"type": ev.CODE_INTERPRETER_CALL_CODE_DONE, **at, "code": code},
        *_progress_events(item, index, (ev.CODE_INTERPRETER_CALL_INTERPRETING, ev.CODE_INTERPRETER_CALL_COMPLETED)),
    ]


def error_event(code: str, message: str, sequence_number: int) -> dict[str, Any]:
    """An ``error`` event, as the API sends when a stream fails midway."""
    return {"type": ev.ERROR, "sequence_number": sequence_number, "code": code, "message": message, "param": None}
