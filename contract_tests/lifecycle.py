"""What the lifecycle checks share: whether the target serves the stateful API, probed once per run.

The probe is one cheap request, ``POST {base}/responses/input_tokens`` with
a one-word input (counting tokens generates nothing, and costs nothing at
OpenAI). A JSON answer with ``input_tokens`` means the target serves the
stateful Responses API; a 404 or 405 (the gateway: new-api's NoRoute
``Invalid URL``) means it does not, and every lifecycle check skips saying
so. The verdict is kept in the run's folder, so all pytest-xdist workers
share the one request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from .session import ContractSession
from .target import Reply

PROBE_FILE = "lifecycle-probe.json"
#: How long a background response is polled, and the first wait between polls (doubled each time, at most 8 s).
POLL_SECONDS = 120.0
FIRST_POLL_WAIT = 0.05


def probe(contract: ContractSession) -> str | None:
    """None when the target serves the stateful lifecycle, else why the lifecycle checks skip."""
    folder: Path | None = contract.folder
    if folder is None:
        return _probe(contract)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / (PROBE_FILE + ".lock"))):
        path = folder / PROBE_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))["skip"]
        except (OSError, ValueError, KeyError):
            reason = _probe(contract)
            path.write_text(json.dumps({"skip": reason}), encoding="utf-8")
            return reason


def _probe(contract: ContractSession) -> str | None:
    reply = contract.target.post("/responses/input_tokens", {"model": contract.model, "input": "ping"})
    if reply.status == 200 and isinstance(reply.json, dict) and "input_tokens" in reply.json:
        return None
    where = f"POST {contract.target.base_url}/responses/input_tokens"
    gateway = (
        " (the gateway profile: new-api routes none of the stateful routes, and the upstream answers "
        "background synchronously)"
        if contract.behaviour.unrouted is not None
        else ""
    )
    if reply.status in (404, 405):
        return f"the target does not serve the stateful lifecycle: {where} answered HTTP {reply.status}{gateway}"
    return f"the stateful lifecycle could not be probed: {where} answered HTTP {reply.status}: {reply.text[:120]}"


def unserved(reply: Reply) -> bool:
    """Whether a lifecycle route answered as an unknown route (404/405 without a JSON ``error`` about an id)."""
    return reply.status in (404, 405) and "Invalid URL" in reply.text


def poll(
    contract: ContractSession, response_id: str, done: Callable[[dict[str, Any]], bool], *, sleep: Any = time.sleep
) -> tuple[Reply, int]:
    """``GET /responses/{id}`` until ``done(body)`` (or the time is up): the last reply and how many polls it took.

    Waits double from ``FIRST_POLL_WAIT`` between polls: a live target's
    background run may take minutes, and every poll is a paid request.
    """
    wait, deadline, polls = FIRST_POLL_WAIT, time.monotonic() + POLL_SECONDS, 0
    while True:
        reply = contract.target.get(f"/responses/{response_id}")
        polls += 1
        body = reply.json if isinstance(reply.json, dict) else {}
        if reply.status != 200 or done(body) or time.monotonic() >= deadline:
            return reply, polls
        sleep(wait)
        wait = min(wait * 2, 8.0)
