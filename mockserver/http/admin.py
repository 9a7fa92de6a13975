"""The admin endpoints under ``/__mock__/``: what a test run uses to steer the mock.

Off the ``/v1`` namespace, so they never collide with the API. Who may call
them is decided once for the whole prefix (``admin_access.py``): the holder
of the admin key (``--admin-key``, env ``MOCK_ADMIN_KEY``) when one is set;
else anyone who reaches a loopback bind; nobody (404) on any other bind.
They never show a key: API keys and the admin key appear masked in
``/config``, request logs hold no headers, and a key found in a logged body
is masked there too.

- ``GET  /__mock__/``           the inspector page (HTML, ``inspector.py``): requests, stored responses, faults
- ``GET  /__mock__/health``     liveness, profile, store, number of stored responses; with ``--proxy-to``,
  the proxied exchanges judged and the violations and observations found (``proxy``)
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
from ..state.owners import all_records, any_owners
from .admin_access import guard
from .inspector import page_values
from .request import int_param, read_json_body

PREFIX = "/__mock__"
admin = Blueprint("admin", __name__, url_prefix=PREFIX, template_folder="templates")


@admin.get("/")
def inspector() -> str:
    """The inspector page: recent requests, stored responses with their events, what is in force."""
    return render_template("inspector.html", **page_values(mock_state()))


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is under the admin prefix (a route of it or not)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


@admin.before_app_request
def _guard() -> Response | None:
    """Every request under the prefix, routed or not, passes the admin guard first (``admin_access.py``)."""
    if not is_admin_path(request.path):
        return None
    return guard(request, mock_state().config)


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
            **({"proxy": state.verdicts.counts()} if state.verdicts else {}),
        }
    )


@admin.get("/responses")
def list_responses() -> Response:
    """Newest first: the id, status, model and creation time of each stored response."""
    state = mock_state()
    limit = int_param(request, "limit", default=100, low=1, high=10_000)
    total = len(state.store)
    listed = []
    for response_id, record in all_records(state.store):
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
    return jsonify({"object": "list", "data": listed, "total": total})


@admin.get("/responses/<response_id>")
def stored_response(response_id: str) -> Response:
    """One stored response as a client retrieving it now sees it (the inspector links it); 404 when unknown."""
    record = any_owners(mock_state().store, response_id)
    if record is None:
        raise ApiError("not_found", param="response_id", id=printable(response_id))
    return jsonify(records.response_now(record))


@admin.post("/reset")
def reset() -> Response:
    """Forget stored responses and conversations, key usage, scenario and fault counts; restore the seed."""
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
    """The configuration in effect, API keys masked (``sk-***``), the admin key too (``***``), paths as strings."""
    state = mock_state()
    values = asdict(state.config)
    values["api_keys"] = [{**spec, "key": "sk-***"} for spec in values["api_keys"]]
    values["admin_key"] = "***" if state.config.admin_key else None
    values["proxy_api_key"] = "sk-***" if state.config.proxy_api_key else None
    values["record_dir"] = str(state.config.record_dir) if state.config.record_dir else None
    values["levels_file"] = str(state.config.levels_file) if state.config.levels_file else None
    values["admin_access"] = state.config.admin_access
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
