"""Shared helpers for the project's own tests."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


def load_fixture(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@pytest.fixture
def documented_request() -> dict[str, Any]:
    return load_fixture("documented_request.json")


@pytest.fixture
def documented_response() -> dict[str, Any]:
    return load_fixture("documented_response.json")


#: A strict function tool, as the OpenAI docs' weather example.
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}


def stream_text(sdk, **request):
    """Stream a reply with the SDK's stream helper: its text deltas and the final response."""
    deltas = []
    with sdk.responses.stream(**request) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        return deltas, stream.get_final_response()


API_KEY = "sk-test-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"


@pytest.fixture
def app():
    from mockserver import create_app

    return create_app(seed=7, api_keys=[API_KEY])


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_KEY}"
    return client


@pytest.fixture(scope="module")
def live_server():
    """The mock on a real socket, shared by a module's tests."""
    from mockserver import create_app

    from .servers import LiveServer

    with LiveServer(create_app(seed=7, api_keys=[API_KEY], log_requests=False)) as server:
        yield server


class FakeClock:
    """A clock that moves only when slept on: each ``time.sleep`` is recorded and returns at once."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch):
    """``time.sleep`` of the test's own thread goes to a :class:`FakeClock`, so pacing is checked exactly.

    The waits the mock makes (stream pacing, replay timing, fault latency) are
    read as numbers rather than measured, which no machine load can upset. Only
    the test's thread is faked: run the app in-process (its test client), not
    behind a server thread. Other threads sleep for real.
    """
    import threading
    import time

    clock = FakeClock()
    real_sleep = time.sleep
    test_thread = threading.get_ident()

    def sleep(seconds: float) -> None:
        if threading.get_ident() == test_thread:
            clock.sleep(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    return clock


class BackgroundClock:
    """The clock background responses are read with (``mockserver.state.records.now``), moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> BackgroundClock:
    """Background responses advance only when the test moves ``clock.now`` (any thread of this process)."""
    from mockserver.state import records

    clock = BackgroundClock()
    monkeypatch.setattr(records, "now", clock)
    return clock


# --- stores: memory, SQLite and a private Redis (tests/test_workers.py, tests/test_lifecycle.py) ----------


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server on a Unix socket, for one test module."""
    from .servers import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


_prefixes = itertools.count()


@pytest.fixture(params=["memory", "lmdb", "sqlite", "redis"])
def store_url(request, tmp_path) -> str:
    """Each kind of store, empty."""
    if request.param == "memory":
        return "memory://"
    if request.param == "lmdb":
        return f"lmdb:///{tmp_path / 'store.lmdb'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return f"{request.getfixturevalue('redis_url')}?prefix=t{next(_prefixes)}"


@pytest.fixture(params=["lmdb", "sqlite", "redis"])
def shared_url(request, tmp_path) -> str:
    """A store two apps can share, as worker processes do."""
    if request.param == "lmdb":
        return f"lmdb:///{tmp_path / 'shared.lmdb'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return f"{request.getfixturevalue('redis_url')}?prefix=apps{next(_prefixes)}"
