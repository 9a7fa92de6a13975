"""Every error leaves the mock in the profile's error envelope.

Code raises ``ApiError(failure_name, ...)``; the handler renders it with
``schemas.behaviour`` (status, type, code, param, message per profile), so no
view decides a status code on its own. Werkzeug's HTTP errors (404 route,
405 method, 413 body) and anything unexpected are mapped the same way: never
an HTML page, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from schemas.behaviour import behaviour

log = logging.getLogger("mockserver")


class ApiError(Exception):
    """A failure of the kind ``name`` in ``profiles.json`` (e.g. ``invalid_key``)."""

    def __init__(self, name: str, *, param: str | None = None, headers: dict[str, str] | None = None, **values: Any):
        super().__init__(name)
        self.name = name
        self.param = param
        self.headers = headers or {}
        self.values = values


def error_response(
    name: str, *, param: str | None = None, headers: dict[str, str] | None = None, **values: Any
) -> Response:
    """The JSON error reply for failure ``name`` in the app's profile."""
    profile = behaviour(current_app.config["MOCK"].profile)
    status, body = profile.error_body(name, request_id=request_id(), param=param, **values)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def request_id() -> str:
    return getattr(g, "request_id", "") or "-"


def printable(text: str, limit: int = 128) -> str:
    """Client-supplied text safe to echo in a message: bounded, control characters (CR, LF, ...) as ``?``."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return cleaned + ("…" if len(text) > limit else "")


_HTTP_FAILURES = {
    404: "route_not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.name, param=error.param, headers=error.headers, **error.values)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        from flask import request

        name = _HTTP_FAILURES.get(error.code or 500, "invalid_json" if (error.code or 500) < 500 else "server_error")
        response = error_response(name, detail=f"{request.method} {printable(request.path)}")
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error while serving the request")
        return error_response("server_error")
