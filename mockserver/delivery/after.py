"""Work that waits for the reply's last byte: the bookkeeping a client need not wait for.

A stream's timing log is kept in the store once the stream ends; kept
before its last chunk goes out, the client waited for that store write to
see its stream end. The mock's own server (``serve/server.py``) gives each
request a list under ``AFTER_REPLY`` in its WSGI environ and runs what the
app put there once the reply is sent (or broken off). Under any other server,
and in-process, there is no such list and the work runs at once, as the
body ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

log = logging.getLogger("mockserver")

#: The WSGI environ key of the list of work to run once the reply is sent (set by the mock's own server).
AFTER_REPLY = "mockserver.after_reply"


def after_reply(environ: MutableMapping[str, Any], work: Callable[[], None]) -> None:
    """Run ``work`` once the reply is sent where the server says when (``AFTER_REPLY``), else now."""
    waiting = environ.get(AFTER_REPLY)
    if waiting is None:
        work()
    else:
        waiting.append(work)


def run_after_reply(environ: MutableMapping[str, Any] | None) -> None:
    """For the server, once the reply is sent: run the work the app left; one that fails is logged, not raised."""
    for work in (environ or {}).get(AFTER_REPLY) or ():
        try:
            work()
        except Exception:  # the reply is out: nothing of this may reach the client or the server's loop
            log.exception("work after a reply failed")
