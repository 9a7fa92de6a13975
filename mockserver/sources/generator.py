"""The generator: the last source, which answers every request with a Response it makes.

It resolves the turn (the conversation so far through
``previous_response_id``, plus this request's input), picks the random
generator the seed and the request's meaning fix, and has ``reply/`` build
the finished Response. Scenarios reuse it for their fixed text and output
(``reply(request, text=...)``), so those get ids, usage, reasoning, storing
and streaming exactly as a generated reply does.
"""

from __future__ import annotations

from typing import Any

from schemas.behaviour import behaviour

from ..config import MockConfig
from ..failures import ApiError
from ..failures import printable as clip
from ..reply import ResponseReply
from ..reply.response import Turn, build_response, normalise_input
from ..reply.text import seeded_rng
from ..state.owners import owned
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
        return ResponseReply(
            response,
            self.behaviour,
            streamed=request.streamed,
            record={"input_items": turn.input_items, "conversation": turn.conversation} if stored else None,
            chunk_seed=seed,
            reasoning_family=self.config.reasoning_stream,
        )

    def turn(self, request: CreateRequest) -> Turn:
        """The conversation so far (via ``previous_response_id``) plus this request's input.

        Only the caller's own responses continue (``state/owners.py``): another
        key's id is refused exactly as an unknown one.
        """
        body = request.body
        input_items = normalise_input(body["input"], self.behaviour.id_prefixes["input_item"])
        history: list[dict[str, Any]] = []
        previous_id = body.get("previous_response_id")
        if previous_id:
            record = owned(self.store, previous_id, request.owner)
            if record is None:
                raise ApiError("previous_response_not_found", param="previous_response_id", id=clip(previous_id))
            history = list(record["conversation"])
        return Turn(request=body, model=request.model, input_items=input_items, conversation=history + input_items)
