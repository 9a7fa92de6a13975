"""The thing under test: a WSGI app in-process (no sockets) or a server over HTTP.

Both answer with the same small :class:`Reply`, so checks never care which
it is; each reply keeps the request that produced it (:class:`Sent`), so a
failure can show how to send it again. A live target costs money per call:
every request counts against the run's budget (one count for all
pytest-xdist workers, :mod:`contract_tests.budget`), and past it the calling
test is skipped with ``request budget of N reached``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from .budget import RequestBudget

#: Where the in-process mock would be, for curl commands that work against ``make run``.
MAKE_RUN_URL = "http://127.0.0.1:8080/v1"


@dataclass(frozen=True)
class Sent:
    """What was sent, kept for the reproduction (:mod:`contract_tests.reproduce`)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    stream: bool = False
    #: The environment variable a pasted curl reads the key from.
    key_variable: str = "CONTRACT_API_KEY"
    #: What answered in-process (``the mock``, ``--contract-app X``); None for a live target.
    in_process: str | None = None
    #: The shell command that serves the same in-process app over HTTP, when there is one.
    server_command: str | None = None


@dataclass
class Reply:
    """A target's answer: status, headers, body text (the raw SSE text for a stream)."""

    status: int
    headers: dict[str, str]
    text: str
    sent: Sent | None = None
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        if not self._parsed:
            try:
                self._json = json.loads(self.text)
            except (ValueError, RecursionError):  # not JSON, or nested past what the parser can read
                self._json = None
            self._parsed = True
        return self._json

    @property
    def is_json(self) -> bool:
        return self.json is not None or self.text.strip() == "null"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


class Target:
    """Send requests to ``app`` in-process, or to ``base_url`` over HTTP.

    ``post``/``get``/``delete`` take paths relative to the API root
    (``/responses``); ``auth`` is ``"bearer"`` (``Authorization: Bearer
    <key>``, what the openai SDK sends), ``"bare"`` (``Authorization:
    <key>``, the gateway's documented form) or ``"none"``.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        app: Any = None,
        budget: RequestBudget | None = None,
        timeout: float = 120.0,
        key_variable: str = "CONTRACT_API_KEY",
        in_process: str = "the mock",
        server_command: str | None = None,
        observe: Callable[[Reply], None] | None = None,
        masked: Sequence[str] = (),
    ):
        if (base_url is None) == (app is None):
            raise ValueError("a target is either a base URL or an app")
        self.base_url = (base_url or MAKE_RUN_URL).rstrip("/")
        self._api_key = api_key
        #: Other secrets of the run (a second key), masked in every report beside this target's key.
        self._masked = tuple(m for m in masked if m)
        self.app = app
        self.requests = budget
        self._sent_here = 0
        self._key_variable = key_variable
        self._answered_by = None if app is None else in_process
        self._server_command = None if app is None else server_command
        self._client: Any = None
        self._wsgi: Any = None
        #: Told of every reply (the run's coverage counts what was sent and seen).
        self._observe = observe
        if app is None:
            import httpx

            self._client = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=15.0), headers={"User-Agent": "responses-contract-kit"}
            )
        else:
            from werkzeug.test import Client

            self._wsgi = Client(app)

    def __repr__(self) -> str:  # never the key
        return (
            f"Target({'in-process' if self.app is not None else self.base_url}, used={self.used}, budget={self.budget})"
        )

    @property
    def live(self) -> bool:
        return self.app is None

    @property
    def budget(self) -> int | None:
        """The run's request limit (None: none)."""
        return self.requests.limit if self.requests is not None else None

    @property
    def used(self) -> int:
        """Requests the whole run has sent (every worker's), or this process's without a shared budget."""
        return self.requests.state().spent if self.requests is not None else self._sent_here

    @property
    def budget_hit(self) -> bool:
        return self.requests is not None and self.requests.state().reached

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every key of the run, to be masked wherever this target's requests and replies are shown."""
        own = (self._api_key,) if self._api_key else ()
        return own + tuple(m for m in self._masked if m != self._api_key)

    def with_key(self, api_key: str, key_variable: str, *, server_command: str | None = None) -> Target:
        """The same target (connection, budget) sending ``api_key``; reproductions read it from ``$key_variable``.

        Both keys stay masked in its reports. ``server_command`` replaces the
        command that serves the in-process mock over HTTP (one that also
        accepts this key).
        """
        other = copy.copy(self)
        other._masked = self.secrets
        other._api_key = api_key
        other._key_variable = key_variable
        if self._server_command is not None and server_command is not None:
            other._server_command = server_command
        return other

    def auth_headers(self, auth: str = "bearer", key: str | None = None) -> dict[str, str]:
        key = self._api_key if key is None else key
        if auth == "none" or not key:
            return {}
        return {"Authorization": f"Bearer {key}" if auth == "bearer" else key}

    def post(
        self,
        path: str,
        json: Any = None,
        *,
        content: bytes | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        auth: str = "bearer",
    ) -> Reply:
        body = content if content is not None else (_dumps(json) if json is not None else None)
        extra = {"Content-Type": content_type, **({"Accept": "text/event-stream"} if stream else {}), **(headers or {})}
        return self.request("POST", path, body=body, headers=extra, stream=stream, auth=auth)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None, auth: str = "bearer") -> Reply:
        return self.request("GET", path, headers=headers, auth=auth)

    def delete(self, path: str, *, headers: Mapping[str, str] | None = None, auth: str = "bearer") -> Reply:
        return self.request("DELETE", path, headers=headers, auth=auth)

    def create(self, request: dict[str, Any], **kwargs: Any) -> Reply:
        """``POST /responses``; streamed when the request says ``"stream": true``."""
        return self.post("/responses", request, stream=bool(request.get("stream")), **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        auth: str = "bearer",
    ) -> Reply:
        self._spend()
        sent_headers = {**self.auth_headers(auth), **(headers or {})}
        sent = Sent(
            method,
            f"{self.base_url}{path}",
            sent_headers,
            body,
            stream,
            key_variable=self._key_variable,
            in_process=self._answered_by,
            server_command=self._server_command,
        )
        reply = self._in_process(sent, path) if self._wsgi is not None else self._over_http(sent)
        if self._observe is not None:
            self._observe(reply)
        return reply

    def _spend(self) -> None:
        if self.requests is not None and not self.requests.spend():
            pytest.skip(f"request budget of {self.budget} reached (--contract-budget)")
        self._sent_here += 1

    def _in_process(self, sent: Sent, path: str) -> Reply:
        response = self._wsgi.open(f"/v1{path}", method=sent.method, data=sent.body, headers=sent.headers)
        try:
            text = response.get_data().decode("utf-8", errors="replace")
        finally:
            response.close()
        return Reply(response.status_code, dict(response.headers), text, sent)

    def _over_http(self, sent: Sent) -> Reply:
        import httpx

        try:
            with self._client.stream(sent.method, sent.url, content=sent.body, headers=sent.headers) as response:
                raw = response.read()
        except httpx.HTTPError as exc:
            pytest.fail(f"cannot reach the target at {self.base_url}: {type(exc).__name__}: {exc}", pytrace=False)
        return Reply(response.status_code, dict(response.headers), raw.decode("utf-8", errors="replace"), sent)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
