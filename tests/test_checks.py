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


def _completed(*content):
    return {"status": "completed", "output": [{"type": "message", "role": "assistant", "content": list(content)}]}


def test_a_refusal_is_an_answer_and_an_empty_message_is_not():
    from contract_tests.checks import output_present

    refusal = {"type": "refusal", "refusal": "I can't help with that."}
    assert output_present(_completed(refusal), {}) == []
    [empty] = output_present(_completed(), {})
    assert empty.rule == "output_text" and empty.path == "/output"
    assert output_present(_completed({"type": "refusal", "refusal": None}), {}) != []
