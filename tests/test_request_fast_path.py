"""The mock's fast yes/no on a create request (jsonschema-rs) says what jsonschema says.

The mock accepts a request when the compiled fast path says it is valid and
words the violations with ``schemas.validate`` otherwise; if the two ever
disagreed, the mock would accept a request its own schema refuses, or answer
400 with no violation to name. Generated valid requests, the suite's broken
ones, and valid requests with arbitrary JSON dropped in at any key, in both
profiles.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from contract_tests import strategies
from mockserver.http.checks import _request_is_valid

MODELS = ("qwen3.6-plus", "qwen-plus")
SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def agree(body: Any, profile: str) -> bool:
    fast = _request_is_valid(profile)(body)
    assert fast == schemas.is_valid(body, "request", profile), body
    return fast


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_valid_requests(profile: str) -> None:
    @SETTINGS
    @given(body=strategies.valid_requests(MODELS, profile))
    def check(body: dict[str, Any]) -> None:
        assert agree(body, profile)

    check()


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_broken_requests(profile: str) -> None:
    @SETTINGS
    @given(broken=strategies.invalid_requests(MODELS, profile))
    def check(broken: strategies.Broken) -> None:
        assert not agree(broken.body, profile)

    check()


@pytest.mark.parametrize("profile", schemas.PROFILES)
def test_anything_dropped_in(profile: str) -> None:
    @SETTINGS
    @given(body=strategies.valid_requests(MODELS, profile), where=st.data(), value=json_values)
    def check(body: dict[str, Any], where: st.DataObject, value: Any) -> None:
        node: Any = body
        while isinstance(node, dict | list) and node and where.draw(st.booleans()):
            key = where.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
            if not isinstance(node[key], dict | list):
                break
            node = node[key]
        if isinstance(node, dict):
            node[where.draw(st.sampled_from([*node, "extra"]) if node else st.just("extra"))] = value
        elif node:
            node[where.draw(st.integers(0, len(node) - 1))] = value
        agree(body, profile)

    check()
