"""Recorded bodies sorted by what they are: replies, error bodies, stream events.

Drift, inference and the compatibility report all need the same split of a
recording set; it lives here once. Each sample remembers the file it came
from, so that a report can say where a difference was seen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.recording import FORMAT, Exchange, load_exchanges
from schemas.stream import parse_sse


@dataclass(frozen=True)
class Sample:
    source: str
    value: Any


@dataclass
class Samples:
    """Reply bodies (2xx), error bodies (other statuses), events by type, raw streams."""

    responses: list[Sample] = field(default_factory=list)
    errors: list[Sample] = field(default_factory=list)
    events: dict[str, list[Sample]] = field(default_factory=dict)
    streams: list[tuple[Exchange, str]] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    def kind(self, name: str) -> list[Sample]:
        """Samples for schema ``name``: ``response``, ``error`` or ``event`` (all events)."""
        if name == "response":
            return self.responses
        if name == "error":
            return self.errors
        if name == "event":
            return [s for group in self.events.values() for s in group]
        raise ValueError(f"no samples for schema {name!r}; use response, error or event")

    def add_exchange(self, exchange: Exchange) -> None:
        """A create request's exchange (another route's, recorded by the mock's proxy, is not a Response: left out)."""
        if not exchange.is_create:
            return
        self.exchanges.append(exchange)
        source = exchange.path.name
        if exchange.sse is not None:
            text = exchange.sse.decode("utf-8", "replace")
            self.streams.append((exchange, text))
            self.add_stream(source, text)
        elif isinstance(exchange.body, dict):
            (self.responses if 200 <= exchange.status < 300 else self.errors).append(Sample(source, exchange.body))

    def add_stream(self, source: str, text: str) -> None:
        for event in stream_events(text):
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                self.events.setdefault(event["type"], []).append(Sample(source, event))


def stream_events(text: str) -> list[Any]:
    """The JSON payloads of a raw event stream, in order (comments and non-JSON data skipped)."""
    return [event.json for event in parse_sse(text).events if event.error is None]


def collect(paths: Iterable[Path]) -> Samples:
    """Samples from recording folders, exchange files, plain JSON bodies or ``.sse`` files."""
    samples = Samples()
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such recording folder or file")
        if path.is_dir():
            for exchange in load_exchanges(path):
                samples.add_exchange(exchange)
        elif path.suffix == ".sse":
            samples.add_stream(path.name, path.read_text(encoding="utf-8"))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == FORMAT:
                stream = data.get("stream")
                sse = (path.parent / stream["file"]).read_bytes() if stream else None
                samples.add_exchange(Exchange(path, data, sse))
            else:
                samples.responses.append(Sample(path.name, data))
    return samples
