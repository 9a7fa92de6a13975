"""``python -m mockserver``: run the mock gateway from the shell."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from schemas import PROFILES

from ..config import ConfigError, MockConfig, load_keys_file
from ..http.app import create_app
from ..state.lmdb_store import LMDBStore
from ..state.sqlite import SQLiteStore

#: The environment variable the admin key may come from (``--admin-key`` wins).
ADMIN_KEY_VARIABLE = "MOCK_ADMIN_KEY"
#: The environment variable the upstream's key comes from with ``--proxy-to`` (unset: each caller's own key).
PROXY_KEY_VARIABLE = "MOCK_PROXY_API_KEY"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m mockserver``."""
    p = argparse.ArgumentParser(prog="python -m mockserver", description="A mock of the gateway's POST /v1/responses.")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; on any other address the admin endpoints "
        "need --admin-key, else they are off)",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        default="gateway",
        help="behave like the documented gateway (default) or like OpenAI",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for reply text: same request + same seed = same reply")
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accept only this key (repeatable); default: any non-empty key",
    )
    p.add_argument(
        "--keys-file",
        type=Path,
        help="JSON list of keys with optional models, quota, expires_at and project (keys of one project share "
        "stored responses)",
    )
    p.add_argument(
        "--admin-key",
        metavar="KEY",
        help=f"key the admin endpoints /__mock__/ require (Bearer, or HTTP Basic password); prefer the environment: "
        f"{ADMIN_KEY_VARIABLE}, which ps does not show",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID[:reasons|:plain]",
        help="serve this model (repeatable); default: the qwen models",
    )
    p.add_argument("--max-stored", type=int, default=10_000, help="stored responses kept before the oldest is evicted")
    p.add_argument("--max-body-bytes", type=int, default=8 * 1024 * 1024, help="larger request bodies get 413")
    p.add_argument("--stream-delay", type=float, default=0.0, help="seconds between streamed events")
    p.add_argument(
        "--ttft", type=float, default=0.0, metavar="SECONDS", help="streams: seconds before the first output event"
    )
    p.add_argument(
        "--tokens-per-second",
        type=float,
        default=0.0,
        metavar="N",
        help="streams: each delta waits its tokens' worth of time at N tokens per second (0: no token pacing)",
    )
    p.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="streams: stretch or shrink each wait by up to this fraction (0-1), seeded: two runs pace the same",
    )
    p.add_argument(
        "--background-pace",
        default="0.5,2",
        metavar="QUEUED,RUNNING",
        help="openai profile: seconds a background response stays queued, then in progress (RUNNING 'hold': "
        "in progress until cancelled; default 0.5,2)",
    )
    p.add_argument("--ping-every", type=int, default=0, help="send a ': PING' comment every N events (0: never)")
    p.add_argument(
        "--reasoning-stream",
        choices=("summary", "text"),
        default="summary",
        help="stream reasoning as OpenAI's summary events or DashScope's reasoning_text events",
    )
    p.add_argument(
        "--threads", type=int, default=8, help="threads for requests that may wait (the rest run on the I/O thread)"
    )
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port (default 1); state is shared through --store",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="memory:// (default with one worker), lmdb:///path (default with several: a temporary one), "
        "sqlite:///path.db or redis://host:port/db",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="answer requests recorded in DIR (python -m contract_tests record) with the recorded replies",
    )
    p.add_argument(
        "--scenarios",
        type=Path,
        metavar="DIR",
        help="answer matching requests as the scenario files in DIR say (format: fixtures/scenarios/README.md)",
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault into every create request, as the X-Mock-Fault header would (repeatable; docs/faults.md)",
    )
    p.add_argument(
        "--fault-rate",
        type=float,
        default=1.0,
        metavar="P",
        help="share of create requests (0-1) that get the --fault faults (default 1)",
    )
    p.add_argument(
        "--serve-stored-routes",
        action="store_true",
        help="gateway profile: serve GET/DELETE /v1/responses/{id} and input_items too (the gateway answers them "
        "with a 404), for apps that also talk to the upstream directly",
    )
    p.add_argument(
        "--replay-speed",
        type=float,
        default=1.0,
        metavar="X",
        help="replay pacing divided by X (default 1: as recorded; 0: no delay)",
    )
    p.add_argument(
        "--replay-strict",
        action="store_true",
        help="with --replay: a request no recording matches gets a 400 error instead of a generated reply",
    )
    proxy = p.add_argument_group(
        "proxy", "forward to a real gateway, judging (and recording) every reply as it passes (README, 'Proxy mode')"
    )
    proxy.add_argument(
        "--proxy-to",
        metavar="URL",
        help=f"the gateway's base URL (https://host/v1): requests no scenario or recording answers go there, with "
        f"the caller's own key, or ${PROXY_KEY_VARIABLE} when set",
    )
    proxy.add_argument(
        "--proxy-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long the gateway may stay silent before the client gets a 504 (default 120)",
    )
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="record every proxied exchange into DIR (keys redacted), for --replay, drift and infer",
    )
    proxy.add_argument(
        "--fail-on-violation",
        action="store_true",
        help="answer a reply that breaks the contract with a 502 naming the rule (a stream: an error event)",
    )
    proxy.add_argument(
        "--levels",
        type=Path,
        metavar="FILE",
        help="the levels proxied replies are judged at (over schemas/levels.json; README, 'Two levels of finding')",
    )
    return p


def config_from_args(args: argparse.Namespace) -> MockConfig:
    """The configuration the command line asks for; ``ConfigError`` naming what is wrong."""
    keys: list = list(args.api_key)
    if args.keys_file:
        keys.extend(load_keys_file(args.keys_file))
    values = dict(
        profile=args.profile,
        seed=args.seed,
        api_keys=keys,
        max_stored=args.max_stored,
        max_body_bytes=args.max_body_bytes,
        stream_delay=args.stream_delay,
        ttft=args.ttft,
        tokens_per_second=args.tokens_per_second,
        jitter=args.jitter,
        background_pace=args.background_pace,
        ping_every=args.ping_every,
        reasoning_stream=args.reasoning_stream,
        log_requests=not args.quiet,
        workers=args.workers,
        store_url=args.store,
        scenarios_dir=args.scenarios,
        faults=args.fault,
        fault_rate=args.fault_rate,
        replay_dir=args.replay,
        replay_speed=args.replay_speed,
        replay_strict=args.replay_strict,
        serve_stored_routes=args.serve_stored_routes,
        host=args.host,
        admin_key=args.admin_key or os.environ.get(ADMIN_KEY_VARIABLE) or None,
        proxy_to=args.proxy_to,
        proxy_api_key=(os.environ.get(PROXY_KEY_VARIABLE) or None) if args.proxy_to else None,
        proxy_timeout=args.proxy_timeout,
        record_dir=args.record,
        fail_on_violation=args.fail_on_violation,
        levels_file=args.levels,
    )
    if args.model:
        values["models"] = args.model
    return MockConfig.build(**values)


def config_from_args_or_none(args: argparse.Namespace) -> MockConfig | None:
    """The configuration, or None after printing why it cannot work."""
    try:
        return config_from_args(args)
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
        return None


def fail(message: str) -> None:
    """A start-up error: one line on stderr, no traceback."""
    print(f"mockserver: {message}", file=sys.stderr)


def _cheap_log_records() -> None:
    """No work per log record for what the format never shows (logging's documented "Optimization").

    A request logs one to three lines; finding each call's file and line
    (a walk up the stack) and its thread's name cost more than writing the
    line. The command line owns this process's logging, so it may; an app
    made with ``create_app`` in someone else's process leaves theirs alone.
    """
    logging._srcfile = None  # no caller lookup: the format has no %(filename)s, %(lineno)d or %(funcName)s
    logging.logThreads = False  # no thread name: the format has no %(threadName)s
    logging.logMultiprocessing = False  # the format has no %(processName)s (workers add %(process)d, still set)


def main(argv: list[str] | None = None) -> int:
    """Run the mock until SIGINT or SIGTERM; 2 for a start-up error (one line on stderr), else 0."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _cheap_log_records()
    config = config_from_args_or_none(args)
    if config is None:
        return 2
    try:
        app = create_app(config)  # opens the store, reads scenarios and recordings
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
        return 2
    from .server import StartupError, serve
    from .workers import serve_workers

    try:
        if config.workers > 1:
            return serve_workers(app, host=args.host, port=args.port, workers=config.workers, threads=args.threads)
        serve(app, host=args.host, port=args.port, threads=args.threads)
    except StartupError as exc:
        fail(str(exc))
        return 2
    finally:
        remove_temporary_store(app)  # stopped, or never started (the port was taken)
    return 0


def remove_temporary_store(app: Any) -> None:
    """A temporary store (``--workers N``'s default, ``--store lmdb:///:temp:`` or ``sqlite:///:temp:``) goes
    with the server that made it, one process or several: left in ``/dev/shm`` it would hold memory until the
    machine restarts."""
    store = app.extensions["mock"].store
    if isinstance(store, (LMDBStore, SQLiteStore)):
        store.close_and_remove()
