"""Who may use the admin endpoints under ``/__mock__/``: the holder of the admin key, or this machine.

- With an admin key (``--admin-key``, better the environment: ``MOCK_ADMIN_KEY``),
  every request under the prefix needs ``Authorization: Bearer KEY`` or HTTP
  Basic with the key as password (any user name), so that a browser can log
  in; without it the answer is a 401 with ``WWW-Authenticate: Basic``.
- Without one, they are open when the mock is bound to a loopback address
  (only this machine reaches it) and switched off on any other bind: every
  request under the prefix gets the 404 of a path that does not exist.

``guard`` runs for the whole prefix before routing (``admin.before_app_request``),
so a page added to the admin blueprint later is guarded with no line of its
own, and an unknown admin path answers as a known one does (no guessing the
routes without the key). Keys are compared as SHA-256 digests with
``hmac.compare_digest``: in constant time, whatever the lengths. The admin
key is never echoed, logged or shown (``/__mock__/config`` says only whether
one is set).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from flask import Request
from werkzeug.exceptions import NotFound

from ..config import MockConfig
from .errors import ErrorReply, mock_reply

#: The realm a browser shows when it asks for the admin key.
REALM = "mockserver admin"
#: What the 401 says: how to send the key (never the key).
KEY_REQUIRED = (
    "the admin endpoints need the admin key: send 'Authorization: Bearer KEY', "
    "or HTTP Basic with the key as password (any user name)"
)


def guard(request: Request, config: MockConfig) -> ErrorReply | None:
    """None when the request may use the admin endpoints; else the 401 to answer (or ``NotFound``, raised, when off)."""
    access = config.admin_access
    if access == "open":
        return None
    if access == "off":
        raise NotFound()  # answered like any path that does not exist
    if config.admin_key is not None and same_key(offered_key(request.headers.get("Authorization")), config.admin_key):
        return None
    refusal = mock_reply(401, KEY_REQUIRED, "admin_key_required")
    refusal.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return refusal


def offered_key(header: str | None) -> str | None:
    """The key an ``Authorization`` header offers: a Bearer token, or a Basic password; None for anything else."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return None
    _, colon, password = decoded.partition(":")
    return password if colon else None


def same_key(offered: str | None, key: str) -> bool:
    """Whether ``offered`` is ``key``, compared in constant time (as digests, so lengths tell nothing either)."""
    if offered is None:
        return False
    return hmac.compare_digest(_digest(offered), _digest(key))


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def access_line(config: MockConfig) -> str:
    """How the start-up line describes the admin endpoints (never the key)."""
    if config.admin_access == "key":
        return "admin /__mock__/: admin key required"
    if config.admin_access == "open":
        return "admin /__mock__/: open (loopback bind, no admin key)"
    return f"admin /__mock__/: off (bound to {config.host or 'every address'} without an admin key: set MOCK_ADMIN_KEY)"
