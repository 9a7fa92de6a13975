"""The app factory: ``create_app(config)`` or ``create_app(profile="openai", seed=1)``."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from schemas.behaviour import behaviour

from .config import MockConfig
from .errors import register_error_handlers
from .routes import api
from .state import MockState
from .store import Store

log = logging.getLogger("mockserver")


def create_app(config: MockConfig | None = None, *, store: Store | None = None, **overrides: Any) -> Flask:
    """A mock gateway app. Keyword overrides are ``MockConfig`` fields (validated)."""
    config = config or MockConfig()
    if overrides:
        config = config.with_changes(**overrides)
    app = Flask("mockserver")
    app.config["MOCK"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.ensure_ascii = False  # UTF-8 stays UTF-8 on the wire, as the gateway sends it
    app.json.sort_keys = config.profile == "gateway"  # the documented reply has its keys sorted
    app.extensions["mock"] = MockState.for_config(config, store)
    register_error_handlers(app)
    app.register_blueprint(api)
    _register_request_hooks(app, config)
    from .openapi import openapi_blueprint

    app.register_blueprint(openapi_blueprint)
    return app


def _register_request_hooks(app: Flask, config: MockConfig) -> None:
    header = behaviour(config.profile).request_id_header

    @app.before_request
    def _start() -> None:
        g.request_id = uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[header] = g.get("request_id", "-")
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        state: MockState = app.extensions["mock"]
        state.remember({"method": request.method, "path": request.path, "status": response.status_code, "request_id": g.get("request_id"), "ms": round(elapsed_ms, 2)})
        if config.log_requests:
            # one line per request; headers (and so the key) are never logged
            log.info('%s %s %s %s %.1fms%s', request.method, request.path, response.status_code, g.get("request_id"), elapsed_ms, " (stream)" if response.is_streamed else "")
        return response
