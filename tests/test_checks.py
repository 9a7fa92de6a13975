"""The reply checks as plain functions: each rule finds what it guards, at the pointer concerned."""

from __future__ import annotations

import pytest

from contract_tests.checks import usage_arithmetic

GOOD = {
    "input_tokens": 10,
    "output_tokens": 6,
    "total_tokens": 16,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens_details": {"reasoning_tokens": 5},
    "x_details": [{"input_tokens": 10, "output_tokens": 6, "total_tokens": 16}],
}


def test_usage_that_adds_up_has_no_finding():
    assert usage_arithmetic(GOOD) == []


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"total_tokens": 15}, "/usage/total_tokens"),
        ({"output_tokens_details": {"reasoning_tokens": 7}}, "/usage/output_tokens_details/reasoning_tokens"),
        ({"input_tokens_details": {"cached_tokens": 11}}, "/usage/input_tokens_details/cached_tokens"),
        (
            {"x_details": [{"input_tokens": 10, "output_tokens": 6, "total_tokens": 17}]},
            "/usage/x_details/0/total_tokens",
        ),
    ],
)
def test_each_broken_sum_is_named_at_its_pointer(change, pointer):
    found = usage_arithmetic({**GOOD, **change})
    assert [f.rule for f in found] == ["usage_arithmetic"] * len(found) and pointer in [f.path for f in found]
