"""The app factory: ``create_app(config)`` or ``create_app(profile="openai", seed=1)``."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request

from schemas.behaviour import behaviour

from .admin import PREFIX as ADMIN_PREFIX
from .admin import admin
from .config import MockConfig
from .errors import register_error_handlers
from .faults import DROPPED_CONNECTION_FILTER
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
    state = app.extensions["mock"] = MockState.for_config(config, store)
    if config.scenarios_dir is not None:
        from .scenarios import ScenarioResponder

        state.responders.append(ScenarioResponder.from_folder(config.scenarios_dir, config))
    register_error_handlers(app)
    # An injected dropped connection (faults.py) is an exception waitress would log with a traceback.
    logging.getLogger("waitress").addFilter(DROPPED_CONNECTION_FILTER)
    app.register_blueprint(api)
    _register_request_hooks(app, config)
    from .openapi import openapi_blueprint

    app.register_blueprint(openapi_blueprint)
    app.register_blueprint(admin)
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
        if not request.path.startswith(ADMIN_PREFIX):  # the admin's own calls would crowd out the API's
            state.remember(recent_entry(response, elapsed_ms))
        if config.log_requests:
            # one line per request; headers (and so the key) are never logged
            log.info(
                "%s %s %s %s %.1fms%s",
                request.method,
                request.path,
                response.status_code,
                g.get("request_id"),
                elapsed_ms,
                " (stream)" if response.is_streamed else "",
            )
        return response


#: Request bodies up to this size are kept in the recent-requests list (``/__mock__/requests``);
#: larger ones are left out, so 200 entries stay small.
RECENT_BODY_LIMIT = 64 * 1024


def recent_entry(response: Response, elapsed_ms: float) -> dict[str, Any]:
    """What ``/__mock__/requests`` shows of one request: never its headers (the key is in them)."""
    entry = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "request_id": g.get("request_id"),
        "ms": round(elapsed_ms, 2),
    }
    body = g.get("request_body")
    if body is not None and (request.content_length or 0) <= RECENT_BODY_LIMIT:
        entry["body"] = body
    return entry
