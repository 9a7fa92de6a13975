"""Every error leaves the mock in the profile's error envelope (or, for unrouted gateway paths, new-api's NoRoute).

Code raises ``ApiError(failure_name, ...)`` (``failures.py``); the handler
renders it with ``schemas.behaviour`` (status, type, code, param, message per
profile), so no view decides a status code on its own. Werkzeug's HTTP errors
(404 route, 405 method, 413 body) and anything unexpected are mapped the same
way: never an HTML page, never a traceback. In the gateway profile, a ``/v1``
path the gateway does not route gets new-api's NoRoute 404 byte for byte
(``schemas/endpoints.json``), before any key is looked at. A bad
``X-Mock-Fault`` (``MockError``) is a 400 in the mock's own words.

Each error reply carries what it refused (``ErrorReply.failure``), so the
request log line and ``/__mock__/requests`` can say why.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from schemas.behaviour import behaviour
from schemas.endpoints import no_route_answer

from ..failures import ApiError, MockError, printable

log = logging.getLogger("mockserver")


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: the failure's name, the error code the client got, and the parameter."""

    name: str
    code: str | None
    param: str | None


class ErrorReply(Response):
    """A JSON error reply that knows what it refused (``failure``), for the log line and the admin view."""

    failure: Refusal | None = None


def error_response(
    name: str, *, param: str | None = None, headers: dict[str, str] | None = None, **values: Any
) -> ErrorReply:
    """The JSON error reply for failure ``name`` in the app's profile."""
    profile = behaviour(current_app.config["MOCK"].profile)
    status, body = profile.error_body(name, request_id=request_id(), param=param, **values)
    response = _json_reply(status, body)
    response.failure = Refusal(name, body["error"].get("code"), param)
    response.headers.update(headers or {})
    return response


def mock_error_response(error: MockError) -> ErrorReply:
    """A 400 in the mock's own words (not the upstream's): ``type: mock_error``, the ``param`` named."""
    return mock_reply(400, error.message, error.code, error.param)


def mock_reply(status: int, message: str, code: str, param: str | None = None) -> ErrorReply:
    """An error in the mock's own words (``type: mock_error``): about the mock itself, not the API it mocks."""
    body = {"error": {"message": message, "type": "mock_error", "param": param, "code": code}}
    response = _json_reply(status, body)
    response.failure = Refusal("mock_error", code, param)
    return response


def no_route_response(profile: str) -> ErrorReply | None:
    """The profile's answer to an unrouted ``/v1`` path (new-api's NoRoute 404), or None when it has none."""
    answer = no_route_answer(profile)
    if answer is None or not (request.path == "/v1" or request.path.startswith("/v1/")):
        return None
    response = ErrorReply(answer.body(request.method, printable(request.path, 2048)), status=answer.status)
    response.headers["Content-Type"] = answer.content_type
    response.failure = Refusal("no_route", answer.error.get("code"), None)
    return response


def _json_reply(status: int, body: dict[str, Any]) -> ErrorReply:
    data = current_app.json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n"
    return ErrorReply(data, status=status, mimetype="application/json")


def request_id() -> str:
    """The id of the request being served (also in the profile's request-id header)."""
    return getattr(request, "request_id", "") or "-"


_HTTP_FAILURES = {
    404: "route_not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def register_error_handlers(app: Flask) -> None:
    """Render ``ApiError``, ``MockError``, werkzeug's HTTP errors and anything unexpected as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.name, param=error.param, headers=error.headers, **error.values)

    @app.errorhandler(MockError)
    def _mock_error(error: MockError) -> Response:
        return mock_error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = error.code or 500
        config = current_app.config["MOCK"]
        if code == 404 or (code == 405 and not config.serves_stored_path(request.path)):  # a stored route keeps 405
            unrouted = no_route_response(config.profile)
            if unrouted is not None:
                return unrouted
        name = _HTTP_FAILURES.get(code, "invalid_json" if code < 500 else "server_error")
        response = error_response(name, detail=f"{request.method} {printable(request.path)}")
        if code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error while serving the request")
        return error_response("server_error")


def refusal_of(response: Response) -> Refusal | None:
    """Why ``response`` refused its request: an ``ErrorReply``'s failure, or a canned error's ``error`` object."""
    if isinstance(response, ErrorReply):
        return response.failure
    if response.status_code < 400 or response.is_streamed:
        return None
    error = _error_object(response)
    return Refusal("canned", error.get("code"), error.get("param")) if error is not None else None


def error_object(response: Response) -> dict[str, Any] | None:
    """The ``error`` object a (non-streamed) error reply sent, when its body has one."""
    if response.status_code < 400 or response.is_streamed:
        return None
    return _error_object(response)


def _error_object(response: Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.get_data())
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None
