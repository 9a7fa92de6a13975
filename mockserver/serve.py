"""Serving the app with a real WSGI server (waitress), never Flask's dev server.

waitress reads each request completely in its I/O loop before a worker
thread sees it, so slow or stalled clients tie up no worker (they are cut
after ``channel_timeout``), and it sends each chunk of a streamed body as
soon as the app yields it (``send_bytes=1``), which server-sent events need.
SIGTERM and Ctrl-C close the listening socket and return cleanly.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from flask import Flask

log = logging.getLogger("mockserver")

#: waitress answers bodies over its own limit with a plain-text 413; keep its
#: limit well above the app's so the app answers in the error envelope.
SERVER_BODY_LIMIT_FACTOR = 8


def serve(app: Flask, *, host: str, port: int, threads: int = 8, channel_timeout: int = 30) -> None:
    """Serve ``app`` until SIGINT or SIGTERM."""
    from waitress import create_server

    config = app.config["MOCK"]
    server: Any = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        channel_timeout=channel_timeout,
        max_request_body_size=max(config.max_body_bytes * SERVER_BODY_LIMIT_FACTOR, 64 * 1024 * 1024),
        ident="mockserver",
        clear_untrusted_proxy_headers=True,
    )
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    bound_port = server.effective_port
    log.info("mock gateway (%s profile) listening on http://%s:%s/v1", config.profile, server.effective_host, bound_port)
    print(f"Serving on http://{server.effective_host}:{bound_port}/v1 (profile {config.profile}); Ctrl-C to stop", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
        log.info("mock gateway stopped")


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
