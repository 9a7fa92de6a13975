"""Replies to valid requests: the profile's schema, the invariants, the token limits, the model list."""

from __future__ import annotations

from hypothesis import given

from . import checks, strategies
from .session import ContractSession

#: A prompt whose honest answer is far longer than 16 tokens.
LONG_ANSWER = "Explain in detail, in at least 300 words, how green tea is grown, picked, dried and brewed."


def test_generated_requests_get_valid_replies(contract: ContractSession) -> None:
    """Requests drawn from the request schema get a 200 that validates and keeps the invariants."""

    @contract.given_settings
    @given(request=strategies.valid_requests(contract.models, contract.profile))
    def check(request: dict) -> None:
        contract.expect_reply(request, contract.target.create(request), "generated request")

    check()


def test_max_output_tokens_caps_the_reply(contract: ContractSession) -> None:
    """``max_output_tokens`` (minimum 16) caps the reply in both profiles; a cut reply says why."""
    request = {"model": contract.model, "input": LONG_ANSWER, "max_output_tokens": 16}
    reply = contract.target.create(request)
    body = contract.expect_reply(request, reply, "max_output_tokens=16")
    if body.get("status") == "completed" and (body.get("usage") or {}).get("output_tokens", 0) >= 16:
        contract.expect(
            [
                checks.finding(
                    "token_limit",
                    "/status",
                    "a reply that used the whole budget of 16 tokens is 'completed', not 'incomplete'",
                )
            ],
            reply,
            "max_output_tokens=16",
        )


def test_max_tokens_takes_the_profiles_effect(contract: ContractSession) -> None:
    """``max_tokens`` as ``profiles.json`` says: no effect at the gateway (it drops the field), a cap at OpenAI's.

    At the gateway a reply cut by it is a finding (``max_tokens_effect``),
    not a crash: the check reads the reply, it does not assume.
    """
    request = {"model": contract.model, "input": LONG_ANSWER, "max_tokens": 16}
    reply = contract.target.create(request)
    body = contract.expect_reply(request, reply, "max_tokens=16")
    effect = contract.behaviour.fields.get("max_tokens", "ignored")
    produced = (body.get("usage") or {}).get("output_tokens")
    if effect == "ignored" and isinstance(produced, int) and produced <= 16:
        contract.expect(
            [
                checks.finding(
                    "max_tokens_effect",
                    "/usage/output_tokens",
                    f"{produced} output tokens for a long answer: capped by max_tokens=16, "
                    f"which the {contract.profile} profile says has no effect",
                )
            ],
            reply,
            "max_tokens=16",
        )


def test_models_are_listed(contract: ContractSession) -> None:
    """``GET /v1/models`` is a model list (the suite's default models come from it)."""
    reply = contract.target.get("/models")
    findings = checks.reply_status(reply) or checks.model_list(reply.json, contract.profile)
    contract.expect(findings, reply, "GET /models")
