"""One HTTP client for the upstream gateway: what is sent, with which key, and what a failure to reach it answers.

The request goes out as the client sent it (method, path below ``/v1``,
query, body bytes, headers) except for the hop-by-hop headers, the mock's own
``X-Mock-Fault`` and, when a key is configured for the upstream
(``MOCK_PROXY_API_KEY``), the ``Authorization`` header, which then carries
that key instead of the caller's. The reply is asked for uncompressed
(``Accept-Encoding: identity``) so that it is passed on, recorded and judged
as the bytes it is.

An upstream that cannot be reached answers the profile's 502
(``upstream_unreachable``), one that does not answer within
``proxy_timeout`` seconds the profile's 504 (``upstream_timeout``): never a
hang, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # imported where the proxy runs: a server that never proxies keeps its 2 MiB a process
    import httpx

from .. import faultspec
from ..failures import ApiError

log = logging.getLogger("mockserver")

#: Headers that belong to one connection (RFC 9110, 7.6.1) or that the proxy sets itself; never passed on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
        "content-encoding",
    }
)
#: Reply headers the mock's server writes itself.
SERVER_HEADERS = frozenset({"date", "server"})
#: Seconds to open a connection to the upstream.
CONNECT_TIMEOUT = 10.0


def upstream_base(url: str) -> str:
    """The upstream's base URL, ending in its ``/v1`` (``https://host`` -> ``https://host/v1``)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class Upstream:
    """The gateway behind the proxy: one pooled client, shared by every request (thread-safe)."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 120.0):
        self.base = upstream_base(url)
        #: The key every request goes out with (``MOCK_PROXY_API_KEY``); None: the caller's own.
        self.api_key = api_key
        self.timeout = timeout
        import httpx

        # httpx logs every request at INFO; the mock's own line per request says it already
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        )

    def url(self, path: str, query: bytes = b"") -> str:
        """The upstream URL of a ``/v1/...`` path of the mock's."""
        rest = path[len("/v1") :] if path == "/v1" or path.startswith("/v1/") else path
        return self.base + rest + (f"?{query.decode('latin-1')}" if query else "")

    def request_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The caller's headers as the upstream gets them (hop-by-hop and the mock's own left out; the key set)."""
        dropped = HOP_BY_HOP | {faultspec.HEADER.lower()}
        if self.api_key is not None:
            dropped |= {"authorization"}
        out = [(name, value) for name, value in headers if name.lower() not in dropped]
        if self.api_key is not None:
            out.append(("Authorization", f"Bearer {self.api_key}"))
        out.append(("Accept-Encoding", "identity"))
        return out

    def open(
        self, method: str, path: str, query: bytes, headers: Iterable[tuple[str, str]], body: bytes
    ) -> httpx.Response:
        """The upstream's reply with its body not yet read (``iter_raw``, ``read_body``); the caller closes it.

        Failing to connect is ``ApiError("upstream_unreachable")`` (502), no
        status line within the timeout ``ApiError("upstream_timeout")`` (504).
        """
        import httpx

        request = self.client.build_request(
            method, self.url(path, query), headers=self.request_headers(headers), content=body
        )
        try:
            return self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            log.warning("proxy: %s %s: the upstream did not answer within %gs", method, path, self.timeout)
            raise ApiError("upstream_timeout", detail=f"no answer within {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            log.warning("proxy: %s %s: the upstream cannot be reached: %s", method, path, type(exc).__name__)
            raise ApiError("upstream_unreachable", detail=type(exc).__name__) from exc

    def close(self) -> None:
        self.client.close()


def reply_headers(response: httpx.Response) -> dict[str, str]:
    """The upstream reply's headers as the client gets them: all but the hop-by-hop and the server's own.

    Repeated headers (``Set-Cookie``) keep only their last value.
    """
    return {
        name: value
        for name, value in response.headers.multi_items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in SERVER_HEADERS
    }


def read_body(response: httpx.Response) -> bytes:
    """The whole body of a plain reply, then the reply closed; a timeout or broken connection while reading is a
    504 or 502."""
    import httpx

    try:
        return response.read()
    except httpx.TimeoutException as exc:
        raise ApiError("upstream_timeout", detail="the reply stopped arriving") from exc
    except httpx.HTTPError as exc:
        raise ApiError("upstream_unreachable", detail=f"the reply broke off ({type(exc).__name__})") from exc
    finally:
        response.close()
