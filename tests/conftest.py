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
