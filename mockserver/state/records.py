"""Stored records as the API shows them: one reader per kind, the background clock, the event log.

Every route that reads a stored response goes through ``stored_response``,
every route that reads a conversation through ``stored_conversation``: the
one place where "unknown" is decided, with the caller's owner
(``owners.py``), so another key can never tell "not yours" from "does not
exist".

A response record (``Store``, kind ``RESPONSES``) holds::

    response      the Response as it finishes (completed, failed or incomplete)
    input_items   this turn's input, as listed by GET .../input_items
    conversation  the turns so far and this one's output (what previous_response_id continues)
    stream        {"seed", "family"}: how its events are cut (delivery derives them again on resume)
    events        the events as sent, only when they cannot be derived (a stream a fault cut short)
    background    {"created", "queued", "running", "cancelled_at"}: a background response's clock

A background response is not advanced by a timer of one process: its state
is read from the timestamps stored with it (``background_status``): queued
for ``queued`` seconds after ``created``, then in progress for ``running``
seconds, then what it finished as, unless ``cancelled_at`` says it was
cancelled first. Any worker sharing the store answers the same.
"""

from __future__ import annotations

import copy
import math
import time
from typing import TYPE_CHECKING, Any

from schemas import events

from ..failures import ApiError
from ..failures import printable as clip
from ..reply.events import response_events, seeded_chunker
from .owners import owned
from .store import CONVERSATIONS, Record

if TYPE_CHECKING:
    from .store import Store

#: Statuses of a background response that has not finished (it can still be cancelled).
UNFINISHED = ("queued", "in_progress")


def now() -> float:
    """The clock background responses are read with (a function, so tests can set it)."""
    return time.time()


# --- readers, one per kind ------------------------------------------------------------------------


def stored_response(store: Store, response_id: str, owner: str, *, missing: str = "not_found") -> Record:
    """``owner``'s stored record of ``response_id``.

    An unknown id is the failure ``missing``: ``not_found`` (404) for the
    routes of a stored response, ``previous_response_not_found`` (400) for
    a follow-up.
    """
    record = owned(store, response_id, owner)
    if record is None:
        raise response_not_found(response_id, missing)
    return record


def response_not_found(response_id: str, missing: str = "not_found") -> ApiError:
    """The failure for an unknown response id (or another owner's: the two answer alike)."""
    param = "previous_response_id" if missing == "previous_response_not_found" else "response_id"
    return ApiError(missing, param=param, id=clip(response_id))


def conversation_not_found(conversation_id: str, param: str = "conversation_id") -> ApiError:
    """The failure for an unknown conversation id (or another owner's: the two answer alike)."""
    return ApiError("conversation_not_found", param=param, id=clip(conversation_id))


def stored_conversation(store: Store, conversation_id: str, owner: str, *, param: str = "conversation_id") -> Record:
    """``owner``'s stored record of ``conversation_id``; ``conversation_not_found`` when unknown (or not theirs).

    ``param`` names what carried the id (the route's ``conversation_id``, a create request's ``conversation``).
    """
    record = owned(store, conversation_id, owner, kind=CONVERSATIONS)
    if record is None:
        raise conversation_not_found(conversation_id, param)
    return record


# --- background responses -------------------------------------------------------------------------


def background_clock(created: float, pace: tuple[float, float]) -> dict[str, Any]:
    """The ``background`` entry of a record created at ``created`` with ``pace`` (queued, running seconds).

    An endless part (``hold``) is stored as null: JSON has no infinity.
    """
    queued, running = pace
    return {
        "created": created,
        "queued": None if math.isinf(queued) else queued,
        "running": None if math.isinf(running) else running,
        "cancelled_at": None,
    }


def background_status(record: Record, at: float) -> str:
    """The status of the stored response at time ``at``: its own, or where its background clock says it is."""
    final = record["response"]["status"]
    clock = record.get("background")
    if not clock:
        return final
    if clock.get("cancelled_at") is not None:
        return "cancelled"
    queued = clock["queued"] if clock["queued"] is not None else math.inf
    running = clock["running"] if clock["running"] is not None else math.inf
    elapsed = at - clock["created"]
    if elapsed < queued:
        return "queued"
    if elapsed < queued + running:
        return "in_progress"
    return final


def response_now(record: Record, at: float | None = None) -> dict[str, Any]:
    """The Response as a client retrieving it now sees it: the finished one, or a snapshot of where it is."""
    status = background_status(record, now() if at is None else at)
    final = record["response"]
    if status == final["status"]:
        return final
    return snapshot(final, status)


def snapshot(final: dict[str, Any], status: str) -> dict[str, Any]:
    """``final`` as it looked while ``status`` (queued, in progress, cancelled): no output, no usage yet."""
    shown = {k: v for k, v in final.items() if k not in ("usage", "completed_at")}
    shown.update(status=status, output=[], error=None, incomplete_details=None)
    return shown


def history(record: Record, at: float | None = None) -> list[dict[str, Any]]:
    """What a follow-up (``previous_response_id``) continues: the turns and, once finished, this one's output."""
    conversation = record["conversation"]
    if background_status(record, now() if at is None else at) in (*UNFINISHED, "cancelled"):
        return conversation[: len(conversation) - len(record["response"].get("output") or [])]
    return conversation


def cancel_change(at: float) -> Any:
    """The change ``Store.update`` applies to cancel a background response at ``at`` (idempotent)."""

    def change(record: Record) -> Record | None:
        if not record.get("background"):
            raise ApiError("cancel_not_background", param="response_id")
        status = background_status(record, at)
        if status == "cancelled":
            return None  # cancelled already: cancelling again changes nothing
        if status not in UNFINISHED:
            raise ApiError("cancel_finished", param="response_id", detail=status)
        changed = copy.deepcopy(record)
        changed["background"]["cancelled_at"] = at
        return changed

    return change


# --- the event log --------------------------------------------------------------------------------


def events_so_far(record: Record, at: float | None = None) -> list[dict[str, Any]]:
    """The events of the stored response's stream that have happened by ``at`` (now).

    A finished response: all of them. A background response its clock says
    is still queued or in progress: only its lifecycle start so far
    (``response.created``, ``response.queued``, then ``response.in_progress``),
    so a resume never hands out an answer that ``GET`` says is not there yet;
    the client resumes again later from the last number it saw. A cancelled
    one: its start, never the answer it would have had.
    """
    every = stored_events(record)
    status = background_status(record, now() if at is None else at)
    if status == record["response"]["status"]:
        return every
    started = (
        {events.CREATED, events.QUEUED} if status == "queued" else {events.CREATED, events.QUEUED, events.IN_PROGRESS}
    )
    happened = []
    for event in every:
        if event.get("type") not in started:
            break
        happened.append(event)
    return happened


def stored_events(record: Record) -> list[dict[str, Any]]:
    """Every event of the stored response's stream, numbered from 0, as it was (or would have been) sent.

    The events a fault cut short are kept with the record; any other
    stream is cut again from the stored Response with the seed and the
    reasoning family it was sent with, which gives the same events (the
    reply is built first and its events derived from it). For an admin view
    (``/__mock__``) as much as for stream resume.
    """
    if record.get("events") is not None:
        return copy.deepcopy(record["events"])
    stream = record.get("stream") or {}
    chunker = seeded_chunker(int(stream.get("seed", 0)))
    return list(response_events(record["response"], reasoning_family=stream.get("family", "summary"), chunker=chunker))
