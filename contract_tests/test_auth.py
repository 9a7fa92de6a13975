"""Who may call: no key and a wrong key get 401 in the profile's envelope.

The gateway (new-api) strips an optional ``Bearer `` prefix, so its
documented ``Authorization: sk-...`` form is tested too. The in-process mock
is started with one known key, so a wrong key is really wrong; against a
live target the wrong key is a random ``sk-`` string.
"""

from __future__ import annotations

import secrets

import pytest

from . import examples
from .session import ContractSession


def _wrong_key() -> str:
    return f"sk-{secrets.token_urlsafe(36)[:48]}"


def test_no_key_gets_401(contract: ContractSession) -> None:
    reply = contract.target.post("/responses", examples.documented_request(), auth="none")
    contract.expect_error(reply, "no key", "missing_key")


def test_a_wrong_bearer_key_gets_401(contract: ContractSession) -> None:
    reply = contract.target.post(
        "/responses", examples.documented_request(), auth="none", headers={"Authorization": f"Bearer {_wrong_key()}"}
    )
    contract.expect_error(reply, "wrong key (Bearer)", "invalid_key")


def test_a_wrong_bare_key_gets_401(contract: ContractSession) -> None:
    reply = contract.target.post(
        "/responses", examples.documented_request(), auth="none", headers={"Authorization": _wrong_key()}
    )
    contract.expect_error(reply, "wrong key (bare sk- form)", "invalid_key")


def test_the_bare_key_form_is_accepted(contract: ContractSession) -> None:
    """``Authorization: sk-...`` without ``Bearer``, as the gateway's page shows it (a free GET)."""
    if contract.profile != "gateway":
        pytest.skip("only the gateway accepts a key without 'Bearer'")
    reply = contract.target.get("/models", auth="bare")
    from . import checks

    contract.expect(checks.reply_status(reply), reply, "bare key")
