"""The other ``/v1`` routes with ``--proxy-to``: forwarded to the upstream as they are, so an app works through it.

``POST /v1/responses`` goes through the mock's pipeline (scenarios, faults,
then the proxy source: ``sources/proxy.py``); every other ``/v1`` request
(``GET /v1/models``, the stored-response routes, compact, conversations...)
is sent to the upstream before the mock routes it, and its answer comes back
unchanged, whatever the upstream serves (the gateway's NoRoute 404
included). Each exchange is recorded and judged like a create request's
(``upstream/tap.py``): the model list against its schema, an error against
the profile's envelope. The body is capped at the mock's ``max_body_bytes``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from ..config import MockConfig, ModelSpec
from ..failures import ApiError
from ..sources.proxy import ProxySource, Relay
from ..state import mock_state
from ..upstream.client import read_body, reply_headers
from ..upstream.tap import CREATE_PATH, exchange_name


def proxied_request(body: Any, config: MockConfig) -> tuple[dict[str, Any], ModelSpec]:
    """A create request as the proxy takes it: any JSON object, for any model (the upstream is the judge).

    Only what the sources before the proxy need is asked of it: a JSON
    object (else the profile's 400). Its model is the configured one of that
    name, or one the mock does not know, which only the upstream serves.
    """
    if not isinstance(body, dict):
        raise ApiError("invalid_json", detail="the body must be a JSON object")
    name = body.get("model")
    name = name if isinstance(name, str) else ""
    return body, config.model(name) or ModelSpec(name)


def is_forwarded(method: str, path: str) -> bool:
    """Whether a request goes straight to the upstream (every ``/v1`` route but creating a response)."""
    return (path == "/v1" or path.startswith("/v1/")) and not (method == "POST" and path == CREATE_PATH)


def register_forwarding(app: Flask) -> None:
    """Send every ``/v1`` request but ``POST /v1/responses`` to the upstream (only with ``--proxy-to``)."""

    @app.before_request
    def _forward() -> Response | None:
        if not is_forwarded(request.method, request.path):
            return None
        return forward(_proxy_source())


def forward(source: ProxySource) -> Response:
    """The upstream's answer to the current request, recorded and judged as it passes.

    The mock's own keys (``--api-key``, ``--keys-file``) are asked first, as
    for a create request: with ``MOCK_PROXY_API_KEY`` the upstream key must
    not serve whoever reaches the proxy.
    """
    state = mock_state()
    state.keys.authenticate(request.headers.get("Authorization"))
    config = state.config
    if request.content_length is not None and request.content_length > config.max_body_bytes:
        raise ApiError("payload_too_large")
    body = request.get_data(cache=True)
    request.received = body  # for /__mock__/requests
    headers = list(request.headers.items())
    source.tap.learn(request.headers.get("Authorization"))
    query = request.query_string
    method, path = request.method, request.path
    name = exchange_name(method, path, None, streamed=False)
    capture = source.tap.begin(method, path, source.upstream.request_headers(headers), body, name)
    response = source.upstream.open(method, path, query, headers, body)
    if capture is not None:
        capture.answered(response.status_code, response.headers.multi_items())
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        relay = Relay(source, {}, response, capture, method=method, path=path)
        streamed = Response(relay.blocks(), status=response.status_code, headers=reply_headers(response))
        streamed.call_on_close(relay.close)
        return streamed
    data = read_body(response)
    if capture is not None:
        capture.add(data)
        capture.complete = True
    source.tap.finish(capture)
    source.tap.judge(method, path, None, response.status_code, body=data, request_id=source.request_id(response))
    return Response(data, status=response.status_code, headers=reply_headers(response))


def _proxy_source() -> ProxySource:
    return next(s for s in mock_state().sources if isinstance(s, ProxySource))
