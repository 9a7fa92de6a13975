"""A mock that replays the real corpus (``fixtures/real``) strictly: each real reply answers the request it
belongs to, and any other request is an error, never a generated reply.

``pytest --pyargs contract_tests --contract-app tests.real_replay:strict_replay`` runs the contract suite
against it; ``build(folder)`` writes the recordings.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask

from mockserver import create_app
from schemas.recording import FORMAT

from .conftest import FIXTURES
from .real_corpus import REPLIES

DOCUMENTED_REQUEST = json.loads((FIXTURES / "documented_request.json").read_text(encoding="utf-8"))
REAL_ERROR = FIXTURES / "real" / "newapi-distributor-model-not-found-error.json"


def requests_and_replies() -> list[tuple[str, dict[str, Any], int, Any]]:
    """(name, request, status, body) for every recording: the documented request gets the documented reply;
    every other real reply answers a request for its own model; the distributor's 503 an unknown model."""
    pairs = []
    for example in REPLIES:
        reply = example.value
        if example.file == "gateway-docs-create-reply.json":
            request = DOCUMENTED_REQUEST
        else:
            request = {"model": reply["model"], "input": f"real reply {example.file}"}
        pairs.append((example.file.removesuffix(".json"), request, 200, reply))
    pairs.append(("model-not-found", {"model": "jev-1.13.0", "input": "你好"}, 503, json.loads(REAL_ERROR.read_text())))
    return pairs


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for number, (name, request, status, body) in enumerate(requests_and_replies(), 1):
        exchange = {
            "format": FORMAT,
            "name": name,
            "request": {"method": "POST", "path": "/v1/responses", "headers": {}, "body": request},
            "response": {"status": status, "headers": {"content-type": "application/json"}, "body": body},
            "timing": {"total_ms": 0, "ttfb_ms": 0},
            "complete": True,
        }
        (folder / f"{number:03d}-{name}.json").write_text(json.dumps(exchange, ensure_ascii=False), encoding="utf-8")
    return folder


def strict_replay(profile: str = "gateway", api_keys: Iterable[str] = ()) -> Flask:
    """The mock in ``profile`` answering only from the real corpus (strict replay, no delays)."""
    served = sorted({request["model"] for _, request, _, _ in requests_and_replies()})
    folder = build(Path(tempfile.mkdtemp(prefix="real-replay-")))
    return create_app(
        profile=profile,
        api_keys=list(api_keys),
        log_requests=False,
        models=served,
        replay_dir=folder,
        replay_speed=0,
        replay_strict=True,
    )
