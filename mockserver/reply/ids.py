"""Object ids: the profile's prefix (``resp_``, ``msg_``, ``fc_``, ...) and a random UUID.

Ids are the one part of a reply the seed does not fix: two identical
requests must still create two distinct stored responses.
"""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """A new id with the profile's ``prefix`` (``resp_``, ``msg_``, ...)."""
    return f"{prefix}{uuid.uuid4()}"
