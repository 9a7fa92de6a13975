"""Whose a stored record is, and the one way to read one back.

Every record the mock stores belongs to the caller that made it: its
**owner** is a digest of the caller's API key, or of the key's ``project``
(``--keys-file``), so that several keys of one project share their records
as OpenAI projects do. Without configured keys each distinct key is its own
owner. The key itself is never stored: only ``owner_of(spec)``, a SHA-256
digest (domain-separated, so a project and a key of the same text differ).

The owner is part of the record's key in the store (``OWNER:ID``), not a
field beside it. So a read with another owner's digest is the very same
lookup as a read of an id that was never stored: the caller cannot tell
"exists but not yours" from "does not exist" (same answer, same work: one
store read that finds nothing), and a caller cannot read a record without
saying whose it is. Because the owner lives in the key, every store (memory,
LMDB, SQLite, Redis) and every worker sharing one keeps it with no change of its
own, and a record written before owners existed belongs to nobody.

The rule for every route that reads, changes or deletes a stored record
(retrieve, input items, delete, cancel, stream resume,
``previous_response_id``, every Conversations route and a create's
``conversation``): go through these functions
with the caller's owner, never through ``Store.get``/``delete`` with a bare
id, and answer ``None``/``False`` exactly like an unknown id::

    put_owned(store, record_id, record, owner)   # when the record is made
    owned(store, record_id, owner)               # -> the record, or None: unknown or not yours
    update_owned(store, record_id, change, owner)  # -> the record changed atomically, or None
    delete_owned(store, record_id, owner)        # -> whether it was yours and is gone

Each takes the record's ``kind`` (responses by default, conversations).

Each kind of record then has one lookup function in ``state/records.py``
that turns ``None`` into that kind's "not found" error
(``stored_response``, ``stored_conversation``). The admin endpoints list every owner's records
(``all_records``) and never show an owner.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator

from ..config import KeySpec
from .store import RESPONSES, Change, Record, Store

#: Between the owner and the record's id in a store key; an owner is hex, so the first one splits them.
SEPARATOR = ":"


def owner_of(spec: KeySpec) -> str:
    """The owner of what ``spec``'s caller stores: its ``project``'s digest when it names one, else its key's."""
    kind, name = ("project", spec.project) if spec.project else ("key", spec.key)
    return _owner_digest(kind, name)


@functools.lru_cache(maxsize=1024)
def _owner_digest(kind: str, name: str) -> str:
    """The digest, worked out once per key or project (every request asks it, with the same few keys)."""
    return hashlib.sha256(f"mockserver-owner\0{kind}\0{name}".encode()).hexdigest()[:32]


def record_key(owner: str, record_id: str) -> str:
    """Where ``owner``'s record ``record_id`` lives in a store."""
    return f"{owner}{SEPARATOR}{record_id}"


def put_owned(store: Store, record_id: str, record: Record, owner: str, *, kind: str = RESPONSES) -> None:
    """Keep ``record`` as ``owner``'s ``record_id`` (the newest; the oldest record is evicted past the cap)."""
    store.put(record_key(owner, record_id), record, kind=kind)


def owned(store: Store, record_id: str, owner: str, *, kind: str = RESPONSES) -> Record | None:
    """``owner``'s record ``record_id``; None when there is none, whether or not someone else has one."""
    if not owner:  # a request made outside HTTP (no key): it owns nothing
        return None
    return store.get(record_key(owner, record_id), kind=kind)


def update_owned(store: Store, record_id: str, change: Change, owner: str, *, kind: str = RESPONSES) -> Record | None:
    """Apply ``change`` to ``owner``'s record ``record_id`` atomically; None when there is none to change."""
    if not owner:
        return None
    return store.update(record_key(owner, record_id), change, kind=kind)


def delete_owned(store: Store, record_id: str, owner: str, *, kind: str = RESPONSES) -> bool:
    """Forget ``owner``'s record ``record_id``; False when there was none (another owner's stays)."""
    if not owner:
        return False
    return store.delete(record_key(owner, record_id), kind=kind)


def all_records(store: Store, *, kind: str = RESPONSES) -> Iterator[tuple[str, Record]]:
    """Every owner's records of a kind, newest first, as ``(record id, record)``: for the admin endpoints only."""
    for key in reversed(store.ids(kind=kind)):
        record = store.get(key, kind=kind)
        if record is not None:  # evicted or deleted since ids() was read
            yield record_id_of(key), record


def record_id_of(key: str) -> str:
    """The record id in a store key (``OWNER:ID``; a key without an owner is its own id)."""
    return key.partition(SEPARATOR)[2] or key


def any_owners(store: Store, record_id: str, *, kind: str = RESPONSES) -> Record | None:
    """The record ``record_id`` whoever owns it: for the admin endpoints only (a scan of the store's ids)."""
    for key in reversed(store.ids(kind=kind)):
        if record_id_of(key) == record_id:
            return store.get(key, kind=kind)
    return None
