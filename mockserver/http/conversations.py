"""The Conversations API (openai profile): a conversation and its items, kept in the store.

- ``POST   /v1/conversations``                          create (``items``, ``metadata``)
- ``GET    /v1/conversations/{id}``                     retrieve
- ``POST   /v1/conversations/{id}``                     update its ``metadata``
- ``DELETE /v1/conversations/{id}``                     delete
- ``GET    /v1/conversations/{id}/items``               a page of its items (``limit``, ``order``, ``after``)
- ``POST   /v1/conversations/{id}/items``               add items
- ``GET    /v1/conversations/{id}/items/{item_id}``     one item
- ``DELETE /v1/conversations/{id}/items/{item_id}``     remove an item (answers the conversation)

``POST /v1/responses`` with ``conversation`` reads its items as the history
and adds the turn's input and output to it (``delivery/``). The shapes are
the openai SDK's (``schemas/openai/conversation*.schema.json``); records
live in the store (kind ``CONVERSATIONS``), so every worker sharing it sees
them, and every read goes through ``state.records.stored_conversation``
with the caller's owner (``state/owners.py``): another key's conversation
answers exactly like an unknown id.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from schemas.endpoints import conversation_items_query, object_name

from ..failures import ApiError
from ..failures import printable as clip
from ..reply.ids import ids_for
from ..reply.response import normalise_input
from ..state import MockState, mock_state, records
from ..state.owners import delete_owned, put_owned, update_owned
from ..state.store import CONVERSATIONS
from .checks import check_body
from .pages import listed, page_of
from .routes import caller, read_body

conversations_api = Blueprint("conversations_api", __name__)


@conversations_api.post("/v1/conversations")
def create_conversation() -> Response:
    """A new conversation, with the items and metadata given."""
    state, owner = _caller()
    body = check_body(
        read_body(state) if request.content_length else {}, "conversation_create_request", _profile(state)
    )
    ids = ids_for(state.behaviour)
    conversation = {
        "id": ids.new("conversation"),
        "object": object_name("conversation"),
        "created_at": int(time.time()),
        "metadata": body.get("metadata") or {},
    }
    items = normalise_input(body.get("items") or [], ids)
    put_owned(
        state.store, conversation["id"], {"conversation": conversation, "items": items}, owner, kind=CONVERSATIONS
    )
    return jsonify(conversation)


@conversations_api.get("/v1/conversations/<conversation_id>")
def retrieve_conversation(conversation_id: str) -> Response:
    """The conversation object."""
    state, owner = _caller()
    return jsonify(records.stored_conversation(state.store, conversation_id, owner)["conversation"])


@conversations_api.post("/v1/conversations/<conversation_id>")
def update_conversation(conversation_id: str) -> Response:
    """Replace the conversation's metadata."""
    state, owner = _caller()
    records.stored_conversation(state.store, conversation_id, owner)
    body = check_body(read_body(state), "conversation_update_request", _profile(state))

    def change(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "conversation": {**record["conversation"], "metadata": body.get("metadata") or {}}}

    return jsonify(_changed(state, owner, conversation_id, change)["conversation"])


@conversations_api.delete("/v1/conversations/<conversation_id>")
def delete_conversation(conversation_id: str) -> Response:
    """Forget the conversation and its items."""
    state, owner = _caller()
    if not delete_owned(state.store, conversation_id, owner, kind=CONVERSATIONS):
        raise records.conversation_not_found(conversation_id)
    return jsonify({"id": conversation_id, "object": object_name("conversation_deleted"), "deleted": True})


@conversations_api.get("/v1/conversations/<conversation_id>/items")
def list_items(conversation_id: str) -> Response:
    """A page of the conversation's items (``schemas/endpoints.json``, ``conversation_items_query``)."""
    state, owner = _caller()
    record = records.stored_conversation(state.store, conversation_id, owner)
    return jsonify(page_of(record["items"], request, conversation_items_query(), "conversation"))


@conversations_api.post("/v1/conversations/<conversation_id>/items")
def add_items(conversation_id: str) -> Response:
    """Add items to the conversation; answers the items added, as a list."""
    state, owner = _caller()
    records.stored_conversation(state.store, conversation_id, owner)
    body = check_body(read_body(state), "conversation_items_request", _profile(state))
    added = normalise_input(body["items"], ids_for(state.behaviour))
    _changed(state, owner, conversation_id, lambda record: {**record, "items": record["items"] + added})
    return jsonify(listed(added))


@conversations_api.get("/v1/conversations/<conversation_id>/items/<item_id>")
def retrieve_item(conversation_id: str, item_id: str) -> Response:
    """One item of the conversation."""
    state, owner = _caller()
    record = records.stored_conversation(state.store, conversation_id, owner)
    for item in record["items"]:
        if item.get("id") == item_id:
            return jsonify(item)
    raise ApiError("item_not_found", param="item_id", id=clip(item_id))


@conversations_api.delete("/v1/conversations/<conversation_id>/items/<item_id>")
def delete_item(conversation_id: str, item_id: str) -> Response:
    """Remove one item; answers the conversation."""
    state, owner = _caller()

    def change(record: dict[str, Any]) -> dict[str, Any]:
        kept = [item for item in record["items"] if item.get("id") != item_id]
        if len(kept) == len(record["items"]):
            raise ApiError("item_not_found", param="item_id", id=clip(item_id))
        return {**record, "items": kept}

    return jsonify(_changed(state, owner, conversation_id, change)["conversation"])


def _caller() -> tuple[MockState, str]:
    """The mock's state and the owner of the caller's key (401 without a valid key)."""
    state = mock_state()
    return state, caller(state)


def _profile(state: MockState) -> str:
    return state.config.profile


def _changed(state: MockState, owner: str, conversation_id: str, change: Any) -> dict[str, Any]:
    """``owner``'s conversation record after ``change`` (atomic); ``conversation_not_found`` when it went meanwhile."""
    record = update_owned(state.store, conversation_id, change, owner, kind=CONVERSATIONS)
    if record is None:
        raise records.conversation_not_found(conversation_id)
    return record
