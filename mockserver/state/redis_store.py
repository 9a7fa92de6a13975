"""Records in Redis: shared by every process and machine that reaches it.

Keys (``PREFIX`` defaults to ``mockserver``)::

    PREFIX:records  hash   response id -> record JSON
    PREFIX:order    zset   response id scored by insertion sequence (oldest first)
    PREFIX:conversations:records, PREFIX:conversations:order   the same, for conversations
    PREFIX:seq      string the insertion sequence (INCR)
    PREFIX:values   hash   name -> JSON value / counter

A put (record, order, eviction) is one Lua script, so it is atomic; an
update watches the kind's hash and retries when another client wrote it
in between (optimistic locking).
"""

from __future__ import annotations

import json
from typing import Any

from .store import CONVERSATIONS, RESPONSES, Change, Record, StoreURLError, dump_record, load_record


class RedisStore:
    """Records in Redis, shared by every process and machine that reaches it.

    ``redis-py`` keeps a thread-safe connection pool that it renews after a
    fork, so one client serves all threads of a worker.
    """

    shared = True

    _PUT = """
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
return 1
"""

    def __init__(self, url: str, max_items: int, *, prefix: str = "mockserver"):
        try:
            import redis
        except ImportError:
            raise StoreURLError(f"{url!r}: the redis client is not installed (pip install redis)") from None
        self.max_items = max_items
        self.prefix = prefix
        self.client = redis.Redis.from_url(url.split("?")[0], socket_timeout=10, socket_connect_timeout=5)
        self._seq, self._values = f"{prefix}:seq", f"{prefix}:values"
        #: Each kind's hash of records and its insertion order.
        self._keys = {
            RESPONSES: (f"{prefix}:records", f"{prefix}:order"),
            CONVERSATIONS: (f"{prefix}:conversations:records", f"{prefix}:conversations:order"),
        }
        self._put = self.client.register_script(self._PUT)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreURLError(f"cannot reach Redis at {url.split('?')[0]}: {exc}") from None

    def put(self, key: str, record: Record, *, kind: str = RESPONSES) -> None:
        """Keep ``record`` under ``key`` (the newest of its kind), evicting the oldest past the cap."""
        records, order = self._keys[kind]
        self._put(keys=[records, order, self._seq], args=[key, dump_record(record), self.max_items])

    def get(self, key: str, *, kind: str = RESPONSES) -> Record | None:
        """A fresh copy of the record, or None."""
        text = self.client.hget(self._keys[kind][0], key)
        return None if text is None else load_record(text)

    def update(self, key: str, change: Change, *, kind: str = RESPONSES) -> Record | None:
        """Apply ``change`` under WATCH, retried when another client wrote the kind's records meanwhile."""
        import redis

        records = self._keys[kind][0]
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(records)
                    text = pipe.hget(records, key)
                    if text is None:
                        pipe.unwatch()
                        return None
                    changed = change(load_record(text))
                    if changed is None:
                        pipe.unwatch()
                        return load_record(text)
                    pipe.multi()
                    pipe.hset(records, key, dump_record(changed))
                    pipe.execute()
                    return changed
                except redis.WatchError:
                    continue

    def delete(self, key: str, *, kind: str = RESPONSES) -> bool:
        """Forget a record; whether there was one."""
        records, order = self._keys[kind]
        pipe = self.client.pipeline()
        pipe.hdel(records, key)
        pipe.zrem(order, key)
        removed, _ = pipe.execute()
        return bool(removed)

    def ids(self, *, kind: str = RESPONSES) -> list[str]:
        """Every stored id of a kind, oldest first."""
        return [raw.decode() for raw in self.client.zrange(self._keys[kind][1], 0, -1)]

    def clear(self) -> None:
        """Forget every record of every kind (named values stay)."""
        self.client.delete(*(name for pair in self._keys.values() for name in pair))

    def get_value(self, name: str, default: Any = None) -> Any:
        """A named JSON value, or ``default``."""
        text = self.client.hget(self._values, name)
        return default if text is None else json.loads(text)

    def set_value(self, name: str, value: Any) -> None:
        """Set a named JSON value."""
        self.client.hset(self._values, name, json.dumps(value, ensure_ascii=False))

    def incr(self, name: str, amount: int = 1) -> int:
        """Add ``amount`` to a named counter and return the new count."""
        return int(self.client.hincrby(self._values, name, amount))

    def push(self, name: str, value: Any, *, keep: int) -> None:
        """Add ``value`` as the newest of the named list, keeping the ``keep`` newest (one round trip)."""
        key = self._list_key(name)
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(key, dump_record(value))
        pipe.ltrim(key, 0, max(keep - 1, 0))
        pipe.execute()

    def newest(self, name: str, count: int) -> list[Any]:
        """Up to ``count`` of the named list's newest values, oldest first."""
        if count <= 0:
            return []
        return [json.loads(text) for text in reversed(self.client.lrange(self._list_key(name), 0, count - 1))]

    def drop_list(self, name: str) -> None:
        """Forget the named list."""
        self.client.delete(self._list_key(name))

    def _list_key(self, name: str) -> str:
        return f"{self.prefix}:list:{name}"

    def __len__(self) -> int:
        return int(self.client.zcard(self._keys[RESPONSES][1]))

    def close(self) -> None:
        """Close the connection(s) this store holds."""
        self.client.close()
