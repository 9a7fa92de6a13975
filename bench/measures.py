"""Measures taken in Python: streamed replies over HTTP, validation cost, the in-process create path."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "sk-bench", "Content-Type": "application/json"}


def documented(name: str) -> Any:
    return json.loads((ROOT / "fixtures" / name).read_text(encoding="utf-8"))


def request_files(folder: Path) -> tuple[Path, bytes]:
    """The documented request written to ``folder/request.json`` (for wrk), and its streamed form's bytes."""
    request = documented("documented_request.json")
    body_file = folder / "request.json"
    body_file.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
    return body_file, json.dumps({**request, "stream": True}, ensure_ascii=False).encode()


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class StreamResult:
    streams: int
    events: int
    ttfe_p50_ms: float
    ttfe_p99_ms: float
    rest_p50_ms: float
    events_per_s: float
    errors: int


def stream_bench(url: str, body: bytes, *, seconds: float, max_streams: int = 2000) -> StreamResult:
    """Streams read one after another by one httpx client, for ``seconds``.

    Time to first event: from sending the request to a complete first event
    (its ``data:`` line). The rest: from the first event to the stream's
    end, the part the client's own reading sets once the events come faster
    than it parses them. Events per second: all events over the time spent
    reading streams (request sent to last event), so it carries both.
    """
    import httpx

    ttfe: list[float] = []
    rest: list[float] = []
    events = errors = streams = 0
    busy = 0.0
    with httpx.Client(timeout=10) as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline and streams < max_streams:
            started = time.perf_counter()
            first = None
            count = 0
            try:
                with client.stream("POST", url, content=body, headers=AUTH) as reply:
                    if reply.status_code != 200:
                        errors += 1
                        reply.read()
                        continue
                    for line in reply.iter_lines():
                        if line.startswith("data:"):
                            count += 1
                            if first is None:
                                first = time.perf_counter() - started
            except httpx.HTTPError:
                errors += 1
                continue
            spent = time.perf_counter() - started
            busy += spent
            streams += 1
            events += count
            if first is not None:
                ttfe.append(first)
                rest.append(spent - first)
    return StreamResult(
        streams=streams,
        events=events,
        ttfe_p50_ms=percentile(ttfe, 50) * 1000,
        ttfe_p99_ms=percentile(ttfe, 99) * 1000,
        rest_p50_ms=percentile(rest, 50) * 1000,
        events_per_s=events / busy if busy else 0.0,
        errors=errors,
    )


@dataclass(frozen=True)
class ValidationResult:
    compile_ms: float
    first_validate_ms: float
    response_us: float
    request_us: float
    event_us: float
    compiled_once: bool
    cache_hits: int


def validation_bench(iterations: int = 2000) -> ValidationResult:
    """The cost of ``schemas.validate`` per document, after warm-up, and proof the validator is built once."""
    import schemas
    from schemas import events
    from schemas.validation import validator_for

    response = documented("documented_response.json")
    request = documented("documented_request.json")
    event = {
        "type": events.OUTPUT_TEXT_DELTA,
        "sequence_number": 5,
        "item_id": "msg_1",
        "output_index": 1,
        "content_index": 0,
        "delta": "你好",
        "logprobs": [],
    }
    validator_for.cache_clear()
    started = time.perf_counter()
    first = validator_for("response")
    compile_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    assert schemas.validate(response, "response") == [], "the documented response must be valid"
    first_validate_ms = (time.perf_counter() - started) * 1000
    for _ in range(50):  # warm-up
        schemas.validate(response, "response")
        schemas.validate(request, "request")
        schemas.validate(event, "event")

    def per_call(instance: Any, name: str) -> float:
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(iterations // 5):
                schemas.validate(instance, name)
            samples.append((time.perf_counter() - started) / (iterations // 5))
        return statistics.median(samples) * 1e6

    result_response = per_call(response, "response")
    result_request = per_call(request, "request")
    result_event = per_call(event, "event")
    info = validator_for.cache_info()
    return ValidationResult(
        compile_ms=compile_ms,
        first_validate_ms=first_validate_ms,
        response_us=result_response,
        request_us=result_request,
        event_us=result_event,
        compiled_once=validator_for("response") is first,
        cache_hits=info.hits,
    )


def in_process_bench(reply: bytes, rounds: int = 3, requests: int = 400) -> tuple[float, float]:
    """Microseconds per create in-process, as an app's tests see it: the mock, then the minimal app.

    Both are reached the way the ``mock_gateway`` fixture reaches the mock
    (respx routes an ``httpx.Client`` to the WSGI app: ``route_to_mock``),
    with every body different (a counter in ``metadata``), so nothing
    remembered by body helps. Medians of ``rounds`` interleaved rounds.
    """
    import httpx

    from contract_tests.respx_mock import route_to_mock
    from mockserver import create_app

    from .baseline import baseline_app

    request = documented("documented_request.json")
    apps = {"mock": create_app(log_requests=False), "baseline": baseline_app(reply, [])}
    counter = iter(range(10**9))

    def loop(app: Any, count: int) -> float:
        bodies = [
            json.dumps({"metadata": {"bench": str(next(counter))}, **request}, ensure_ascii=False).encode()
            for _ in range(count)
        ]
        with route_to_mock("https://bench.invalid/v1", app=app), httpx.Client() as client:
            url = "https://bench.invalid/v1/responses"
            started = time.perf_counter()
            for body in bodies:
                client.post(url, content=body, headers=AUTH).raise_for_status()
            return (time.perf_counter() - started) / count * 1e6

    for app in apps.values():
        loop(app, 100)  # warm-up: imports, compiled validators
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            samples[name].append(loop(app, requests))
    return statistics.median(samples["mock"]), statistics.median(samples["baseline"])
