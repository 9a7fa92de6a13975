"""Compaction: ``POST /v1/responses/compact`` shrinks a conversation to its user messages and one compaction item.

As the Responses API defines it (the openai SDK's ``CompactedResponse``):
the output lists every user message of the conversation, then one item of
type ``compaction`` whose ``encrypted_content`` stands for the rest (the
assistant's answers, tool calls, reasoning). OpenAI's content is opaque and
encrypted; the mock's is its own readable encoding (``mock-compaction.``
and base64 of a short summary), so that a compaction item sent back as
input is read as that summary: the conversation continues, and its tokens
count, as with OpenAI.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from schemas.behaviour import Behaviour
from schemas.endpoints import object_name

from .ids import ids_for
from .tokens import count_input_tokens, count_tokens, item_texts

PREFIX = "mock-compaction."


def encode(summary: str) -> str:
    """The ``encrypted_content`` of a compaction item that stands for ``summary``."""
    return PREFIX + base64.urlsafe_b64encode(json.dumps({"summary": summary}).encode()).decode()


def decode(content: Any) -> str:
    """The summary a compaction item stands for; empty for content the mock did not make (OpenAI's own)."""
    if not isinstance(content, str) or not content.startswith(PREFIX):
        return ""
    try:
        value = json.loads(base64.urlsafe_b64decode(content[len(PREFIX) :].encode()))
    except (ValueError, binascii.Error, RecursionError):  # not ours, or nested past what the parser can read
        return ""
    summary = value.get("summary") if isinstance(value, dict) else None
    return summary if isinstance(summary, str) else ""


def summary_of(items: list[dict[str, Any]]) -> str:
    """A short summary of what is compacted away: the assistant's answers and the tools' calls, clipped."""
    said = []
    for item in items:
        if item.get("type", "message") == "message" and item.get("role") == "user":
            continue
        text = " ".join(t for t in item_texts(item) if t).strip()
        if text:
            said.append(text if len(text) <= 200 else text[:199] + "…")
    return (
        "Earlier in this conversation: " + " | ".join(said) if said else "Earlier in this conversation: nothing else."
    )


def compacted(
    conversation: list[dict[str, Any]], behaviour: Behaviour, instructions: str | None = None
) -> dict[str, Any]:
    """The compacted response for ``conversation``: its user messages, then one compaction item, and usage."""
    from .response import usage  # the Response builder's usage, so both add up the same way

    ids = ids_for(behaviour)
    users = [
        {**item, "id": item.get("id") or ids.new("input_item")}
        for item in conversation
        if item.get("type", "message") == "message" and item.get("role") == "user"
    ]
    summary = summary_of(conversation)
    item = {"id": ids.new("compaction"), "type": "compaction", "encrypted_content": encode(summary)}
    return {
        "id": ids.new("response"),
        "object": object_name("compaction"),
        "created_at": int(time.time()),
        "output": [*users, item],
        "usage": usage(count_input_tokens(conversation, instructions), count_tokens(summary), 0, behaviour),
    }
