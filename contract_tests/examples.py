"""The documented example (request and 200 reply from the upstream page), shipped as package data.

Read through ``importlib.resources`` so that an installed suite (no checkout,
no ``fixtures/``) finds them; ``tests/test_contract_suite.py`` checks the
copies still equal ``fixtures/documented_*.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load(name: str) -> Any:
    return json.loads(resources.files("contract_tests").joinpath("data", name).read_text(encoding="utf-8"))


def documented_request() -> dict[str, Any]:
    return load("documented_request.json")


def documented_response() -> dict[str, Any]:
    return load("documented_response.json")
