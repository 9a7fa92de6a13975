"""``GET /openapi.json``: an OpenAPI 3.1 document of what the mock serves.

Built from the schemas (bundled, so it is self-contained), for tools such as
Schemathesis, Prism or Postman. OpenAPI 3.1 schema objects are JSON Schema
2020-12, so the bundled schemas go in unchanged. The gateway profile's schemas
are used in both profiles: they are open where OpenAI's shape adds fields, and
the derived openai schemas are recursive, which a bundle cannot inline.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

import schemas
from schemas.behaviour import behaviour

openapi_blueprint = Blueprint("openapi", __name__)


@openapi_blueprint.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(document(current_app.config["MOCK"].profile))


@functools.cache
def document(profile: str) -> dict[str, Any]:
    statuses = sorted({f.status for f in behaviour(profile).failures.values()})

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

    id_param = {"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}
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
            "/v1/responses/{response_id}": {
                "parameters": [id_param],
                "get": {"operationId": "getResponse", "responses": ok("Response")},
                "delete": {"operationId": "deleteResponse", "responses": ok("DeletedResponse")},
            },
            "/v1/responses/{response_id}/input_items": {
                "parameters": [id_param],
                "get": {
                    "operationId": "listInputItems",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                        },
                        {"name": "order", "in": "query", "schema": {"enum": ["asc", "desc"], "default": "desc"}},
                        {"name": "after", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": ok("InputItemList"),
                },
            },
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
            },
        },
    }
