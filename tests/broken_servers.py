"""Servers that break the contract one way each, for proving the contract suite catches it.

Each factory is the real mock with exactly one rule broken (by an
``after_request`` hook or a WSGI wrapper), so every other rule still holds
and the suite's failure names the broken one. Used as
``pytest --pyargs contract_tests --contract-app tests.broken_servers:<factory>``;
the suite calls a factory with the run's ``profile`` and ``api_keys``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from mockserver import create_app


def _mock(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    return create_app(profile=profile, api_keys=list(api_keys), log_requests=False, serve_stored_routes=True)


def _edit_replies(edit: Callable[[dict[str, Any]], None], profile: str, api_keys: Iterable[str]) -> Flask:
    """The mock, with ``edit`` applied to every plain 200 reply of ``POST /v1/responses``."""
    app = _mock(profile, api_keys)

    @app.after_request
    def _edit(response: Response) -> Response:
        if request.method == "POST" and response.status_code == 200 and not response.is_streamed:
            body = json.loads(response.get_data())
            edit(body)
            response.set_data(json.dumps(body, ensure_ascii=False))
        return response

    return app


def _edit_streams(
    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], profile: str, api_keys: Iterable[str]
) -> Flask:
    """The mock, with ``edit`` applied to the events of every stream."""
    app = _mock(profile, api_keys)

    @app.after_request
    def _edit(response: Response) -> Response:
        if response.is_streamed:
            raw = b"".join(response.response).decode()
            events = [json.loads(block.split("data: ", 1)[1]) for block in raw.split("\n\n") if "data: " in block]
            encoded = "".join(
                f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n" for e in edit(events)
            )
            response.response = [encoded.encode()]
        return response

    return app


# --- the mock itself, in one profile whatever the suite checks ----------------------------------


def openai_profile_mock(api_keys: Iterable[str] = ()) -> Flask:
    return _mock("openai", api_keys)


def gateway_profile_mock(api_keys: Iterable[str] = ()) -> Flask:
    return _mock("gateway", api_keys)


# --- one broken rule each -----------------------------------------------------------------------


def missing_required_field(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    return _edit_replies(lambda body: body.pop("created_at"), profile, api_keys)


def wrong_type(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    return _edit_replies(lambda body: body.__setitem__("created_at", str(body["created_at"])), profile, api_keys)


def drops_total_tokens(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    return _edit_replies(lambda body: body["usage"].pop("total_tokens"), profile, api_keys)


def usage_null(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """``"usage": null`` on a completed reply: every real completed reply carries usage."""
    return _edit_replies(lambda body: body.__setitem__("usage", None), profile, api_keys)


def text_null(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """``"text": null`` in every ``output_text`` part (the suite once crashed joining such texts)."""

    def null_texts(body: dict[str, Any]) -> None:
        for item in body["output"]:
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    part["text"] = None

    return _edit_replies(null_texts, profile, api_keys)


def usage_does_not_add_up(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    return _edit_replies(
        lambda body: body["usage"].__setitem__("total_tokens", body["usage"]["total_tokens"] + 1), profile, api_keys
    )


def failed_under_200(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """Upstream rate limiting as the gateway passes it on: HTTP 200, ``status: "failed"``."""

    def fail(body: dict[str, Any]) -> None:
        body.update(
            status="failed", output=[], error={"code": "server_error", "message": "Requests rate limit exceeded"}
        )

    return _edit_replies(fail, profile, api_keys)


_CJK = re.compile("[\u4e00-\u9fff]")


def server_error_on_some_input(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """A 500 for any request with Chinese text in it (the documented request among them)."""
    app = _mock(profile, api_keys)

    @app.before_request
    def _crash() -> Any:
        if request.method == "POST" and _CJK.search(request.get_data(as_text=True) or ""):
            return Response(
                '{"error": {"message": "boom", "type": "server_error"}}', status=500, mimetype="application/json"
            )
        return None

    return app


def missing_input_is_a_500(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """What the live gateway does with a body without ``input``: HTTP 500, ``input is required``."""
    app = _mock(profile, api_keys)

    @app.after_request
    def _as_500(response: Response) -> Response:
        if request.method == "POST" and response.status_code == 400 and b"input is required" in response.get_data():
            response.status_code = 500
        return response

    return app


def accepts_invalid_requests(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    app = _mock(profile, api_keys)

    @app.after_request
    def _accept(response: Response) -> Response:
        if request.method == "POST" and response.status_code == 400:
            return Response(json.dumps({"ok": True}), status=200, mimetype="application/json")
        return response

    return app


def max_tokens_caps_the_reply(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """``max_tokens`` taken as the cap, which the gateway profile says it is not."""
    app = _mock(profile, api_keys)
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") == "POST":
            import io

            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("max_tokens"), int) and "max_output_tokens" not in body:
                body["max_output_tokens"] = max(16, body["max_tokens"])
                raw = json.dumps(body).encode()
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        return inner(environ, start_response)

    app.wsgi_app = wsgi  # type: ignore[method-assign]
    return app


def stream_with_sequence_gap(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    def gap(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in events[3:]:
            event["sequence_number"] += 1
        return events

    return _edit_streams(gap, profile, api_keys)


def stream_deltas_do_not_reassemble(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    def garble(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in events:
            if event["type"] == "response.output_text.delta":
                event["delta"] = event["delta"][::-1] + "~"
        return events

    return _edit_streams(garble, profile, api_keys)


def stream_out_of_order(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """The first text delta sent before its content part was added (renumbered: only the order breaks)."""

    def swap(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kinds = [e["type"] for e in events]
        if "response.content_part.added" in kinds and "response.output_text.delta" in kinds:
            part, delta = kinds.index("response.content_part.added"), kinds.index("response.output_text.delta")
            events[part], events[delta] = events[delta], events[part]
            for number, event in enumerate(events):
                event["sequence_number"] = number
        return events

    return _edit_streams(swap, profile, api_keys)


def does_not_store(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """Not broken: a target that keeps no responses (``GET`` after create is a 404).

    Like ``store: false`` everywhere.
    """
    from schemas.behaviour import behaviour

    app = _mock(profile, api_keys)

    @app.after_request
    def _forget(response: Response) -> Response:
        if request.method == "GET" and request.path.startswith("/v1/responses/") and response.status_code == 200:
            status, body = behaviour(profile).error_body(
                "not_found", request_id="-", id=request.path.rsplit("/", 1)[-1]
            )
            return Response(
                json.dumps(body, ensure_ascii=False),
                status=status,
                mimetype="application/json",
                headers={behaviour(profile).request_id_header: "-"},
            )
        return response

    return app


def new_api_router(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """Not broken: routes as new-api does (``schemas/endpoints.json``): NoRoute 404 for every /v1 path it does
    not serve, before authentication and with no request id."""
    from schemas.behaviour import behaviour

    app = _mock(profile, api_keys)

    @app.before_request
    def _no_route() -> Any:
        unrouted = behaviour(profile).unrouted_body(request.method, request.path)
        if request.path.startswith("/v1/") and unrouted is not None:
            status, body = unrouted
            return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
        return None

    return app


def shares_one_account(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """A gateway that serves every customer from one upstream account: any accepted key reaches the first key's
    stored responses (each accepted key is sent on as the first one, as one upstream key would be)."""
    keys = list(api_keys)
    app = _mock(profile, keys)
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        offered = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        if keys and offered in keys:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {keys[0]}"
        return inner(environ, start_response)

    app.wsgi_app = wsgi
    return app


# --- shapes a client handles: the suite must not fail them --------------------------------------


def echoes_background(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """Answers synchronously but echoes the request's ``background: true`` (an observation, never a violation)."""

    def echo(body: dict[str, Any]) -> None:
        if b'"background": true' in (request.received or b"").replace(b'":true', b'": true'):  # the body as read
            body["background"] = True

    return _edit_replies(echo, profile, api_keys)
