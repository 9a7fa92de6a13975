"""JSON out: the app's bodies encoded by orjson, with the standard library where orjson cannot.

orjson writes what ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))`` writes for the values the mock sends (dicts with
string keys, strings, 64-bit integers, finite floats, lists, booleans,
None), in C and several times faster; the one difference in form is a
small exponent (``1e-7`` where the standard library writes ``1e-07``, the
same number). Anything else (an integer past 64 bits, a key that is not a
string, a date, indentation asked for) goes to the standard library as
before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_COMPACT = (",", ":")
#: Types orjson would write its own way (ISO dates, dataclasses) go to the standard library, as before.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def dumps_compact(value: Any, *, sort_keys: bool = False) -> bytes:
    """``value`` as compact UTF-8 JSON (no spaces, non-ASCII as is), keys sorted when asked."""
    try:
        return orjson.dumps(value, option=_PASSTHROUGH | (orjson.OPT_SORT_KEYS if sort_keys else 0))
    except TypeError:  # an integer past 64 bits, a key that is not a string, a type orjson does not know
        return json.dumps(
            value, ensure_ascii=False, separators=_COMPACT, sort_keys=sort_keys, default=_default
        ).encode()


def _default(value: Any) -> Any:
    return DefaultJSONProvider.default(value)


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with compact dumps by orjson (``ensure_ascii`` off, ``sort_keys`` as set)."""

    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("separators") == _COMPACT and set(kwargs) <= {"separators"} and not self.ensure_ascii:
            return dumps_compact(obj, sort_keys=self.sort_keys).decode("utf-8")
        return super().dumps(obj, **kwargs)
