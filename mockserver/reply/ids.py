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
import os
import threading
import uuid
from dataclasses import dataclass

from schemas.behaviour import Behaviour


class RandomBytes:
    """Random bytes from the system's generator, read a few kilobytes at a time.

    Why not ``uuid.uuid4()`` or ``secrets`` per id: each is a system call that
    releases the GIL, and a thread that releases it waits for the thread
    holding it to let go (up to the switch interval, 5 ms). A create makes
    four or more ids, so under load most of its time was that wait (py-spy:
    a quarter of a worker's samples). The bytes are the same quality
    (``os.urandom``); a forked worker starts with an empty buffer of its own,
    so two workers never hand out the same bytes.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self.lock = threading.Lock()
        self.buffer = b""
        self.offset = 0
        os.register_at_fork(after_in_child=self.forget)

    def forget(self) -> None:
        """Drop what was read (in a forked child: the parent's bytes are the parent's)."""
        self.buffer, self.offset = b"", 0

    def take(self, n: int) -> bytes:
        """``n`` (at most ``size``) fresh random bytes."""
        with self.lock:
            if self.offset + n > len(self.buffer):
                self.buffer, self.offset = os.urandom(self.size), 0
            start = self.offset
            self.offset = start + n
            return self.buffer[start : self.offset]


RANDOM = RandomBytes()


def random_hex(nbytes: int) -> str:
    """``nbytes`` random bytes as hex digits (request ids, the openai profile's ids)."""
    return RANDOM.take(nbytes).hex()


def random_uuid() -> uuid.UUID:
    """A random (version 4) UUID."""
    return uuid.UUID(bytes=RANDOM.take(16), version=4)


def uuid4_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw, version=4))`` without the UUID object (a create makes four ids or more)."""
    octets = bytearray(raw)
    octets[6] = (octets[6] & 0x0F) | 0x40  # version 4
    octets[8] = (octets[8] & 0x3F) | 0x80  # the RFC 4122 variant
    digits = octets.hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def new_id(prefix: str, style: str = "uuid") -> str:
    """A new id with the profile's ``prefix`` (``resp_``, ``msg_``, ...) in the profile's ``style``."""
    if style == "hex":
        return prefix + random_hex(25)
    return prefix + uuid4_text(RANDOM.take(16))


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
    """The id maker of ``behaviour``'s profile.

    Called several times a create: sorting the prefixes for ``_ids``'s key
    each time was 1.7% of a worker's time, so each behaviour's is kept (by
    identity, with the behaviour, so that its id is never another's).
    """
    kept = _BY_BEHAVIOUR.get(id(behaviour))
    if kept is None or kept[0] is not behaviour:
        made = _ids(behaviour.profile, behaviour.id_style, tuple(sorted(behaviour.id_prefixes.items())))
        kept = _BY_BEHAVIOUR[id(behaviour)] = (behaviour, made)
    return kept[1]


_BY_BEHAVIOUR: dict[int, tuple[Behaviour, Ids]] = {}
