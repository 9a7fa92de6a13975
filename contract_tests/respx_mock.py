"""Route an application's HTTP calls for a base URL to the mock, in-process: no server, no sockets.

For testing apps built on the ``openai`` SDK::

    with route_to_mock("https://gateway.example/v1") as gateway:
        client = OpenAI(base_url=gateway.base_url, api_key=gateway.api_key)
        client.responses.create(model="qwen3.6-plus", input="你好")

(or the ``mock_gateway`` pytest fixture, which also sets ``OPENAI_BASE_URL``
and ``OPENAI_API_KEY``). openai 2.x sends through ``httpx``, which respx
patches directly; openai 3.x sends through ``httpx2``/``httpcore2``, which
respx patches only with a mocker for httpcore2: respx's httpcore mocker
pointed at httpcore2's connection classes (the few lines pytest-httpx2
uses), defined here only when httpcore2 is importable. Sync and async
clients both work; a streamed reply is handed over event by event as the
mock produces it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import respx
from respx.mocks import HTTPCoreMocker

DEFAULT_BASE_URL = "https://mock-gateway.invalid/v1"
DEFAULT_KEY = "sk-mock-gateway"


def _httpcore2_mocker() -> str | None:
    """Register respx's mocker for httpcore2 (openai 3.x) if httpcore2 is installed; its name or None."""
    try:
        import httpcore2  # noqa: F401
    except ImportError:
        return None
    from respx.mocks import Mocker

    if "httpcore2" not in Mocker.registry:

        class HTTPCore2Mocker(HTTPCoreMocker):
            """respx's httpcore mocker, pointed at httpcore2's connection classes."""

            name = "httpcore2"
            targets = [  # respx reads a class-level list
                "httpcore2._sync.connection.HTTPConnection",
                "httpcore2._sync.connection_pool.ConnectionPool",
                "httpcore2._sync.http_proxy.HTTPProxy",
                "httpcore2._async.connection.AsyncHTTPConnection",
                "httpcore2._async.connection_pool.AsyncConnectionPool",
                "httpcore2._async.http_proxy.AsyncHTTPProxy",
            ]

    return "httpcore2"


@functools.cache
def _dropped_connection_error() -> type[Exception]:
    """A cut connection as every HTTP layer in play knows it.

    Depending on where the mocked transport reads the body, the client sees
    the exception as raised or mapped by its httpx flavour from its httpcore's
    ``RemoteProtocolError``. One class deriving from all of them makes a
    fault that drops the connection (``X-Mock-Fault: drop-after=N``) reach
    the client as a real dropped connection does, whichever SDK major runs.
    """
    import importlib

    bases: list[type[Exception]] = []
    for module in ("httpx", "httpcore", "httpx2", "httpcore2"):
        try:
            bases.append(importlib.import_module(module).RemoteProtocolError)
        except ImportError:
            continue
    return type("DroppedConnection", tuple(bases), {})


class _AppBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The app's response body, read lazily by sync and async clients alike (streams stay streams)."""

    def __init__(self, response: Any):
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        from mockserver import ConnectionDropped

        try:
            yield from self._response.iter_encoded()
        except ConnectionDropped as exc:
            raise _dropped_connection_error()(
                f"peer closed connection without sending complete message body ({exc})"
            ) from None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def close(self) -> None:
        self._response.close()

    async def aclose(self) -> None:
        self._response.close()


def wsgi_side_effect(app: Any, base_path: str, app_prefix: str = "/v1") -> Any:
    """A respx side effect answering through ``app`` (any WSGI app) with werkzeug's test client.

    ``base_path`` (the base URL's path, e.g. ``/v1`` or ``/api/v1``) is
    replaced by ``app_prefix``, where the mock serves its routes.
    """
    from werkzeug.test import Client

    client = Client(app)

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if base_path and path.startswith(base_path):
            path = app_prefix + path[len(base_path) :]
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
        reply = client.open(
            path,
            method=request.method,
            query_string=request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query,
            data=request.content,
            headers=headers,
            buffered=False,
        )
        kept = [(k, v) for k, v in reply.headers.items() if k.lower() not in ("transfer-encoding",)]
        return httpx.Response(reply.status_code, headers=kept, stream=_AppBody(reply))

    return handle


@dataclass
class MockGateway:
    """The mock behind a base URL: where it is, a key it accepts, the app, and the calls made."""

    base_url: str
    api_key: str
    app: Any
    routers: list[respx.MockRouter]

    @property
    def calls(self) -> list[Any]:
        """Every intercepted call (respx ``Call``: ``.request``, ``.response``), over httpx and httpx2."""
        return [call for router in self.routers for call in router.calls]

    @property
    def state(self) -> Any:
        """The mock's state (store, keys, recent requests), for assertions."""
        return self.app.extensions["mock"]


@contextlib.contextmanager
def route_to_mock(base_url: str = DEFAULT_BASE_URL, app: Any = None, **config: Any) -> Iterator[MockGateway]:
    """While active, requests under ``base_url`` from httpx and httpx2 clients are served by the mock.

    ``app``: a WSGI app to route to (default: ``mockserver.create_app(**config)``,
    e.g. ``profile="openai"``, ``seed=3``, ``api_keys=["sk-test"]``). Requests
    to other URLs raise (respx ``AllMockedAssertionError``) instead of
    reaching the network.
    """
    if app is None:
        from mockserver import create_app

        app = create_app(**{"log_requests": False, **config})
    keys = config.get("api_keys") or ()
    first_key = keys[0] if keys else DEFAULT_KEY
    api_key = first_key if isinstance(first_key, str) else getattr(first_key, "key", None) or first_key["key"]
    base = base_url.rstrip("/")
    handler = wsgi_side_effect(app, httpx.URL(base).path.rstrip("/"))
    mockers = ["httpx"] + ([name] if (name := _httpcore2_mocker()) else [])
    with contextlib.ExitStack() as stack:
        routers = []
        for using in mockers:
            router = stack.enter_context(respx.mock(using=using, assert_all_called=False, assert_all_mocked=True))
            router.route(url__startswith=base).mock(side_effect=handler)
            routers.append(router)
        yield MockGateway(base_url=base, api_key=api_key, app=app, routers=routers)
