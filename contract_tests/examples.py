"""The documented example (request and 200 reply from the upstream page) and ``record``'s default requests.

Shipped as package data and read through ``importlib.resources``, so that an
installed kit (no checkout, no ``fixtures/``) finds them; tests check the
copies still equal ``fixtures/documented_*.json`` and
``fixtures/recordings/requests.json``.
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


def record_requests() -> list[dict[str, Any]]:
    """What ``python -m contract_tests record`` sends besides the documented request (``{name, body, modes?}``)."""
    return load("record_requests.json")
