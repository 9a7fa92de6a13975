"""The baseline: a minimal Flask app, served by gunicorn (gthread workers) in ``make bench``.

``POST /v1/responses`` answers a fixed JSON body (the bytes of one mock reply,
so the size is the same); ``POST /v1/stream`` sends fixed server-sent events
(one mock stream, one chunk per event as the mock writes them). Whatever the
mock costs beyond these is the mock's own work.

    BENCH_REPLY=reply.json BENCH_STREAM=stream.sse \\
        gunicorn -k gthread -w 2 --threads 8 'bench.baseline:from_environment()'
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response


def baseline_app(reply: bytes, events: list[bytes]) -> Flask:
    app = Flask("baseline")

    @app.post("/v1/responses")
    def create() -> Response:
        return Response(reply, mimetype="application/json")

    @app.post("/v1/stream")
    def stream() -> Response:
        return Response(iter(events), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})

    return app


def split_events(raw: bytes) -> list[bytes]:
    """An SSE capture cut into its events, each with its blank line."""
    return [part + b"\n\n" for part in raw.split(b"\n\n") if part.strip()]


def from_environment() -> Flask:
    """The app for gunicorn: the reply from the file ``BENCH_REPLY`` names, the stream from ``BENCH_STREAM``."""
    reply = Path(os.environ["BENCH_REPLY"]).read_bytes()
    json.loads(reply)  # a JSON body, as the mock's
    return baseline_app(reply, split_events(Path(os.environ["BENCH_STREAM"]).read_bytes()))
