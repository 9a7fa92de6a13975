"""The API: ``POST /v1/responses`` and ``GET /v1/models``; the stored-response routes where they are served.

``create_response`` is the pipeline, in the order the gateway works (key,
then body, then model)::

    auth, body, checks  ->  faults asked for  ->  a source answers  ->  delivery sends it

Each step is a function of its own module, handed what it needs: nothing
travels through ``flask.g``. The stored-response routes (``GET``/``DELETE
/v1/responses/{id}``, ``input_items``) are a blueprint of their own,
registered only where they are served (the openai profile, or
``serve_stored_routes``); the gateway answers them with its NoRoute 404.

Stored responses belong to the caller that made them (``state/owners.py``):
every view reads them through ``stored_response`` with the caller's owner,
so another key's response answers exactly like an unknown id.
"""

from __future__ import annotations

import functools
import logging

from flask import Blueprint, Response, jsonify, request

import schemas
from schemas.endpoints import input_items_query

from .. import faultspec
from ..delivery import deliver
from ..delivery import faults as injected
from ..failures import ApiError, MockError
from ..failures import printable as clip
from ..reply import ResponseReply
from ..sources import CreateRequest, first_answer
from ..state import MockState, mock_state
from ..state.owners import delete_owned, owned, owner_of
from ..state.store import Record
from .checks import check_request
from .request import choice_param, int_param, read_json_body

log = logging.getLogger("mockserver")
api = Blueprint("api", __name__)
stored_api = Blueprint("stored_api", __name__)


@api.post("/v1/responses")
def create_response() -> Response:
    """Create a response: the one pipeline every source's reply goes through."""
    state = mock_state()
    config = state.config
    key = state.keys.authenticate(request.headers.get("Authorization"))
    owner = owner_of(key)
    body = read_json_body(request, max_bytes=config.max_body_bytes, max_depth=config.max_json_depth)
    body = check_request(body, config.profile, state.valid_requests)
    model = config.model(body["model"])
    if model is None:
        raise ApiError("unknown_model", param="model", model=body["model"])
    state.keys.authorize_model(key, model.id)
    if config.log_requests and body.get("max_tokens") is not None and state.behaviour.fields["max_tokens"] == "ignored":
        log.info("max_tokens=%s ignored: the gateway drops it (use max_output_tokens)", body["max_tokens"])
    ignored = state.behaviour.ignored_in(body) if config.log_requests else []
    if ignored:  # the upstream processes only the parameters it documents and ignores the rest
        log.info("parameters ignored (accepted, no effect): %s", ", ".join(clip(name) for name in ignored))
    faults = requested_faults(state, request.headers.get(faultspec.HEADER))
    reply = first_answer(state.all_sources(), CreateRequest(body, model, owner))
    if isinstance(reply, ResponseReply):  # for /__mock__/requests and the inspector page
        request.response_id, request.response_owner = reply.response["id"], owner
    state.keys.charge(key)  # only a request that got an answer costs quota
    return deliver(reply, faults, state, owner)


def requested_faults(state: MockState, header: str | None) -> faultspec.Faults:
    """The faults for this request, after the wait and the error status they may start with.

    ``first-byte`` waits here and ``status`` answers here, before any source
    is asked, as an upstream that fails never reaches the model.
    """
    try:
        faults = injected.for_request(header, state.faults, state.config.fault_rate, state.store, state.rng)
    except faultspec.FaultSpecError as exc:
        raise MockError(f"{faultspec.HEADER}: {exc}", param=faultspec.HEADER) from None
    if faults is faultspec.NO_FAULTS:
        return faults
    log.info("fault: %s", clip(faults.spec))
    injected.wait_first_byte(faults)
    if faults.status is not None:
        raise ApiError(faultspec.STATUS_FAILURES[faults.status], headers=injected.status_headers(faults))
    return faults


@api.get("/v1/models")
def list_models() -> Response:
    """The models this mock serves (``--model``)."""
    state = mock_state()
    state.keys.authenticate(request.headers.get("Authorization"))
    owner = "mock-gateway"
    return jsonify(
        {
            "object": "list",
            "data": [{"id": m.id, "object": "model", "created": 0, "owned_by": owner} for m in state.config.models],
        }
    )


@stored_api.get("/v1/responses/<response_id>")
def retrieve_response(response_id: str) -> Response:
    """A stored response of the caller's, as the client ended with it."""
    return jsonify(stored_response(mock_state(), response_id)["response"])


@stored_api.delete("/v1/responses/<response_id>")
def delete_response(response_id: str) -> Response:
    """Forget a stored response of the caller's."""
    state = mock_state()
    if not delete_owned(state.store, response_id, caller(state)):
        raise not_found(response_id)
    return jsonify({"id": response_id, "object": deleted_object(state.config.profile), "deleted": True})


@functools.cache
def deleted_object(profile: str) -> str:
    """The ``object`` of a deletion's reply, as the profile's ``deleted`` schema names it (its first, if several)."""
    spec = schemas.load("deleted", profile)["properties"]["object"]
    return spec["const"] if "const" in spec else spec["enum"][0]


@stored_api.get("/v1/responses/<response_id>/input_items")
def list_input_items(response_id: str) -> Response:
    """A page of a stored response's input items (``limit``, ``order``, ``after``: ``schemas/endpoints.json``)."""
    items = stored_response(mock_state(), response_id)["input_items"]
    rules = input_items_query()
    limit_rule, order_rule = rules["limit"], rules["order"]
    limit = int_param(
        request, "limit", default=limit_rule["default"], low=limit_rule["minimum"], high=limit_rule["maximum"]
    )
    order = choice_param(request, "order", choices=order_rule["enum"], default=order_rule["default"])
    ordered = items if order == "asc" else list(reversed(items))
    after = request.args.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        if after not in ids:
            raise ApiError("invalid_request", param="after", detail=f"no input item {clip(after)!r} in this response")
        ordered = ordered[ids.index(after) + 1 :]
    page = ordered[:limit]
    return jsonify(
        {
            "object": "list",
            "data": page,
            "has_more": len(ordered) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
    )


def caller(state: MockState) -> str:
    """The owner of the request's key (``state/owners.py``), after checking the key (401)."""
    return owner_of(state.keys.authenticate(request.headers.get("Authorization")))


def stored_response(state: MockState, response_id: str) -> Record:
    """The caller's stored record for ``response_id``: the one lookup of the stored-response routes.

    Another key's response is not found, exactly as an id never stored.
    """
    record = owned(state.store, response_id, caller(state))
    if record is None:
        raise not_found(response_id)
    return record


def not_found(response_id: str) -> ApiError:
    """The profile's 404 for a response id: unknown, or not the caller's (the two answer alike)."""
    return ApiError("not_found", param="response_id", id=clip(response_id))
