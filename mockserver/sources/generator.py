"""The generator: the last source, which answers every request with a Response it makes.

It resolves the turn (the conversation so far through ``previous_response_id``
or a ``conversation``, plus this request's input, compaction items read as the
summary they stand for), picks the random generator the seed and the
request's meaning fix, and has ``reply/`` build the finished Response.
Scenarios reuse it for their fixed text and output (``reply(request,
text=...)``), so those get ids, usage, reasoning, storing and streaming
exactly as a generated reply does.
"""

from __future__ import annotations

from typing import Any

from schemas.behaviour import behaviour

from ..config import MockConfig
from ..failures import ApiError
from ..reply import ResponseReply
from ..reply import compaction as compactions
from ..reply.ids import ids_for
from ..reply.response import Turn, build_response, normalise_input
from ..reply.text import seeded_rng
from ..state import records
from ..state.store import Store, read_seed
from . import CreateRequest, Source


class GeneratorSource(Source):
    """Answers every create request with a generated Response (``reply/``)."""

    def __init__(self, config: MockConfig, store: Store):
        self.config = config
        self.store = store
        self.behaviour = behaviour(config.profile)

    def answer(self, request: CreateRequest) -> ResponseReply:
        """A generated reply: never None, so it goes last."""
        return self.reply(request)

    def reply(
        self, request: CreateRequest, *, text: str | None = None, output: list[dict[str, Any]] | None = None
    ) -> ResponseReply:
        """The reply to ``request``; ``text`` or ``output`` fix what it says (a scenario's answer)."""
        body = request.body
        turn = self.turn(request)
        seed = read_seed(self.store, self.config.seed)
        response = build_response(
            turn, self.behaviour, seeded_rng(seed, body, turn.conversation), text=text, output=output
        )
        stored = body.get("store", True) is not False
        conversation_id = self.conversation_id(body)
        return ResponseReply(
            response,
            self.behaviour,
            streamed=request.streamed,
            record={"input_items": turn.input_items, "conversation": turn.conversation} if stored else None,
            chunk_seed=seed,
            reasoning_family=self.config.reasoning_stream,
            background=bool(response.get("background")),
            conversation_id=conversation_id,
            conversation_input=tuple(turn.input_items) if conversation_id else (),
        )

    def conversation_id(self, body: dict[str, Any]) -> str | None:
        """The conversation the request continues (``conversation``: an id or ``{"id"}``) where the profile has them."""
        if not self.config.serves_lifecycle_routes:
            return None  # the gateway: an unknown parameter, ignored
        value = body.get("conversation")
        if isinstance(value, dict):
            value = value.get("id")
        return value if isinstance(value, str) and value else None

    def turn(self, request: CreateRequest) -> Turn:
        """The conversation so far (via ``previous_response_id`` or ``conversation``) plus this request's input."""
        body = request.body
        input_items = normalise_input(body["input"], ids_for(self.behaviour))
        return Turn(
            request=body,
            model=request.model,
            input_items=input_items,
            conversation=self.history(request) + read_compactions(input_items),
        )

    def history(self, request: CreateRequest) -> list[dict[str, Any]]:
        """The turns before this one: a stored response's, or a conversation's items.

        Only the caller's own records continue (``state/owners.py``): another
        key's id is refused exactly as an unknown one.
        """
        body = request.body
        previous_id = body.get("previous_response_id")
        conversation_id = self.conversation_id(body)
        if previous_id and conversation_id:
            raise ApiError(
                "invalid_request",
                param="conversation",
                detail="mutually exclusive parameters: give previous_response_id or conversation, not both",
            )
        if previous_id:
            record = records.stored_response(
                self.store, previous_id, request.owner, missing="previous_response_not_found"
            )
            return read_compactions(records.history(record))
        if conversation_id:
            record = records.stored_conversation(self.store, conversation_id, request.owner, param="conversation")
            return read_compactions(record["items"])
        return []


def read_compactions(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``items`` with each compaction item read as what it stands for: the summary, as an assistant message."""
    if not any(item.get("type") == "compaction" for item in items):
        return items
    return [
        {"type": "message", "role": "assistant", "content": compactions.decode(item.get("encrypted_content"))}
        if item.get("type") == "compaction"
        else item
        for item in items
    ]
