"""Records in Redis: shared by every process and machine that reaches it.

Keys (``PREFIX`` defaults to ``mockserver``)::

    PREFIX:records  hash   id -> record JSON
    PREFIX:order    zset   id scored by insertion sequence (oldest first)
    PREFIX:seq      string the insertion sequence (INCR)
    PREFIX:values   hash   name -> JSON value / counter

A put (record, order, eviction) is one Lua script, so it is atomic.
"""

from __future__ import annotations

import json
from typing import Any

from .store import Record, StoreURLError, dump_record, load_record


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
        self._records, self._order, self._seq, self._values = (
            f"{prefix}:{name}" for name in ("records", "order", "seq", "values")
        )
        self._put = self.client.register_script(self._PUT)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreURLError(f"cannot reach Redis at {url.split('?')[0]}: {exc}") from None

    def put(self, response_id: str, record: Record) -> None:
        """Keep ``record`` under ``response_id`` (the newest), evicting the oldest past the cap."""
        self._put(keys=[self._records, self._order, self._seq], args=[response_id, dump_record(record), self.max_items])

    def get(self, response_id: str) -> Record | None:
        """A fresh copy of the record, or None."""
        text = self.client.hget(self._records, response_id)
        return None if text is None else load_record(text)

    def delete(self, response_id: str) -> bool:
        """Forget a record; whether there was one."""
        pipe = self.client.pipeline()
        pipe.hdel(self._records, response_id)
        pipe.zrem(self._order, response_id)
        removed, _ = pipe.execute()
        return bool(removed)

    def ids(self) -> list[str]:
        """Every stored id, oldest first."""
        return [raw.decode() for raw in self.client.zrange(self._order, 0, -1)]

    def clear(self) -> None:
        """Forget every record (named values stay)."""
        self.client.delete(self._records, self._order)

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

    def __len__(self) -> int:
        return int(self.client.zcard(self._order))

    def close(self) -> None:
        """Close the connection(s) this store holds."""
        self.client.close()
