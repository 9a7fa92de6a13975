"""The kit's one secret masker (``schemas.secrets``): redacts where a secret stands, never corrupts text."""

from __future__ import annotations

import json

import pytest

from contract_tests.reproduce import MASK, mask
from schemas.secrets import MIN_SUBSTRING, SecretMasker

LONG = "sk-" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0F9e8D7c6"  # 51 characters, like a gateway key
BODY = {"text": "text with x and sk-x inside", "x_details": [{"x_billing_type": "response_api"}], "extra": "xx"}


def test_the_long_key_is_51_characters() -> None:
    assert len(LONG) == 51 and len(LONG) >= MIN_SUBSTRING


@pytest.mark.parametrize("key", ["sk-x", "x"])
def test_a_short_secret_never_changes_body_text(key: str) -> None:
    masker = SecretMasker([key])
    text = json.dumps(BODY)
    assert masker.text(text) == text
    assert masker.text(json.dumps({"input": key})) == json.dumps({"input": "[REDACTED]"})  # a whole value
    assert masker.text(json.dumps({key: 1})) == json.dumps({key: 1})  # an object key is no value
    assert masker.header("Authorization", f"Bearer {key}") == "[REDACTED]"
    assert masker.header("X-Trace", key) == "[REDACTED]" and masker.header("X-Trace", f"{key}!") == f"{key}!"


def test_a_key_length_secret_is_redacted_inside_text_and_so_are_long_runs_of_it() -> None:
    masker = SecretMasker([f"Bearer {LONG}"])
    core = LONG.removeprefix("sk-")
    text = f"key {LONG}, bare {core}, echoed {core[7:19]}, short {core[:9]}, body x and xx"
    assert masker.text(text) == "key [REDACTED], bare [REDACTED], echoed [REDACTED], short " + core[:9] + (
        ", body x and xx"
    )
    assert masker.text(json.dumps(BODY)) == json.dumps(BODY)


def test_mask_keeps_its_signature_and_uses_the_same_rules() -> None:
    assert mask(f"auth {LONG}", LONG) == f"auth {MASK}"
    assert mask("text x", "x") == "text x" and mask("x", ["x"]) == MASK
    assert mask("nothing", None) == "nothing"
