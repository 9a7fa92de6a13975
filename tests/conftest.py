"""Shared helpers for the project's own tests."""

from __future__ import annotations

import json
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


class LiveServer:
    """A real waitress server on a free loopback port, in a thread."""

    def __init__(self, app):
        from waitress import create_server

        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        import threading

        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def live_server():
    from mockserver import create_app

    with LiveServer(create_app(seed=7, api_keys=[API_KEY], log_requests=False)) as server:
        yield server
