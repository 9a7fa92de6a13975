"""The Responses API: ``POST /v1/responses``, ``GET /v1/models``, compact, and the stateful routes where served.

``create_response`` is the pipeline, in the order the gateway works (key,
then body, then model)::

    auth, body, checks  ->  faults asked for  ->  a source answers  ->  delivery sends it

Each step is a function of its own module, handed what it needs: nothing
travels through ``flask.g``. The other routes are blueprints of their own,
registered only where they are served (``schemas/endpoints.json``):

- ``compact_api``: ``POST /v1/responses/compact`` (both profiles: new-api relays it);
- ``stored_api``: ``GET``/``DELETE /v1/responses/{id}`` (``?stream=true&starting_after=N``
  resumes a stream) and ``input_items`` (the openai profile, or ``serve_stored_routes``);
- ``lifecycle_api``: cancel and input token counting (the openai profile);
  the Conversations API is ``conversations.py``.

The gateway answers every route it does not serve with its NoRoute 404.
Stored records belong to the caller that made them (``state/owners.py``):
every route reads them through ``state.records`` with the caller's owner
(``caller``), so another key's response answers exactly like an unknown id.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request

import schemas
from schemas.endpoints import input_items_query, object_name, retrieve_query
from schemas.secrets import SecretMasker

from .. import faultspec
from ..config import KeySpec, ModelSpec
from ..delivery import deliver, deliver_events
from ..delivery import faults as injected
from ..failures import ApiError, MockError
from ..failures import printable as clip
from ..reply import ResponseReply, compaction
from ..reply.response import shaped
from ..reply.tokens import count_input_tokens as count_input_tokens_of
from ..sources import CreateRequest, first_answer
from ..state import MockState, mock_state, records
from ..state.owners import delete_owned, owner_of, update_owned
from .checks import check_body, check_request
from .forward import proxied_request
from .pages import page_of
from .request import choice_param, current_request, int_param, read_json_body

log = logging.getLogger("mockserver")
api = Blueprint("api", __name__)
stored_api = Blueprint("stored_api", __name__)
lifecycle_api = Blueprint("lifecycle_api", __name__)
compact_api = Blueprint("compact_api", __name__)


@api.post("/v1/responses")
def create_response() -> Response:
    """Create a response: the one pipeline every source's reply goes through."""
    state = mock_state()
    config = state.config
    request = current_request()
    key = state.keys.authenticate(request.headers.get("Authorization"))
    owner = owner_of(key)
    body = read_json_body(request, max_bytes=config.max_body_bytes, max_depth=config.max_json_depth)
    if config.proxy_to is None:
        body = check_request(body, config.profile)
        model = config.model(body["model"])
        if model is None:
            raise ApiError("unknown_model", param="model", model=body["model"])
    else:  # the upstream judges the request it is forwarded (http/forward.py)
        body, model = proxied_request(body, config)
    state.keys.authorize_model(key, model.id)
    if config.log_requests:
        note_ignored_parameters(state, key, body)
    faults = requested_faults(state, request.headers.get(faultspec.HEADER))
    asked = CreateRequest(body, model, owner, request.headers, request.received or b"")
    reply = first_answer(state.all_sources(), asked)
    if isinstance(reply, ResponseReply):  # for /__mock__/requests and the inspector page
        request.response_id, request.response_owner = reply.response["id"], owner
    state.keys.charge(key)  # only a request that got an answer costs quota
    return deliver(reply, faults, state, owner)


def note_ignored_parameters(state: MockState, key: KeySpec, body: dict[str, Any]) -> None:
    """Log the parameters of ``body`` that have no effect: once per set of them, not on every request that repeats it.

    The upstream processes only the parameters it documents and ignores the
    rest; a client that sends one sends it with every request, and the same
    two lines on each would bury the request lines.
    """
    ignored = state.behaviour.ignored_in(body)
    if not ignored or not state.first_notice(("ignored", *ignored)):
        return
    if body.get("max_tokens") is not None and state.behaviour.fields["max_tokens"] == "ignored":
        log.info("max_tokens=%s ignored: the gateway drops it (use max_output_tokens)", body["max_tokens"])
    config = state.config
    secrets = [key.key, config.admin_key, *(spec.key for spec in config.api_keys)]  # a name may be a pasted key
    masker = SecretMasker(secrets, replacement="sk-***")
    names = ", ".join(masker.text(clip(name)) for name in ignored)
    log.info("parameters ignored (accepted, no effect): %s", names)


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
            "object": object_name("list"),
            "data": [{"id": m.id, "object": "model", "created": 0, "owned_by": owner} for m in state.config.models],
        }
    )


@stored_api.get("/v1/responses/<response_id>")
def retrieve_response(response_id: str) -> Response:
    """A stored response as it is now (a background one where its clock says); with ``stream=true``, its events
    after ``starting_after`` as SSE (stream resume)."""
    state = mock_state()
    record = records.stored_response(state.store, response_id, caller(state))
    rules = retrieve_query()
    if choice_param(request, "stream", choices=rules["stream"]["enum"], default=rules["stream"]["default"]) == "true":
        low = rules["starting_after"]["minimum"]
        after = int_param(request, "starting_after", default=low, low=low, high=2**53)
        events = [e for e in records.events_so_far(record) if e.get("sequence_number", -1) > after]
        return deliver_events(events, state, label=response_id)
    return jsonify(records.response_now(record))


@stored_api.delete("/v1/responses/<response_id>")
def delete_response(response_id: str) -> Response:
    """Forget a stored response of the caller's."""
    state = mock_state()
    if not delete_owned(state.store, response_id, caller(state)):
        raise records.response_not_found(response_id)
    return jsonify({"id": response_id, "object": deleted_object(state.config.profile), "deleted": True})


@functools.cache
def deleted_object(profile: str) -> str:
    """The ``object`` of a deletion's reply, as the profile's ``deleted`` schema names it (its first, if several)."""
    spec = schemas.load("deleted", profile)["properties"]["object"]
    return spec["const"] if "const" in spec else spec["enum"][0]


@stored_api.get("/v1/responses/<response_id>/input_items")
def list_input_items(response_id: str) -> Response:
    """A page of a stored response's input items (``limit``, ``order``, ``after``: ``schemas/endpoints.json``)."""
    state = mock_state()
    record = records.stored_response(state.store, response_id, caller(state))
    return jsonify(page_of(record["input_items"], request, input_items_query(), "response"))


@lifecycle_api.post("/v1/responses/<response_id>/cancel")
def cancel_response(response_id: str) -> Response:
    """Cancel a background response that is queued or in progress; cancelling it again changes nothing."""
    state = mock_state()
    at = records.now()
    record = update_owned(state.store, response_id, records.cancel_change(at), caller(state))
    if record is None:  # unknown, or not the caller's
        raise records.response_not_found(response_id)
    return jsonify(records.response_now(record, at))


@lifecycle_api.post("/v1/responses/input_tokens")
def count_input_tokens() -> Response:
    """The input tokens a create request with this body would be charged (its reply's ``usage.input_tokens``)."""
    state = mock_state()
    key = state.keys.authenticate(request.headers.get("Authorization"))
    body = check_body(read_body(state), "input_tokens_request", state.config.profile)
    turn = state.generator.turn(
        CreateRequest({**body, "input": body.get("input") or []}, served_model(state, body, key), owner_of(key))
    )
    count = count_input_tokens_of(turn.conversation, body.get("instructions"))
    return jsonify({"object": object_name("input_tokens"), "input_tokens": count})


@compact_api.post("/v1/responses/compact")
def compact_conversation() -> Response:
    """The conversation (input, or a stored response's turns) shrunk to its user messages and one compaction item."""
    state = mock_state()
    key = state.keys.authenticate(request.headers.get("Authorization"))
    body = check_body(read_body(state), "compact_request", state.config.profile)
    model = served_model(state, body, key)
    turn = state.generator.turn(CreateRequest({**body, "input": body.get("input") or []}, model, owner_of(key)))
    reply = compaction.compacted(turn.conversation, state.behaviour, body.get("instructions"))
    state.keys.charge(key)
    return jsonify(shaped(reply, state.behaviour))


def read_body(state: MockState) -> Any:
    """The JSON body, read with the limits of a create request (size, depth, Content-Type)."""
    return read_json_body(request, max_bytes=state.config.max_body_bytes, max_depth=state.config.max_json_depth)


def served_model(state: MockState, body: dict[str, Any], key: KeySpec) -> ModelSpec:
    """The model a body names (served and allowed to the key), or the first served one when it names none."""
    if not body.get("model"):
        return state.config.models[0]
    model = state.config.model(body["model"])
    if model is None:
        raise ApiError("unknown_model", param="model", model=body["model"])
    state.keys.authorize_model(key, model.id)
    return model


def caller(state: MockState) -> str:
    """The owner of the request's key (``state/owners.py``), after checking the key (401)."""
    return owner_of(state.keys.authenticate(request.headers.get("Authorization")))
