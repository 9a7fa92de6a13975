"""Preflight: before any test against a live target, is it this API, and does it take the key?

A suite pointed at the wrong thing does not fail once: every test fails the
same way, each with a page of output, and each spends a paid request. So
before the first test the suite asks at most three questions, and when the
answer is no it stops the run with one message that names the fix:

1. ``GET {base}/models`` with the key (free on the gateway): is anything
   listening, does TLS work, is the key accepted, is the answer this API's JSON?
2. Only when (1) got a 404 or a page that is not JSON and the base URL does
   not end in ``/v1``: ``GET {base}/v1/models``, to say "did you mean .../v1?"
   with certainty (new-api answers any unrouted path with its NoRoute 404,
   ``Invalid URL (GET /models)``, which is what a base URL without ``/v1`` gets).
3. ``POST {base}/responses`` with the smallest real request (16 output
   tokens): may this key use the model (the gateway answers 403 when it may
   not, 403 ``insufficient_user_quota`` when the account has no quota, 503
   ``model_not_found`` for a model nobody serves), and is the reply a Response?

A missing key is found without a request. Each request is counted against
the run's budget. The verdict is written once per run to the run's folder,
under a file lock, so pytest-xdist workers share one preflight
(:func:`shared_verdict`). ``python -m contract_tests check-target URL``
runs the same diagnosis on its own.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from filelock import FileLock

from .budget import RequestBudget, write_json_atomically
from .options import DEFAULT_MODEL, KEY_OPTION, KEY_VARIABLES, ContractOptions
from .reproduce import mask

#: Exit code of a run (and of ``check-target``) whose target cannot be tested: distinct from 1, "contract violated".
EXIT_UNUSABLE = 6
#: The preflight's own create request: the smallest a real gateway answers (``max_output_tokens`` minimum is 16).
PING = {"input": "ping", "max_output_tokens": 16}
VERDICT_FILE = "preflight.json"


@dataclass(frozen=True)
class Names:
    """How the fixes are spelt where the diagnosis is read (the pytest options, or ``check-target``'s)."""

    base_url: str = "--contract-base-url"
    key_option: str = KEY_OPTION
    key_variables: tuple[str, ...] = KEY_VARIABLES
    models: str = "--contract-models"
    #: What supplied the key and the base URL (an option or a variable); None when nothing did.
    key_source: str | None = None
    base_url_source: str | None = None

    def key_from(self) -> str:
        return f"the key from {self.key_source}" if self.key_source else "the key"

    def set_key(self) -> str:
        """For a missing key: every way to give one."""
        first, *others = self.key_variables
        return f"set {first} (or {', '.join(others)}, or pass {self.key_option})"

    def set_valid_key(self) -> str:
        """For a refused key: the one place it came from."""
        if self.key_source in self.key_variables:
            return f"set {self.key_source} to a valid key for this gateway"
        return f"pass a valid key for this gateway with {self.key_option}"

    def set_base_url(self, url: str) -> str:
        if self.base_url_source and self.base_url_source != self.base_url:
            return f"set {self.base_url_source}={url}"
        return f"use {self.base_url} {url}"

    def base_url_knob(self) -> str:
        return self.base_url_source if self.base_url_source and self.base_url_source != self.base_url else self.base_url


@dataclass(frozen=True)
class Verdict:
    """The diagnosis: usable or not, the one message that says why and what to do, what it cost."""

    ok: bool
    problem: str
    message: str
    requests: int = 0
    steps: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            ok=bool(data["ok"]),
            problem=str(data["problem"]),
            message=str(data["message"]),
            requests=int(data.get("requests", 0)),
            steps=tuple(data.get("steps", ())),
            models=tuple(data.get("models", ())),
        )


class _Stop(Exception):
    """Raised inside the preflight with the verdict that ends it."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict


@dataclass
class _Probe:
    """Sends the preflight's requests, counts them, and keeps a line per request for ``check-target``."""

    client: httpx.Client
    api_key: str
    spend: Callable[[], bool]
    secrets: tuple[str, ...]
    steps: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, method: str, url: str, body: dict[str, Any] | None = None) -> httpx.Response | None:
        """The answer; None when the budget is spent; raises :class:`_Stop` when nothing usable answered."""
        if not self.spend():
            self.steps.append(f"{method} {url}: not sent, the request budget is spent")
            return None
        self.sent += 1
        try:
            response = self.client.request(method, url, json=body, headers={"Authorization": f"Bearer {self.api_key}"})
        except httpx.HTTPError as exc:
            problem, message = _connection_problem(exc, url)
            self.steps.append(f"{method} {url} -> {type(exc).__name__}: {mask(str(exc), self.secrets)}")
            raise _Stop(self.verdict(False, problem, message)) from None
        self.steps.append(f"{method} {url} -> {_describe(response, self.secrets)}")
        return response

    def verdict(self, ok: bool, problem: str, message: str, models: Sequence[str] = ()) -> Verdict:
        return Verdict(ok, problem, mask(message, self.secrets), self.sent, tuple(self.steps), tuple(models))


def check_target(
    base_url: str,
    api_key: str | None,
    *,
    names: Names | None = None,
    models: Sequence[str] | None = None,
    spend: Callable[[], bool] = lambda: True,
    timeout: float = 120.0,
    client: httpx.Client | None = None,
) -> Verdict:
    """Diagnose ``base_url`` with ``api_key`` in at most three requests (see the module's docstring)."""
    names = names or Names()
    base = base_url.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        return Verdict(
            False,
            "bad_url",
            f"the base URL {base!r} is not an http:// or https:// URL: "
            f"{names.set_base_url('https://host/v1')} (the API root, ending in /v1)",
        )
    if not api_key:
        return Verdict(False, "no_key", f"no API key for the live target {base}: {names.set_key()}")
    own_client = client is None
    client = client or httpx.Client(
        timeout=httpx.Timeout(timeout, connect=15.0), headers={"User-Agent": "responses-contract-kit preflight"}
    )
    probe = _Probe(client, api_key, spend, (api_key,))
    try:
        return _diagnose(probe, base, names, models)
    except _Stop as stop:
        return stop.verdict
    finally:
        if own_client:
            client.close()


def _diagnose(probe: _Probe, base: str, names: Names, wanted: Sequence[str] | None) -> Verdict:
    listing = probe.send("GET", f"{base}/models")
    if listing is None:
        return probe.verdict(True, "budget", "the request budget was spent before the target was checked")
    _stop_on_key_problems(probe, listing, base, names, model=None)
    listed = _model_ids(listing)
    if listed is None and (listing.status_code == 404 or _json(listing) is None):
        _stop_on_missing_v1(probe, base, names, listing)
        _stop_on_pages(probe, base, f"GET {base}/models", listing)
        if not _is_error_envelope(_json(listing)):
            raise _Stop(probe.verdict(False, "not_this_api", _not_this_api(base, f"GET {base}/models", listing, names)))
    model = (wanted or [None])[0] or _preferred(listed or ())
    created = probe.send("POST", f"{base}/responses", {"model": model, **PING})
    if created is None:
        return probe.verdict(True, "budget", "the request budget was spent before the target was checked")
    _stop_on_key_problems(probe, created, base, names, model=model)
    _stop_on_model_problems(probe, created, model, names, listed)
    _stop_on_pages(probe, base, f"POST {base}/responses", created)
    body = _json(created)
    if created.status_code == 404 and _is_error_envelope(body):
        raise _Stop(
            probe.verdict(
                False,
                "no_responses_endpoint",
                f"POST {base}/responses answered 404 ({_error_text(created)}): {base} serves no Responses API; "
                "point the suite at the base URL its clients use, the API root (…/v1) of a gateway that relays "
                "POST /v1/responses",
            )
        )
    if body is None or (created.status_code == 200 and not _is_response(body)):
        raise _Stop(probe.verdict(False, "not_this_api", _not_this_api(base, f"POST {base}/responses", created, names)))
    found = tuple(listed) if listed else (model,)
    return probe.verdict(True, "ok", f"{base} answers POST /responses with this key (model {model})", found)


def _stop_on_key_problems(probe: _Probe, response: httpx.Response, base: str, names: Names, model: str | None) -> None:
    status, code = response.status_code, _error_code(response)
    if status == 401:
        raise _Stop(
            probe.verdict(
                False,
                "key_refused",
                f"{base} refused {names.key_from()} (HTTP 401: {_error_text(response)}): "
                f"the key is wrong, expired or used up; {names.set_valid_key()}",
            )
        )
    if code in ("insufficient_user_quota", "insufficient_quota"):
        raise _Stop(
            probe.verdict(
                False,
                "no_quota",
                f"{names.key_from()} has no quota left (HTTP {status} {code}: {_error_text(response)}): "
                "top up the account behind the key, or use another key",
            )
        )
    if status == 403:
        what = f"may not use the model {model}" if model else "is not allowed to call this API"
        fix = (
            f"allow {model} for this key in the gateway, or choose a model it may use with {names.models}"
            if model
            else "ask the gateway's operator what the key may do, or use another key"
        )
        raise _Stop(
            probe.verdict(
                False, "key_forbidden", f"{names.key_from()} {what} (HTTP 403: {_error_text(response)}): {fix}"
            )
        )
    if status == 429:
        raise _Stop(
            probe.verdict(
                False,
                "rate_limited",
                f"{base} is rate-limiting this key (HTTP 429: {_error_text(response)}): "
                "run again later, or raise the key's limits",
            )
        )


def _stop_on_model_problems(
    probe: _Probe, response: httpx.Response, model: str, names: Names, listed: Sequence[str] | None
) -> None:
    if _error_code(response) != "model_not_found" and "model_not_found" not in _error_text(response):
        return
    served = f" (it lists: {', '.join(listed[:8])})" if listed else ""
    raise _Stop(
        probe.verdict(
            False,
            "unknown_model",
            f"the target serves no model {model!r} (HTTP {response.status_code} model_not_found): "
            f"choose one it serves with {names.models}{served}",
        )
    )


def _stop_on_missing_v1(probe: _Probe, base: str, names: Names, listing: httpx.Response) -> None:
    """A 404 or a page at ``{base}/models``: when ``{base}`` lacks ``/v1``, ask ``{base}/v1`` once."""
    suggestion = _suggested_base(base)
    if suggestion is None:
        return
    again = probe.send("GET", f"{suggestion}/models")
    if again is not None and (
        _model_ids(again) is not None or (_is_error_envelope(_json(again)) and again.status_code in (401, 403))
    ):
        raise _Stop(
            probe.verdict(
                False,
                "wrong_base_url",
                f"{base}/models answered {_short(listing)}, {suggestion}/models answers as the API: "
                f"did you mean {suggestion}? {names.set_base_url(suggestion)}",
            )
        )


def _stop_on_pages(probe: _Probe, base: str, request: str, response: httpx.Response) -> None:
    """A 502/503/504 that is not JSON comes from a proxy in front of the gateway: the gateway is down."""
    if response.status_code in (502, 503, 504) and _json(response) is None:
        raise _Stop(
            probe.verdict(
                False,
                "server_down",
                f"{request} answered {_short(response)}: a proxy in front of {urlsplit(base).netloc} answers, "
                "the gateway behind it does not; run again when it is up",
            )
        )


def _suggested_base(base: str) -> str | None:
    """``https://host`` -> ``https://host/v1``; ``.../v1/responses`` -> ``.../v1``; None when it ends in /v1."""
    path = urlsplit(base).path.rstrip("/")
    if path.endswith("/v1"):
        return None
    if path.endswith("/responses"):
        return base[: -len("/responses")]
    return f"{base}/v1"


# --- reading answers ----------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _is_error_envelope(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def _is_response(body: Any) -> bool:
    return isinstance(body, dict) and (body.get("object") == "response" or isinstance(body.get("output"), list))


def _model_ids(response: httpx.Response) -> list[str] | None:
    """The ids in a 200 model list (``{"data": [{"id": ...}]}``), or None when it is not one."""
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    return [m["id"] for m in body["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]


def _preferred(listed: Sequence[str]) -> str:
    return DEFAULT_MODEL if DEFAULT_MODEL in listed or not listed else listed[0]


def _error_code(response: httpx.Response) -> str:
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else (body.get("code") if isinstance(body, dict) else None)
    return code if isinstance(code, str) else ""


def _error_text(response: httpx.Response) -> str:
    """The error's message (the gateway's or DashScope's), else the start of the body."""
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    message = (
        error.get("message") if isinstance(error, dict) else (body.get("message") if isinstance(body, dict) else None)
    )
    text = message if isinstance(message, str) and message else response.text
    return " ".join(text.split())[:200] or "empty body"


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _short(response: httpx.Response) -> str:
    """``404 (JSON: Invalid URL (GET /models))``, ``200 (text/html page 'Welcome')``: for one-line messages."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if _json(response) is not None:
        return f"{response.status_code} (JSON: {_error_text(response)[:120]})"
    title = _TITLE.search(response.content[:20_000])
    page = f" page {title.group(1).decode('utf-8', 'replace').strip()[:80]!r}" if title else ""
    return f"{response.status_code} ({content_type}{page})"


def _describe(response: httpx.Response, secrets: Sequence[str]) -> str:
    models = _model_ids(response)
    if models is not None:
        return f"HTTP 200, a list of {len(models)} models"
    body = _json(response)
    if response.status_code == 200 and _is_response(body):
        return f"HTTP 200, a response ({body.get('status', 'no status')})"
    return mask(f"HTTP {_short(response)}", secrets)


def _not_this_api(base: str, request: str, response: httpx.Response, names: Names) -> str:
    return (
        f"{request} answered {_short(response)}, not the JSON of an OpenAI-compatible API: {base} is not the "
        f"gateway; give {names.base_url_knob()} the base URL the gateway's clients use (its API root, …/v1)"
    )


def _connection_problem(exc: httpx.HTTPError, url: str) -> tuple[str, str]:
    """The kind of failure and a message naming the fix, from the exception's chain of causes."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    causes = _chain(exc)
    text = " ".join(str(c) for c in causes)
    if isinstance(exc, httpx.TimeoutException):
        plain = f" If it speaks plain HTTP, use http://{parts.netloc}." if parts.scheme == "https" else ""
        return (
            "timeout",
            f"{where} did not answer in time ({type(exc).__name__}): is the server up, and the host right?{plain}",
        )
    if any(isinstance(c, ssl.SSLError) for c in causes) or "[SSL" in text or "CERTIFICATE" in text:
        plain = "http" + url[len("https") :] if parts.scheme == "https" else url
        return (
            "tls",
            f"TLS with {where} failed ({_ssl_reason(causes, text)}): if the server speaks plain HTTP, use "
            f"{plain.rsplit('/', 1)[0]}; if its certificate comes from a private authority, point SSL_CERT_FILE at it",
        )
    if any(isinstance(c, socket.gaierror) for c in causes) or "name resolution" in text or "not known" in text:
        return "unresolved", f"the host {parts.hostname!r} cannot be resolved: check the base URL for a typo"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text.lower():
        return "unreachable", f"nothing is listening at {where} (connection refused): start the server, or fix the port"
    if isinstance(exc, httpx.RemoteProtocolError) and parts.scheme == "http":
        return (
            "not_http",
            f"{where} closed the connection without an HTTP answer: if it speaks TLS, use "
            f"https://{parts.netloc}{parts.path.rsplit('/', 1)[0]}",
        )
    return "unreachable", f"cannot reach {where}: {type(exc).__name__}: {exc}"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _ssl_reason(causes: Sequence[BaseException], text: str) -> str:
    for cause in causes:
        if isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None):
            return str(cause.reason).replace("_", " ").lower()
    match = re.search(r"\[SSL[^\]]*\]\s*([^(]+)", text)
    return match.group(1).strip() if match else "handshake failed"


# --- once per run -------------------------------------------------------------------------------


def shared_verdict(folder: Path, check: Callable[[], Verdict]) -> Verdict:
    """The run's verdict: the first process to get here runs ``check``; the others read what it found."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "preflight.lock")):
        found = read_verdict(folder)
        if found is None:
            found = check()
            write_json_atomically(folder / VERDICT_FILE, found.to_json())
        return found


def read_verdict(folder: Path) -> Verdict | None:
    try:
        return Verdict.from_json(json.loads((folder / VERDICT_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return None


def preflight_for_run(folder: Path, options: ContractOptions, budget: RequestBudget) -> Verdict:
    """The run's verdict on its live target, found once for all processes and paid from the run's budget."""
    assert options.base_url is not None
    names = Names(key_source=options.api_key_source, base_url_source=options.base_url_source)
    return shared_verdict(
        folder,
        lambda: check_target(
            options.base_url or "", options.api_key, names=names, models=options.models, spend=budget.spend
        ),
    )
