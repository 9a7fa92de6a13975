"""The documented example: the exact request from the upstream page, sent the way the page sends it."""

from __future__ import annotations

from . import checks, examples
from .session import ContractSession


def test_documented_request_succeeds_with_the_documented_shape(contract: ContractSession) -> None:
    """The page's curl sends ``Authorization: sk-...`` (no ``Bearer``), which the gateway accepts."""
    request = examples.documented_request()
    auth = "bare" if contract.profile == "gateway" else "bearer"
    reply = contract.target.create(request, auth=auth)
    body = contract.expect_reply(request, reply, "documented request")
    same_keys = contract.profile == "gateway"
    contract.expect(
        checks.documented_shape(body, examples.documented_response(), same_keys=same_keys), reply, "documented request"
    )
