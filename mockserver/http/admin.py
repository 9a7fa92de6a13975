"""The admin endpoints under ``/__mock__/``: what a test run uses to steer the mock.

Off the ``/v1`` namespace, so they never collide with the API. They need no
key (the mock binds to 127.0.0.1 by default) and never show one: keys appear
masked in ``/config`` and request logs hold no headers.

- ``GET  /__mock__/``           the inspector page (HTML, ``inspector.py``): requests, stored responses, faults
- ``GET  /__mock__/health``     liveness, profile, store, number of stored responses
- ``GET  /__mock__/responses``  the stored responses, newest first (``limit``)
- ``GET  /__mock__/responses/<id>``  one stored response, as the client ended with it
- ``POST /__mock__/reset``      forget stored responses, key usage, scenario and fault counts; restore the seed
- ``GET|POST /__mock__/seed``   read or set the reply seed (``{"seed": N}``)
- ``GET  /__mock__/requests``   the last requests this process served (``limit``)
- ``GET  /__mock__/config``     the configuration in effect

Stored responses, the seed, the counts and the recent requests live in the
store, so with ``--workers`` and a shared store every admin call holds on all
workers.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from ..failures import ApiError, printable
from ..state import mock_state, records
from .inspector import page_values
from .request import int_param, read_json_body

PREFIX = "/__mock__"
admin = Blueprint("admin", __name__, url_prefix=PREFIX, template_folder="templates")


@admin.get("/")
def inspector() -> str:
    """The inspector page: recent requests, stored responses with their events, what is in force."""
    return render_template("inspector.html", **page_values(mock_state()))


@admin.get("/health")
def health() -> Response:
    """Liveness, profile, store kind and the number of stored responses."""
    state = mock_state()
    return jsonify(
        {
            "status": "ok",
            "profile": state.config.profile,
            "store": type(state.store).__name__,
            "stored": len(state.store),
            "pid": os.getpid(),
        }
    )


@admin.get("/responses")
def list_responses() -> Response:
    """Newest first: the id, status, model and creation time of each stored response."""
    state = mock_state()
    limit = int_param(request, "limit", default=100, low=1, high=10_000)
    ids = state.store.ids()
    listed = []
    for response_id in reversed(ids):
        record = state.store.get(response_id)
        if record is None:  # evicted or deleted since ids() was read
            continue
        response = records.response_now(record)  # a background response: where its clock says it is
        listed.append(
            {
                "id": response_id,
                "status": response.get("status"),
                "model": response.get("model"),
                "created_at": response.get("created_at"),
            }
        )
        if len(listed) == limit:
            break
    return jsonify({"object": "list", "data": listed, "total": len(ids)})


@admin.get("/responses/<response_id>")
def stored_response(response_id: str) -> Response:
    """One stored response as the client ended with it (the inspector links it); 404 when unknown."""
    record = mock_state().store.get(response_id)
    if record is None:
        raise ApiError("not_found", param="response_id", id=printable(response_id))
    return jsonify(records.response_now(record))


@admin.post("/reset")
def reset() -> Response:
    """Forget stored responses, key usage, scenario and fault counts; restore the configured seed."""
    state = mock_state()
    state.reset()
    return jsonify({"reset": True, "seed": state.seed})


@admin.route("/seed", methods=["GET", "POST"])
def seed() -> Response:
    """Read (GET) or set (POST ``{"seed": N}``) the reply seed."""
    state = mock_state()
    if request.method == "POST":
        state.seed = requested_seed()
    return jsonify({"seed": state.seed})


def requested_seed() -> int:
    """The seed of a ``{"seed": N}`` body, read with the same limits as an API request (size, depth, Content-Type)."""
    config = mock_state().config
    body = read_json_body(request, max_bytes=config.max_body_bytes, max_depth=config.max_json_depth)
    value = body.get("seed") if isinstance(body, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError("invalid_request", param="seed", detail='send {"seed": N} with an integer N')
    if not -(2**63) <= value < 2**63:
        raise ApiError("invalid_request", param="seed", detail="must fit in 64 bits")
    return value


@admin.get("/requests")
def recent_requests() -> Response:
    """The last requests to the API (admin calls left out), oldest first.

    Each gives the method, path, status, request id and milliseconds, the
    body as received (up to 64 KiB), and for a refused request the error the
    client got; never a header.
    """
    state = mock_state()
    limit = int_param(request, "limit", default=100, low=1, high=state.recent.limit)
    return jsonify({"object": "list", "data": state.recent.latest(limit)})


@admin.get("/config")
def config() -> Response:
    """The configuration in effect, keys masked."""
    return jsonify(shown_config())


def shown_config() -> dict[str, Any]:
    """The configuration in effect, keys masked (``sk-***``), paths as strings."""
    state = mock_state()
    values = asdict(state.config)
    values["api_keys"] = [{**spec, "key": "sk-***"} for spec in values["api_keys"]]
    values["scenarios_dir"] = str(state.config.scenarios_dir) if state.config.scenarios_dir else None
    values["replay_dir"] = str(state.config.replay_dir) if state.config.replay_dir else None
    values["store_url"] = masked_url(state.config.store_url)
    values["background_pace"] = [s if s != float("inf") else "hold" for s in state.config.background_pace]
    values["seed_now"] = state.seed
    return values


def masked_url(url: str | None) -> str | None:
    """A store URL without its password (``redis://:secret@host`` shows ``redis://:***@host``)."""
    if not url or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{host}"
