"""Servers that break one rule of the stateful lifecycle each, for proving the suite's lifecycle checks catch it.

Each is the mock in the openai profile with one route answering wrong (an
``after_request`` hook), used as ``--contract-app tests.broken_lifecycle:<factory>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from flask import Flask, Response, request

from mockserver import create_app


def _mock(api_keys: Iterable[str]) -> Flask:
    return create_app(profile="openai", api_keys=list(api_keys), log_requests=False, background_pace=(0.05, 0.3))


def cancel_does_nothing(profile: str = "openai", api_keys: Iterable[str] = ()) -> Flask:
    """``POST .../cancel`` answers the response as it is, never cancelled."""
    app = _mock(api_keys)

    @app.before_request
    def _ignore() -> Response | None:
        if request.method == "POST" and request.path.endswith("/cancel"):
            response_id = request.path.split("/")[-2]
            with app.test_client() as client:
                current = client.get(f"/v1/responses/{response_id}", headers=dict(request.headers))
            return Response(current.get_data(), status=current.status_code, mimetype="application/json")
        return None

    return app


def resume_starts_over(profile: str = "openai", api_keys: Iterable[str] = ()) -> Flask:
    """``GET /responses/{id}?stream=true&starting_after=N`` sends the whole stream again."""
    app = _mock(api_keys)

    @app.before_request
    def _restart() -> Response | None:
        if request.method == "GET" and request.args.get("starting_after"):
            with app.test_client() as client:
                whole = client.get(f"{request.path}?stream=true", headers=dict(request.headers))
            return Response(whole.get_data(), status=200, mimetype="text/event-stream")
        return None

    return app


def _answering(api_keys: Iterable[str], method: str, suffix: str, body: dict) -> Flask:
    """The mock, its 200 answers to ``method`` paths ending in ``suffix`` replaced by ``body``."""
    app = _mock(api_keys)

    @app.after_request
    def _replace(response: Response) -> Response:
        if request.method == method and request.path.endswith(suffix) and response.status_code == 200:
            response.set_data(json.dumps(body))
        return response

    return app


def counts_no_tokens(profile: str = "openai", api_keys: Iterable[str] = ()) -> Flask:
    """``POST /responses/input_tokens`` answers 0 (a count no reply would charge)."""
    return _answering(api_keys, "POST", "/input_tokens", {"object": "response.input_tokens", "input_tokens": 0})


def conversation_forgets(profile: str = "openai", api_keys: Iterable[str] = ()) -> Flask:
    """A conversation's item list is always empty."""
    empty = {"object": "list", "data": [], "has_more": False, "first_id": None, "last_id": None}
    return _answering(api_keys, "GET", "/items", empty)
