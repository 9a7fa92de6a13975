"""Bad input gets a 4xx in the profile's error envelope: never a 2xx, never a 5xx.

Requests are generated to break the request schema (a wrong type at any
depth, a value out of range or outside its enum, ``model`` or ``input``
missing, an unknown parameter), plus bytes that are no JSON object at all.
The status and ``error.type`` must be the profile's for that kind of failure
(``schemas/profiles.json``); the live gateway is known to answer a body
without ``input`` with a 500, which is reported as a violation (list it as a
known issue in a levels file to keep a nightly run green on it). An unknown
parameter is bad input only where the profile says so: the gateway's
upstream documents that it ignores parameters it does not list.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from hypothesis import given

from . import checks, strategies
from .session import ContractSession


def test_invalid_requests_get_a_4xx_in_the_error_envelope(contract: ContractSession) -> None:
    @contract.given_settings
    @given(broken=strategies.invalid_requests(contract.models, contract.profile))
    def check(broken: strategies.Broken) -> None:
        reply = contract.target.post("/responses", broken.body)
        contract.expect_error(reply, f"invalid request ({broken})", broken.failure)

    check()


def test_malformed_bodies_get_a_4xx_in_the_error_envelope(contract: ContractSession) -> None:
    @contract.given_settings
    @given(body=strategies.malformed_bodies())
    def check(body: bytes) -> None:
        reply = contract.target.post("/responses", content=body)
        contract.expect_error(reply, "malformed body")

    check()


def test_a_request_without_input_is_a_4xx_not_a_5xx(contract: ContractSession) -> None:
    """The live gateway answers this with HTTP 500 (``input is required``): a violation."""
    reply = contract.target.create({"model": contract.model})
    contract.expect_error(reply, "request without input", "missing_input")


def test_a_request_without_model_is_a_4xx(contract: ContractSession) -> None:
    reply = contract.target.create({"input": "你好"})
    contract.expect_error(reply, "request without model", "missing_model")


def test_an_unknown_model_gets_the_profiles_status(contract: ContractSession) -> None:
    """503 ``model_not_found`` at the gateway (no channel serves it), 400 at OpenAI."""
    reply = contract.target.create({"model": f"no-such-model-{secrets.token_hex(4)}", "input": "你好"})
    contract.expect_error(reply, "unknown model", "unknown_model")


def test_an_unknown_previous_response_id_is_a_4xx(contract: ContractSession) -> None:
    reply = contract.target.create(
        {"model": contract.model, "input": "你好", "previous_response_id": f"resp_{secrets.token_hex(12)}"}
    )
    contract.expect_error(reply, "unknown previous_response_id", "previous_response_not_found")


def test_an_unknown_response_id_is_a_404(contract: ContractSession) -> None:
    """404: the profile's ``not_found``, or at the gateway new-api's NoRoute (it does not route GET at all)."""
    path = f"/responses/resp_{secrets.token_hex(12)}"
    reply = contract.target.get(path)
    full_path = urlsplit(contract.target.base_url).path.rstrip("/") + path
    if contract.behaviour.unrouted is not None and reply.status != 200:
        unrouted = checks.unrouted(reply, contract.profile, "GET", full_path)
        if not unrouted:
            return
    contract.expect_error(reply, "GET an unknown response", "not_found")


def test_unknown_and_unsupported_parameters_are_ignored_where_the_profile_says_so(contract: ContractSession) -> None:
    """The upstream processes only the parameters it documents and ignores the rest (``background`` among them,
    answered synchronously): at the gateway such a request gets an ordinary reply; at OpenAI a 400."""
    names = ["x_unknown_option", "background"]
    request = {"model": contract.model, "input": "你好", "x_unknown_option": 1, "background": True}
    reply = contract.target.create(request)
    if not contract.behaviour.ignores_unknown_parameters:
        contract.expect_error(reply, "unknown parameter", "unknown_parameter")
        return
    contract.expect(checks.unknown_parameters_accepted(reply, contract.profile, names), reply, "unknown parameters")
    body = contract.expect_reply(request, reply, "unknown parameters")
    if body.get("background") is True:
        contract.expect(
            [
                checks.finding(
                    "background_echo",
                    "/background",
                    "the reply echoes background: true; the upstream answers synchronously and the mock says "
                    "false (clients read the status, not this echo)",
                )
            ],
            reply,
            "background: true",
        )
