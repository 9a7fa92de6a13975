"""``GET /openapi.json``: an OpenAPI 3.1 document of what this mock serves.

Built from the schemas (bundled, so it is self-contained), for tools such as
Schemathesis, Prism or Postman. OpenAPI 3.1 schema objects are JSON Schema
2020-12, so the bundled schemas go in unchanged. The gateway profile's schemas
are used in both profiles: they are open where OpenAI's shape adds fields, and
the derived openai schemas are recursive, which a bundle cannot inline.

It documents the routes this app serves (compact in both profiles, the
stored-response routes, cancel, input token counting and the Conversations
API only where they are served; the Conversations API's shapes are bundled
from the openai profile, which has them) and every status it can send: each failure of the
profile (``schemas/profiles.json``), the mock's own 400 for a bad
``X-Mock-Fault``, the statuses waitress answers malformed HTTP with, and the
statuses of canned answers (scenario errors, recordings).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Response, jsonify

import schemas
from schemas.behaviour import behaviour
from schemas.endpoints import conversation_items_query, input_items_query, retrieve_query

from ..state import MockState, mock_state

openapi_blueprint = Blueprint("openapi", __name__)

#: Statuses the server answers itself before the app sees the request (``serve/server.py``): malformed
#: HTTP, a body past its limit, headers past theirs, a transfer encoding it does not implement.
SERVER_STATUSES = (400, 413, 431, 501)
#: The mock's own answer to a bad ``X-Mock-Fault`` (``failures.MockError``).
MOCK_ERROR_STATUS = 400


@openapi_blueprint.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI document of this app."""
    state = mock_state()
    config = state.config
    return jsonify(
        document(config.profile, config.serves_stored_routes, canned_statuses(state), config.serves_lifecycle_routes)
    )


def canned_statuses(state: MockState) -> frozenset[int]:
    """The statuses this app's scenario files and recordings answer with."""
    from ..sources.replay import ReplaySource
    from ..sources.scenarios import ErrorReply, ScenarioSource

    found: set[int] = set()
    for source in state.sources:
        if isinstance(source, ScenarioSource):
            found.update(s.reply.status for s in source.scenarios if isinstance(s.reply, ErrorReply))
        elif isinstance(source, ReplaySource):
            found.update(source.statuses())
    return frozenset(found)


def error_statuses(profile: str, extra: frozenset[int] = frozenset()) -> list[int]:
    """Every error status the app can send in ``profile``, ``extra`` (canned answers) included."""
    failures = {f.status for f in behaviour(profile).failures.values()}
    return sorted(failures | set(SERVER_STATUSES) | {MOCK_ERROR_STATUS} | {s for s in extra if s != 200})


@functools.cache
def document(
    profile: str, stored_routes: bool = True, extra: frozenset[int] = frozenset(), lifecycle_routes: bool = False
) -> dict[str, Any]:
    """The document for ``profile``; ``stored_routes``, ``lifecycle_routes``: whether those routes are served."""
    statuses = error_statuses(profile, extra)

    def errors() -> dict[str, Any]:
        return {str(s): {"$ref": "#/components/responses/Error"} for s in statuses}

    def ok(schema: str, *, stream: bool = False) -> dict[str, Any]:
        content: dict[str, Any] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
        if stream:
            content["text/event-stream"] = {
                "schema": {
                    "type": "string",
                    "description": "Server-sent events; each data line is a ResponseStreamEvent",
                }
            }
        return {"200": {"description": "OK", "content": content}, **errors()}

    def body(schema: str) -> dict[str, Any]:
        return {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }

    def query(rules: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"name": name, "in": "query", "schema": rule} for name, rule in rules.items()]

    id_param = {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}
    conversation_param = {"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"}}
    item_param = {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}}
    stored_paths = {
        "/v1/responses/{response_id}": {
            "parameters": [id_param],
            "get": {
                "operationId": "getResponse",
                "parameters": query(retrieve_query()),
                "responses": ok("Response", stream=True),
            },
            "delete": {"operationId": "deleteResponse", "responses": ok("DeletedResponse")},
        },
        "/v1/responses/{response_id}/input_items": {
            "parameters": [id_param],
            "get": {
                "operationId": "listInputItems",
                "parameters": query(input_items_query()),
                "responses": ok("InputItemList"),
            },
        },
    }
    lifecycle_paths = {
        "/v1/responses/{response_id}/cancel": {
            "parameters": [id_param],
            "post": {"operationId": "cancelResponse", "responses": ok("Response")},
        },
        "/v1/responses/input_tokens": {
            "post": {
                "operationId": "countInputTokens",
                "requestBody": body("InputTokensRequest"),
                "responses": ok("InputTokens"),
            }
        },
        "/v1/conversations": {
            "post": {
                "operationId": "createConversation",
                "requestBody": body("ConversationRequest"),
                "responses": ok("Conversation"),
            }
        },
        "/v1/conversations/{conversation_id}": {
            "parameters": [conversation_param],
            "get": {"operationId": "getConversation", "responses": ok("Conversation")},
            "post": {
                "operationId": "updateConversation",
                "requestBody": body("ConversationUpdate"),
                "responses": ok("Conversation"),
            },
            "delete": {"operationId": "deleteConversation", "responses": ok("DeletedConversation")},
        },
        "/v1/conversations/{conversation_id}/items": {
            "parameters": [conversation_param],
            "get": {
                "operationId": "listConversationItems",
                "parameters": query(conversation_items_query()),
                "responses": ok("InputItemList"),
            },
            "post": {
                "operationId": "createConversationItems",
                "requestBody": body("ConversationItems"),
                "responses": ok("InputItemList"),
            },
        },
        "/v1/conversations/{conversation_id}/items/{item_id}": {
            "parameters": [conversation_param, item_param],
            "get": {"operationId": "getConversationItem", "responses": ok("InputItem")},
            "delete": {"operationId": "deleteConversationItem", "responses": ok("Conversation")},
        },
    }
    input_item = schemas.bundle("input_item", "gateway")
    items = {"type": "array", "maxItems": 20, "items": input_item}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Mock /v1/responses ({profile} profile)", "version": "0.1.0"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"bareKey": []}],
        "paths": {
            "/v1/responses": {
                "post": {
                    "operationId": "createResponse",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateResponse"}}},
                    },
                    "responses": ok("Response", stream=True),
                }
            },
            "/v1/responses/compact": {
                "post": {
                    "operationId": "compactResponse",
                    "requestBody": body("CompactRequest"),
                    "responses": ok("CompactedResponse"),
                }
            },
            **(stored_paths if stored_routes else {}),
            **(lifecycle_paths if lifecycle_routes else {}),
            "/v1/models": {"get": {"operationId": "listModels", "responses": ok("ModelList")}},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "bareKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The gateway's documented form: the key without 'Bearer'",
                },
            },
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
            "schemas": {
                "CreateResponse": schemas.bundle("request", "gateway"),
                "Response": schemas.bundle("response", "gateway"),
                "DeletedResponse": schemas.bundle("deleted", "gateway"),
                "InputItemList": schemas.bundle("input_items_list", "gateway"),
                "ModelList": schemas.bundle("model_list", "gateway"),
                "Error": schemas.bundle("error", "gateway"),
                "CompactRequest": schemas.bundle("compact_request", "gateway"),
                "CompactedResponse": schemas.bundle("compacted_response", "gateway"),
                **(
                    {
                        "InputItem": input_item,
                        "InputTokensRequest": {
                            "type": "object",
                            "properties": {
                                "model": {"type": "string"},
                                "input": {"anyOf": [{"type": "string"}, {"type": "array", "items": input_item}]},
                            },
                        },
                        "InputTokens": schemas.bundle("input_tokens", "openai"),
                        "Conversation": schemas.bundle("conversation", "openai"),
                        "DeletedConversation": schemas.bundle("conversation_deleted", "openai"),
                        "ConversationRequest": {
                            "type": "object",
                            "properties": {"items": items, "metadata": {"type": ["object", "null"]}},
                        },
                        "ConversationUpdate": schemas.bundle("conversation_update_request", "openai"),
                        "ConversationItems": {"type": "object", "required": ["items"], "properties": {"items": items}},
                    }
                    if lifecycle_routes
                    else {}
                ),
            },
        },
    }
