"""Who may call: the ``Authorization`` header, checked like the gateway does.

new-api strips a ``Bearer `` prefix if present, then takes the rest as the
key, so ``Authorization: sk-xxx`` (the documented form) and ``Bearer sk-xxx``
(the openai SDK) both work. With no keys configured any non-empty key passes;
with keys, each may be limited to models, a request quota and an expiry.

Key usage is counted in the app's store (``Store.incr``), so with a store
shared between worker processes (``--workers``, ``--store``) a quota holds
across all of them. The counters are named by a digest of the key, never the
key itself.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..config import KeySpec, MockConfig, now
from ..failures import ApiError
from ..state.store import MemoryStore

if TYPE_CHECKING:
    from ..state.store import Store


def key_from_header(header: str | None) -> str:
    """The key in an ``Authorization`` header, with or without ``Bearer``."""
    value = (header or "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value


class KeyChecker:
    """Checks keys and counts their use against quotas (thread-safe)."""

    def __init__(self, config: MockConfig, counters: Store | None = None):
        self._keys = {spec.key: spec for spec in config.api_keys}
        self._counters: Store = counters if counters is not None else MemoryStore(1)

    def used(self, key: str) -> int:
        """How many billable requests ``key`` has made (since start or the last reset)."""
        return int(self._counters.get_value(_counter_name(key), 0))

    def authenticate(self, header: str | None) -> KeySpec:
        """The key's spec, or ``ApiError`` (401) for a missing, unknown, expired or used-up key."""
        key = key_from_header(header)
        if not key:
            raise ApiError("missing_key")
        if not self._keys:
            return KeySpec(key)
        spec = self._keys.get(key)
        if spec is None:
            raise ApiError("invalid_key")
        if spec.expires_at is not None and now() >= spec.expires_at:
            raise ApiError("expired_key")
        if spec.quota is not None and self.used(key) >= spec.quota:
            raise ApiError("key_quota_exhausted")
        return spec

    def authorize_model(self, spec: KeySpec, model: str) -> None:
        """403 when the key is limited to other models or its account has no quota left."""
        if spec.models and model not in spec.models:
            raise ApiError("model_not_allowed", param="model", model=model)
        if spec.account_exhausted:
            raise ApiError("insufficient_quota")

    def charge(self, spec: KeySpec) -> None:
        """Count one billable request against the key's quota."""
        if spec.quota is None:
            return
        self._counters.incr(_counter_name(spec.key))

    def reset(self) -> None:
        """Forget all key usage (only keys with a quota are ever counted)."""
        for spec in self._keys.values():
            if spec.quota is not None:
                self._counters.set_value(_counter_name(spec.key), 0)


def _counter_name(key: str) -> str:
    return "key_used:" + hashlib.sha256(key.encode()).hexdigest()[:32]
