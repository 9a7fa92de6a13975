"""OpenAI-compatibility report: how recorded replies deviate from the official API.

Every reply (and every stream) is validated against the ``openai`` profile;
each violation is matched with ``schemas/deviations.json`` through
``schemas.behaviour.known_deviation``: a *known* deviation is documented,
with what the openai SDK does about it; a *new* one is not, and is what a
user of the SDK should look at first. Without a recording folder, the mock
is recorded in-process (no network, not even loopback) and reported on.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemas
from schemas.behaviour import Deviation, behaviour, known_deviation

from .drift import stream_violations
from .record import ROOT
from .samples import collect

PROFILE = "openai"
REQUESTS = ROOT / "fixtures" / "recordings" / "requests.json"
KNOWN, NEW = "known", "new"
#: Where an event carries a piece of the Response object: the prefix, and the same place in a Response.
EVENT_PARTS = (("/response/", "/"), ("/item/", "/output/0/"), ("/part/", "/output/0/content/0/"))


@dataclass
class Incompatibility:
    """One way the recordings depart from the openai profile: a listed deviation, or a new one at one path."""

    path: str
    message: str
    deviation: Deviation | None
    places: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    @property
    def cls(self) -> str:
        return KNOWN if self.deviation else NEW

    @property
    def where(self) -> str:
        """``response``, ``error``, ``stream`` or a combination (new ones: the event type)."""
        if self.deviation is None:
            return "/".join(sorted(self.places))
        kinds = {"stream" if p.startswith("event ") else p for p in self.places}
        return "+".join(k for k in ("response", "error", "stream") if k in kinds)


def compat(folder: Path | None = None) -> tuple[list[Incompatibility], int]:
    """The deviations found (a known one once, wherever it shows) and the number of exchanges looked at."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="compat-") as tmp:
            record_mock_in_process(Path(tmp))
            return compat(Path(tmp))
    samples = collect([folder])
    if not samples.exchanges:
        raise ValueError(f"{folder}: no recorded exchanges (NNN-name.json files)")
    found: dict[tuple[str, ...], Incompatibility] = {}

    def add(where: str, pointer: str, message: str, source: str, deviation_pointer: str | None = None) -> None:
        generic = re.sub(r"/\d+(?=/|$)", "/*", pointer)
        deviation = known(where, deviation_pointer or pointer)
        key = ("known", deviation.path) if deviation else ("new", where, generic, message)
        entry = found.setdefault(key, Incompatibility(deviation.path if deviation else generic, message, deviation))
        entry.places.add(where)
        if source not in entry.sources:
            entry.sources.append(source)

    for sample in samples.responses:
        for violation in schemas.validate(sample.value, "response", PROFILE):
            add("response", violation.path, violation.message, sample.source)
    for sample in samples.errors:
        for violation in schemas.validate(sample.value, "error", PROFILE):
            add("error", violation.path, violation.message, sample.source)
    for exchange, text in samples.streams:
        for violation in stream_violations(text, PROFILE, rules_profile="gateway"):
            pointer = violation.path
            inner = next(
                (to + pointer[len(prefix) :] for prefix, to in EVENT_PARTS if pointer.startswith(prefix)), None
            )
            where = f"event {violation.event_type}" if violation.event_type else "stream"
            message = (
                violation.message
                if violation.rule == "schema"
                else f"stream rule {violation.rule}: {violation.message}"
            )
            add(where, pointer, message, exchange.path.name, inner)
    order = {NEW: 0, KNOWN: 1}
    for entry in found.values():
        entry.sources.sort()
    return sorted(found.values(), key=lambda i: (order[i.cls], i.where, i.path)), len(samples.exchanges)


def known(where: str, pointer: str) -> Deviation | None:
    """The listed deviation a violation is: ``deviations.json`` for replies, ``profiles.json`` for error envelopes."""
    if where != "error":
        return known_deviation(pointer)
    if pointer == "/error/param" and not behaviour("gateway").error_has_param:
        return ERROR_PARAM
    return None


ERROR_PARAM = Deviation(
    path="/error/param",
    kind="missing",
    openai="required, nullable",
    gateway="absent (profiles.json: the gateway's error envelope has no param)",
    impact="The SDK's APIError.param is None; the request id is in the message and the X-Oneapi-Request-Id header.",
)


def record_mock_in_process(out: Path) -> list[Path]:
    """Record the gateway-profile mock through a WSGI transport: the documented request plus ``REQUESTS``."""
    from .baseline import record_mock

    return record_mock(out, seed=1)


def describe(item: Incompatibility) -> str:
    """What a user of the openai SDK should know about one deviation."""
    if item.deviation is None:
        return item.message
    d: Any = item.deviation
    return f"{d.kind}: openai {d.openai}, gateway {d.gateway}. {d.impact}"
