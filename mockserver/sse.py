"""Server-sent events: the stream derived from a finished Response.

The reply is built first; its events are then cut from it, so the deltas
always reassemble into the final text and the terminal event carries exactly
the reply that ``GET /v1/responses/{id}`` returns. Each event is written as
``event:`` and ``data:`` lines and a blank line, with no ``[DONE]`` (the
Responses API ends with its terminal event).
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

Chunker = Callable[[str], list[str]]

#: Terminal event per final status.
TERMINAL_EVENTS = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}

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
    index = 0
    while index < len(pieces):
        take = rng.randint(1, 3)
        chunks.append("".join(pieces[index : index + take]))
        index += take
    return chunks


def response_events(
    response: dict[str, Any], *, reasoning_family: str = "summary", chunker: Chunker | None = None
) -> Iterator[dict[str, Any]]:
    """Every event of the stream for ``response``, numbered from 0."""
    chunker = chunker or (lambda text: split_text(text, random.Random(0)))
    events = _lifecycle_start(response)
    for index, item in enumerate(response["output"]):
        events.extend(_item_events(item, index, reasoning_family, chunker))
    events.append({"type": TERMINAL_EVENTS.get(response["status"], "response.completed"), "response": response})
    for number, event in enumerate(events):
        yield {"type": event.pop("type"), "sequence_number": number, **event}


def _lifecycle_start(response: dict[str, Any]) -> list[dict[str, Any]]:
    pending = {k: v for k, v in response.items() if k not in ("usage", "completed_at")}
    pending.update(status="in_progress", output=[])
    return [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": copy.deepcopy(pending)},
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
    else:
        added, body = item, []
    return [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *body,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _reasoning_events(item: dict[str, Any], index: int, family: str, chunker: Chunker) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    where = {"item_id": item["id"], "output_index": index}
    for summary_index, part in enumerate(item.get("summary", [])):
        text = part["text"]
        if family == "text":  # DashScope: reasoning_text events, no content_index
            events += [{"type": "response.reasoning_text.delta", **where, "delta": d} for d in chunker(text)]
            events.append({"type": "response.reasoning_text.done", **where, "text": text})
            continue
        at = {**where, "summary_index": summary_index}
        events.append(
            {"type": "response.reasoning_summary_part.added", **at, "part": {"type": "summary_text", "text": ""}}
        )
        events += [{"type": "response.reasoning_summary_text.delta", **at, "delta": d} for d in chunker(text)]
        events.append({"type": "response.reasoning_summary_text.done", **at, "text": text})
        events.append({"type": "response.reasoning_summary_part.done", **at, "part": part})
    return events


def _message_events(item: dict[str, Any], index: int, chunker: Chunker) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for content_index, part in enumerate(item["content"]):
        at = {"item_id": item["id"], "output_index": index, "content_index": content_index}
        if part["type"] != "output_text":
            events.append({"type": "response.content_part.added", **at, "part": part})
            events.append({"type": "response.content_part.done", **at, "part": part})
            continue
        empty = {**part, "text": ""}
        events.append({"type": "response.content_part.added", **at, "part": empty})
        events += [
            {"type": "response.output_text.delta", **at, "delta": d, "logprobs": []} for d in chunker(part["text"])
        ]
        events.append({"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []})
        events.append({"type": "response.content_part.done", **at, "part": part})
    return events


def _function_call_events(item: dict[str, Any], index: int, chunker: Chunker) -> list[dict[str, Any]]:
    at = {"item_id": item.get("id", item["call_id"]), "output_index": index}
    events = [{"type": "response.function_call_arguments.delta", **at, "delta": d} for d in chunker(item["arguments"])]
    events.append(
        {"type": "response.function_call_arguments.done", **at, "name": item["name"], "arguments": item["arguments"]}
    )
    return events


def encode_event(event: dict[str, Any]) -> bytes:
    """One event on the wire: ``event:`` line, one-line JSON ``data:``, blank line."""
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def encode_comment(text: str) -> bytes:
    """A comment line (``: PING``), which clients skip: the gateway's keep-alive."""
    return f": {text}\n\n".encode()


def error_event(code: str, message: str, sequence_number: int) -> dict[str, Any]:
    """An ``error`` event, as the API sends when a stream fails midway."""
    return {"type": "error", "sequence_number": sequence_number, "code": code, "message": message, "param": None}
