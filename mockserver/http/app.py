"""The app factory: ``create_app(config)`` or ``create_app(profile="openai", seed=1)``.

It wires one app: its state (store, key checker, sources in order: your own,
scenarios, recordings, the generator), its routes (the stored-response,
lifecycle and conversation routes only where they are served), the error
handlers, and the per-request hooks that stamp the request id (and the
profile's reply headers, OpenAI's ``x-ratelimit-*``) and write the one log
line.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from flask import Flask, Response

from schemas.behaviour import behaviour
from schemas.levels import LevelsError, load_levels
from schemas.recording import RecordingWriter
from schemas.secrets import SecretMasker

from ..config import ConfigError, MockConfig
from ..delivery.after import after_reply
from ..delivery.faults import DROPPED_CONNECTION_FILTER
from ..delivery.timing import SentLog, keep_timing, timed
from ..faultspec import parse_all
from ..sources import Source
from ..sources.generator import GeneratorSource
from ..sources.proxy import ProxySource
from ..state import MockState
from ..state.owners import record_key
from ..state.store import Store, forget_fault_counts, open_store
from ..upstream.client import Upstream
from ..upstream.tap import Tap
from ..upstream.verdicts import Verdicts
from .admin import admin, is_admin_path
from .auth import KeyChecker, key_from_header
from .conversations import conversations_api
from .encoding import FastJSONProvider
from .errors import error_object, refusal_of, register_error_handlers
from .forward import register_forwarding
from .openapi import openapi_blueprint
from .request import MockRequest, current_request
from .routes import api, compact_api, lifecycle_api, stored_api

log = logging.getLogger("mockserver")


def create_app(
    config: MockConfig | None = None,
    *,
    store: Store | None = None,
    sources: Sequence[Source] = (),
    **overrides: Any,
) -> Flask:
    """A mock gateway app.

    Keyword ``overrides`` are ``MockConfig`` fields (validated, so a bad
    value raises ``ConfigError`` naming it). ``store`` replaces the one
    ``store_url`` names; ``sources`` are asked first, before the scenarios,
    the recordings and the generator.
    """
    config = config or MockConfig()
    if overrides:
        config = config.with_changes(**overrides)
    app = Flask("mockserver")
    app.json = FastJSONProvider(app)
    app.request_class = MockRequest
    app.config["MOCK"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.ensure_ascii = False  # UTF-8 stays UTF-8 on the wire, as the gateway sends it
    app.json.sort_keys = config.profile == "gateway"  # the documented reply has its keys sorted
    app.extensions["mock"] = build_state(config, store, sources)
    register_error_handlers(app)
    # An injected dropped connection (delivery/faults.py) is an exception waitress would log with a traceback.
    logging.getLogger("waitress").addFilter(DROPPED_CONNECTION_FILTER)
    app.register_blueprint(api)
    if config.serves("POST", "/v1/responses/compact"):
        app.register_blueprint(compact_api)
    if config.serves_stored_routes:
        app.register_blueprint(stored_api)
    if config.serves_lifecycle_routes:
        app.register_blueprint(lifecycle_api)
        app.register_blueprint(conversations_api)
    if config.proxy_to is not None:
        register_forwarding(app)
    app.register_blueprint(openapi_blueprint)
    app.register_blueprint(admin)
    _register_request_hooks(app, config)
    app.extensions["mock_as_built"] = as_built(app)
    return app


def as_built(app: Flask) -> tuple[Any, ...]:
    """What ``app`` runs on a request: its hooks, its views and its ``wsgi_app`` (functions compare by identity).

    ``create_app`` keeps it, so the server can tell the app it built from
    one changed since (a hook or a route added, ``wsgi_app`` wrapped): code
    the mock does not know, which may wait (``serve/quick.py``).
    """
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    return (
        tuple(tuple((scope, tuple(funcs)) for scope, funcs in sorted(kind.items(), key=str)) for kind in hooks),
        tuple(sorted(app.view_functions.items(), key=lambda item: item[0])),
        getattr(app.wsgi_app, "__func__", app.wsgi_app),  # Flask's own method, or what wraps it
    )


def build_state(config: MockConfig, store: Store | None, custom: Sequence[Source]) -> MockState:
    """The app's state: its store, its key checker and its sources, in the order they are asked."""
    if store is None:
        default = "lmdb:///:temp:" if config.workers > 1 else None
        store = open_store(config.store_url or default, config.max_stored)
    generator = GeneratorSource(config, store)
    sources: list[Source] = list(custom)
    if config.scenarios_dir is not None:
        from ..sources.scenarios import ScenarioSource, load_scenarios

        sources.append(ScenarioSource(load_scenarios(config.scenarios_dir, config), generator, store))
    if config.replay_dir is not None:
        from ..sources.replay import ReplaySource

        try:
            sources.append(ReplaySource(config.replay_dir, config.replay_speed, strict=config.replay_strict))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"replay_dir: {exc}") from None
    verdicts = Verdicts(store) if config.proxy_to is not None else None
    if verdicts is not None:
        sources.append(proxy_source(config, verdicts))
    state = MockState(
        config=config,
        store=store,
        keys=KeyChecker(config, store),
        sources=sources,
        generator=generator,
        faults=parse_all(config.faults),
        verdicts=verdicts,
    )
    state.seed = config.seed  # this run's --seed, not one a persistent store kept from an earlier run
    forget_fault_counts(store)  # and this run's times=N fault counts
    return state


def proxy_source(config: MockConfig, verdicts: Verdicts) -> ProxySource:
    """The proxy (``--proxy-to``): forwards what the sources before it leave, recording and judging each exchange."""
    try:
        levels = load_levels(config.levels_file)
    except LevelsError as exc:
        raise ConfigError(f"levels_file: {exc}") from None
    writer = None
    if config.record_dir is not None:
        try:
            writer = RecordingWriter(config.record_dir, secrets=[config.proxy_api_key], target=config.proxy_to)
        except OSError as exc:
            raise ConfigError(f"record_dir: {config.record_dir}: {exc.strerror or exc}") from None
    upstream = Upstream(config.proxy_to or "", api_key=config.proxy_api_key, timeout=config.proxy_timeout)
    tap = Tap(config.profile, levels, verdicts, writer)
    return ProxySource(
        upstream,
        tap,
        fail_on_violation=config.fail_on_violation,
        request_id_header=behaviour(config.profile).request_id_header,
    )


def _register_request_hooks(app: Flask, config: MockConfig) -> None:
    behaviour = app.extensions["mock"].behaviour
    header = behaviour.request_id_header
    reply_headers = behaviour.reply_headers

    @app.after_request
    def _finish(response: Response) -> Response:
        request = current_request()
        if header not in response.headers:  # a proxied reply keeps the upstream's
            response.headers[header] = request.request_id
        if reply_headers and request.path.startswith("/v1/"):
            for name, value in reply_headers.items():  # the upstream's own x-ratelimit-* too
                if name not in response.headers:
                    response.headers[name] = value
        elapsed_ms = (time.perf_counter() - request.started) * 1000
        state: MockState = app.extensions["mock"]
        masker = secrets_masker(request, (key_from_header(request.headers.get("Authorization")), config.admin_key))
        if not is_admin_path(request.path):  # the admin's own calls would crowd out the API's
            entry = recent_entry(request, response, elapsed_ms)
            remember = functools.partial(remember_quietly, state, entry if masker is None else masker.value(entry))
            if response.is_streamed:  # kept once the first event is out: a store write not in its way
                response.response = after_first_chunk(response.response, remember)
            else:
                remember()
        if response.is_streamed and request.response_id is not None:  # its events' timing, for the inspector
            where = record_key(request.response_owner, request.response_id)
            keep = functools.partial(keep_timing_after_reply, request.environ, state.store, where)
            response.response = timed(response.response, keep)
        if config.log_requests:
            line = log_line(request, response, elapsed_ms)
            log.info(line if masker is None else masker.text(line))
        return response


def keep_timing_after_reply(
    environ: dict[str, Any], store: Store, response_id: str, sent: SentLog, ending: str
) -> None:
    """Keep a stream's timing log once its last byte is sent (``delivery/after.py``): the client does not wait."""
    after_reply(environ, functools.partial(keep_timing, store, response_id, sent, ending))


def remember_quietly(state: MockState, entry: dict[str, Any]) -> None:
    """Keep ``entry`` in the recent requests; a store that fails here is logged, never the client's problem."""
    try:
        state.remember(entry)
    except Exception as exc:
        log.warning("could not keep %s %s in the recent requests: %s", entry["method"], entry["path"], exc)


def after_first_chunk(chunks: Iterable[bytes], then: Callable[[], None]) -> Iterator[bytes]:
    """``chunks`` unchanged; ``then()`` once the first has been sent (or, with none sent, when they end)."""
    done = False
    source = iter(chunks)
    try:
        for chunk in source:
            yield chunk
            done = True  # the server asks for the next chunk once this one is written
            then()
            break
        yield from source  # the rest passed on by the interpreter, not by a loop here: once per event
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
        if not done:
            then()


def log_line(request: MockRequest, response: Response, elapsed_ms: float) -> str:
    """The one line per request: method, path, status, request id, time; for a refusal, its code and parameter.

    Headers (and so the key) are never logged.
    """
    line = f"{request.method} {request.path} {response.status_code} {request.request_id} {elapsed_ms:.1f}ms"
    if response.is_streamed:
        line += " (stream)"
    refusal = refusal_of(response) if response.status_code >= 400 else None
    if refusal is not None:
        line += f" {refusal.name} code={refusal.code or '-'} param={refusal.param or '-'}"
    return line


#: Request bodies up to this size are kept in the recent-requests list (``/__mock__/requests``);
#: larger ones are left out, so 200 entries stay small.
RECENT_BODY_LIMIT = 64 * 1024


def recent_entry(request: MockRequest, response: Response, elapsed_ms: float) -> dict[str, Any]:
    """What ``/__mock__/requests`` shows of one request: never its headers (the key is in them).

    The body as it was received, refused or not (parsed when it was JSON,
    else as text), and for a refused request the error the client got.
    """
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "request_id": request.request_id,
        "ms": round(elapsed_ms, 2),
        "at": round(time.time(), 3),
        "stream": response.is_streamed,
    }
    if request.response_id is not None:
        entry["response_id"] = request.response_id
    received = request.received
    if received is not None and len(received) <= RECENT_BODY_LIMIT:
        entry["body"] = request.parsed if request.parsed is not None else received.decode("utf-8", "replace")
    error = error_object(response) if response.status_code >= 400 else None
    if error is not None:
        entry["error"] = error
    return entry


def secrets_masker(request: MockRequest, secrets: Sequence[str | None]) -> SecretMasker | None:
    """The kit's one masker for the caller's key and the admin key, when the request's body or path holds one.

    Neither the admin view nor the log ever shows a key, even one the client
    put in its body or path (an error message echoes only those). A masker
    is used only when the body or path holds something it would replace
    (``SecretMasker.may_change``), or a JSON escape of an ASCII character
    (``\\u00XX``) that could spell one: the common request, Chinese text
    escaped as ``\\u4f60`` included, costs a few substring searches.
    """
    present = tuple(s for s in secrets if s)
    if not present:
        return None
    masker = _masker(present)
    body = request.received or b""
    if b"\\u00" in body or masker.may_change(body.decode("utf-8", "replace")) or masker.may_change(request.full_path):
        return masker
    return None


@functools.lru_cache(maxsize=256)
def _masker(secrets: tuple[str, ...]) -> SecretMasker:
    """One masker per set of keys, made once: a masker works out its search patterns when it is made."""
    return SecretMasker(secrets, replacement="sk-***")
