"""Object ids: the profile's prefix (``resp_``, ``msg_``, ``fc_``, ...) and a random part.

The random part looks like the profile's ids (``schemas/profiles.json``,
``id_style``): a UUID in the gateway profile (its documented
``resp_4ab5fe23-6b2f-...``), 50 hex digits in the openai profile (OpenAI's
``resp_67ccd2bed1ec8190...``). Ids are the one part of a reply the seed does
not fix: two identical requests must still create two distinct stored
responses.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass

from schemas.behaviour import Behaviour


def new_id(prefix: str, style: str = "uuid") -> str:
    """A new id with the profile's ``prefix`` (``resp_``, ``msg_``, ...) in the profile's ``style``."""
    if style == "hex":
        return prefix + secrets.token_hex(25)
    return f"{prefix}{uuid.uuid4()}"


@dataclass(frozen=True)
class Ids:
    """Makes the ids of one profile: ``ids.new("message")``, by the kinds of ``id_prefixes`` in ``profiles.json``."""

    prefixes: dict[str, str]
    style: str = "uuid"

    def new(self, kind: str) -> str:
        """A new id for an object of ``kind`` (an item type without a prefix of its own gets the message's)."""
        return new_id(self.prefixes.get(kind, self.prefixes["message"]), self.style)


@functools.cache
def _ids(profile: str, style: str, prefixes: tuple[tuple[str, str], ...]) -> Ids:
    return Ids(dict(prefixes), style)


def ids_for(behaviour: Behaviour) -> Ids:
    """The id maker of ``behaviour``'s profile."""
    return _ids(behaviour.profile, behaviour.id_style, tuple(sorted(behaviour.id_prefixes.items())))
