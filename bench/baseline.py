"""The baseline: the same WSGI server (``mockserver.serve.create_server``, same
threads and settings) serving a minimal Flask app.

``POST /v1/responses`` answers a fixed JSON body (the bytes of one mock reply,
so the size is the same); ``POST /v1/stream`` sends fixed server-sent events
(one mock stream, one chunk per event as the mock writes them). Whatever the
mock costs beyond these is the mock's own work.

    python -m bench.baseline --port 0 --reply reply.json --stream stream.sse
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.baseline")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--reply", type=Path, required=True, help="the fixed JSON body")
    p.add_argument("--stream", type=Path, required=True, help="the fixed SSE body")
    args = p.parse_args(argv)
    reply = args.reply.read_bytes()
    json.loads(reply)  # a JSON body, as the mock's
    from mockserver.serve import create_server, run_until_signal

    server = create_server(
        baseline_app(reply, split_events(args.stream.read_bytes())),
        host=args.host,
        port=args.port,
        threads=args.threads,
    )
    print(f"Serving on http://{server.effective_host}:{server.effective_port}/v1 (baseline)", flush=True)
    run_until_signal(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
