"""The inspector page, ``GET /__mock__/``: what the mock has seen and holds, for a person in a browser.

Server-rendered (``templates/inspector.html``, Jinja's autoescaping on, so a
prompt can never become markup), with a few lines of plain JavaScript that
reload it every few seconds while no request body is open. Everything comes
from the app's state: the recent requests and the stored responses from the
store when it is shared, so any worker renders the same page (``--workers``).

Keys are never shown: requests are kept without headers, and every text on
the page (bodies, error messages) passes through the kit's secret masker with
the configured keys, in case a client put one in a body.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas.recording import public_url
from schemas.secrets import SecretMasker

from ..delivery.timing import RECORD_KEY
from ..state import MockState
from ..state.owners import all_records, record_id_of
from ..state.records import response_now
from ..state.store import Record

#: How many recent requests and stored responses the page lists.
SHOWN_REQUESTS = 100
SHOWN_RESPONSES = 50
#: How many findings on proxied replies the page lists (``--proxy-to``).
SHOWN_FINDINGS = 100
#: Seconds between the page's own reloads.
REFRESH_SECONDS = 3


@dataclass
class RequestRow:
    """One recent API request as the page lists it."""

    at: str
    method: str
    path: str
    status: int
    ms: float
    request_id: str
    stream: bool
    response_id: str | None
    stored: bool
    error_code: str | None
    why: str | None
    body: str | None


@dataclass
class EventRow:
    """One event of a streamed response: position, type, milliseconds after the first."""

    sequence_number: int | None
    type: str
    ms: float | None


@dataclass
class ResponseRow:
    """One stored response: identity, and its events in order when it was streamed."""

    id: str
    status: Any
    model: Any
    created_at: str
    events: list[EventRow] = field(default_factory=list)
    ending: str | None = None


@dataclass
class ScenarioRow:
    """A scenario in force: its name, file, what it matches and how often it answers."""

    name: str
    file: str
    matches: str
    answers: str


def page_values(state: MockState) -> dict[str, Any]:
    """Everything the template shows, masked."""
    masker = SecretMasker([spec.key for spec in state.config.api_keys], replacement="sk-***")
    stored_ids = [record_id_of(key) for key in state.store.ids()]
    stored = set(stored_ids)
    config = state.config
    return {
        "profile": config.profile,
        "seed": state.seed,
        "store": type(state.store).__name__,
        "workers": config.workers,
        "stored_count": len(stored_ids),
        "now": _clock(datetime.datetime.now(datetime.UTC).timestamp()),
        "refresh_seconds": REFRESH_SECONDS,
        "requests": [request_row(entry, stored, masker) for entry in reversed(state.recent.latest(SHOWN_REQUESTS))],
        "responses": response_rows(itertools.islice(all_records(state.store), SHOWN_RESPONSES)),
        "scenarios": scenario_rows(state),
        "faults": list(config.faults),
        "fault_rate": config.fault_rate,
        "replay_dir": str(config.replay_dir) if config.replay_dir else None,
        "stored_routes": config.serves_stored_routes,
        "proxy_to": public_url(config.proxy_to) if config.proxy_to else None,
        "record_dir": str(config.record_dir) if config.record_dir else None,
        "verdicts": state.verdicts.counts() if state.verdicts else None,
        "findings": [_masked(entry, masker) for entry in state.verdicts.latest()[:SHOWN_FINDINGS]]
        if state.verdicts
        else [],
    }


def _masked(entry: dict[str, Any], masker: SecretMasker) -> dict[str, Any]:
    """A proxy finding as the page shows it: its texts through the masker (an upstream may echo a key)."""
    return {k: masker.text(v) if isinstance(v, str) else v for k, v in entry.items()} | {"at": _clock(entry["at"])}


def request_row(entry: dict[str, Any], stored: set[str], masker: SecretMasker) -> RequestRow:
    """A recent-requests entry (``app.recent_entry``) as a row: the error's code and message say why."""
    error = entry.get("error") if isinstance(entry.get("error"), dict) else {}
    body = entry.get("body")
    shown = body if body is None or isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
    response_id = entry.get("response_id")
    return RequestRow(
        at=_clock(entry.get("at")),
        method=str(entry.get("method", "")),
        path=masker.text(str(entry.get("path", ""))),
        status=int(entry.get("status", 0)),
        ms=float(entry.get("ms", 0.0)),
        request_id=str(entry.get("request_id", "")),
        stream=bool(entry.get("stream")),
        response_id=response_id,
        stored=response_id in stored,
        error_code=str(error.get("code")) if error.get("code") not in (None, "") else None,
        why=masker.text(str(error["message"])) if error.get("message") else None,
        body=masker.text(shown) if shown is not None else None,
    )


def response_rows(records: Iterable[tuple[str, Record]]) -> list[ResponseRow]:
    """The stored responses (newest first, as ``owners.all_records`` gives them), each with its event log."""
    rows = []
    for response_id, record in records:
        response = response_now(record) if isinstance(record.get("response"), dict) else {}
        log = record.get(RECORD_KEY) or {}
        rows.append(
            ResponseRow(
                id=response_id,
                status=response.get("status"),
                model=response.get("model"),
                created_at=_clock(response.get("created_at")),
                events=[
                    EventRow(event.get("sequence_number"), str(event.get("type")), event.get("ms"))
                    for event in log.get("events", [])
                ],
                ending=log.get("ending"),
            )
        )
    return rows


def scenario_rows(state: MockState) -> list[ScenarioRow]:
    """The scenarios in force (``--scenarios``), in the order they are tried."""
    from ..sources.scenarios import ScenarioSource, counter_name

    rows = []
    for source in state.sources:
        if not isinstance(source, ScenarioSource):
            continue
        for scenario in source.scenarios:
            conditions = [f"model = {scenario.model}"] if scenario.model else []
            if scenario.input_kind:
                conditions.append(f"input {scenario.input_kind} {scenario.input_value!r}")
            conditions += [f"metadata.{key} = {value}" for key, value in scenario.metadata.items()]
            if scenario.stream is not None:
                conditions.append(f"stream = {str(scenario.stream).lower()}")
            answers = "always"
            if scenario.times is not None:
                used = min(int(state.store.get_value(counter_name(scenario.name), 0) or 0), scenario.times)
                answers = f"{used} of {scenario.times} used"
            rows.append(ScenarioRow(scenario.name, str(scenario.place), ", ".join(conditions) or "anything", answers))
    return rows


def _clock(timestamp: Any) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC (empty when there is none)."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return ""
    try:
        moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return str(timestamp)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
