"""The API: ``/v1/responses`` (create, retrieve, delete, input items) and ``/v1/models``.

Views stay thin: authentication, body checks, reply building, storing and
streaming each live in their own module; a view strings them together in
the order the gateway does (key first, then body, then model).
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from schemas.behaviour import Behaviour, behaviour

from . import faults, sse
from .body import check_request, read_json_body
from .errors import ApiError
from .errors import printable as clip
from .generation import seeded_rng
from .replies import Turn, build_response, failed_response, normalise_input
from .state import MockState, mock_state

log = logging.getLogger("mockserver")
api = Blueprint("api", __name__)


def profile_behaviour() -> Behaviour:
    return behaviour(current_app.config["MOCK"].profile)


@api.post("/v1/responses")
def create_response() -> Response:
    state = mock_state()
    config = state.config
    key = state.keys.authenticate(request.headers.get("Authorization"))
    body = g.request_body = check_request(
        read_json_body(request, max_bytes=config.max_body_bytes, max_depth=config.max_json_depth), config.profile
    )
    model = config.model(body["model"])
    if model is None:
        raise ApiError("unknown_model", param="model", model=body["model"])
    state.keys.authorize_model(key, model.id)
    if (
        config.log_requests
        and body.get("max_tokens") is not None
        and profile_behaviour().fields["max_tokens"] == "ignored"
    ):  # a per-request line: --quiet drops it
        log.info("max_tokens=%s ignored: the gateway drops it (use max_output_tokens)", body["max_tokens"])
    ignored = profile_behaviour().ignored_in(body) if config.log_requests else []
    if ignored:  # the upstream processes only the parameters it documents and ignores the rest
        log.info("parameters ignored (accepted, no effect): %s", ", ".join(clip(name) for name in ignored))
    injected = g.faults = requested_faults(state)
    answer = next((a for a in (responder(body) for responder in state.responders) if a is not None), None)
    if answer is None:
        answer = generated_reply(body, model, state)
    state.keys.charge(key)  # only a request that got an answer costs quota
    return faults.delivered(answer, injected) if injected is not faults.NO_FAULTS else answer


def requested_faults(state: MockState) -> faults.Faults:
    """The faults for this request (``X-Mock-Fault`` or ``--fault``), after the waits and errors they start with."""
    try:
        injected = faults.for_request(
            request.headers.get(faults.HEADER), state.faults, state.config.fault_rate, state.store
        )
    except faults.FaultSpecError as exc:
        raise ApiError("invalid_request", param=faults.HEADER, detail=clip(str(exc))) from None
    if injected is faults.NO_FAULTS:
        return injected
    log.info("fault: %s", clip(injected.spec))
    faults.delay_reply(injected)
    if injected.status is not None:
        raise ApiError(faults.STATUS_FAILURES[injected.status], headers=faults.status_headers(injected))
    return injected


def generated_reply(body: dict[str, Any], model: Any, state: MockState, **fixed: Any) -> Response:
    """Build, store and send the reply to ``body``, plain or streamed.

    ``fixed`` goes to ``build_response`` (``text=``, ``output=``): a scenario
    fixes the answer but keeps everything else (ids, usage, storing,
    streaming) exactly as a generated reply has it, this request's faults
    included: with faults that fail the reply, the failed reply is what is
    stored and what the client ends with.
    """
    injected = g.get("faults", faults.NO_FAULTS)
    turn = resolve_turn(body, model, state)
    response = build_response(turn, profile_behaviour(), seeded_rng(state.seed, body, turn.conversation), **fixed)
    streamed = bool(body.get("stream"))
    events = stream_events(response, state) if streamed else None
    final = response
    message = faults.failure_message(injected, streamed=streamed)
    if message is not None:
        fail = functools.partial(failed_response, response, message, profile_behaviour())
        if events is not None:
            events, final = faults.cut_stream(events, injected, fail)
        else:
            final = fail([])
    if body.get("store", True) is not False:
        state.store.put(
            final["id"],
            {"response": final, "input_items": turn.input_items, "conversation": turn.conversation + final["output"]},
        )
    if events is not None:
        return event_stream(events, state, response_id=response["id"])
    return jsonify(final)


def resolve_turn(body: dict[str, Any], model: Any, state: MockState) -> Turn:
    """The conversation so far (via ``previous_response_id``) plus this request's input."""
    prefixes = profile_behaviour().id_prefixes
    input_items = normalise_input(body["input"], prefixes["input_item"])
    history: list[dict[str, Any]] = []
    previous_id = body.get("previous_response_id")
    if previous_id:
        record = state.store.get(previous_id)
        if record is None:
            raise ApiError("previous_response_not_found", param="previous_response_id", id=clip(previous_id))
        history = list(record["conversation"])
    return Turn(request=body, model=model, input_items=input_items, conversation=history + input_items)


def stream_events(response: dict[str, Any], state: MockState) -> Iterator[dict[str, Any]]:
    """The events derived from the finished ``response``.

    The split of the text into deltas depends only on the seed and the text,
    so the same request streams the same way every time.
    """
    rng = random.Random(state.seed)
    return sse.response_events(
        response, reasoning_family=state.config.reasoning_stream, chunker=lambda text: sse.split_text(text, rng)
    )


def event_stream(events: Iterable[dict[str, Any]], state: MockState, *, response_id: str) -> Response:
    """``text/event-stream`` of ``events``, sent as they come."""
    return Response(
        paced(events, delay=state.config.stream_delay, ping_every=state.config.ping_every, response_id=response_id),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def paced(events: Iterable[dict[str, Any]], *, delay: float, ping_every: int, response_id: str) -> Iterator[bytes]:
    """Encode and send each event as it comes; a client that leaves is logged, not an error."""
    sent = 0
    try:
        for event in events:
            if sent and delay:
                time.sleep(delay)
            if sent and ping_every and sent % ping_every == 0:
                yield sse.encode_comment("PING")
            yield sse.encode_event(event)
            sent += 1
    except GeneratorExit:
        log.info("client disconnected from stream %s after %d events", response_id, sent)
        raise


@api.get("/v1/responses/<response_id>")
def retrieve_response(response_id: str) -> Response:
    return jsonify(stored(response_id)["response"])


@api.delete("/v1/responses/<response_id>")
def delete_response(response_id: str) -> Response:
    state = mock_state()
    state.keys.authenticate(request.headers.get("Authorization"))
    if not state.store.delete(response_id):
        raise ApiError("not_found", param="response_id", id=clip(response_id))
    return jsonify({"id": response_id, "object": "response.deleted", "deleted": True})


@api.get("/v1/responses/<response_id>/input_items")
def list_input_items(response_id: str) -> Response:
    items = stored(response_id)["input_items"]
    limit = int_param("limit", default=20, low=1, high=100)
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError("invalid_request", param="order", detail=f"{clip(order)!r} is not one of 'asc', 'desc'")
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


@api.get("/v1/models")
def list_models() -> Response:
    state = mock_state()
    state.keys.authenticate(request.headers.get("Authorization"))
    owner = "mock-gateway"
    return jsonify(
        {
            "object": "list",
            "data": [{"id": m.id, "object": "model", "created": 0, "owned_by": owner} for m in state.config.models],
        }
    )


def stored(response_id: str) -> dict[str, Any]:
    """The stored record for ``response_id`` after checking the key; 404 when unknown."""
    state = mock_state()
    state.keys.authenticate(request.headers.get("Authorization"))
    record = state.store.get(response_id)
    if record is None:
        raise ApiError("not_found", param="response_id", id=clip(response_id))
    return record


def int_param(name: str, *, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid_request", param=name, detail=f"{clip(raw)!r} is not an integer") from None
    if not low <= value <= high:
        raise ApiError("invalid_request", param=name, detail=f"must be between {low} and {high}")
    return value
