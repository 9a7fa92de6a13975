"""JSON text out, one way for the whole mock: bodies, stored records, stream events.

orjson writes what ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))`` writes for the values the mock sends (dicts with
string keys, strings, 64-bit integers, finite floats, lists, booleans,
None), in C and several times faster; the one difference in form is a
small exponent (``1e-7`` where the standard library writes ``1e-07``, the
same number). Anything else (an integer past 64 bits, a key that is not a
string, a date) goes to the standard library as before. JSON already
encoded (``EncodedJSON``: a reply's body kept in its stored record) is
written as it is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import orjson

#: Types orjson would write its own way (ISO dates, dataclasses) go to the standard library.
PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class EncodedJSON:
    """JSON text already encoded (a reply's body), which ``dumps_compact`` writes as it is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


def dumps_compact(value: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None) -> bytes:
    """``value`` as compact UTF-8 JSON (no spaces, non-ASCII as is), keys sorted when asked.

    ``default`` converts what neither encoder knows (as ``json.dumps``'s).
    """
    try:
        return orjson.dumps(
            value,
            default=functools.partial(_converted, default, orjson.Fragment),
            option=PASSTHROUGH | (orjson.OPT_SORT_KEYS if sort_keys else 0),
        )
    except TypeError:  # an integer past 64 bits, a key that is not a string
        text = json.dumps(
            value,
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=sort_keys,
            default=functools.partial(_converted, default, json.loads),
        )
        return text.encode("utf-8")


def _converted(default: Callable[[Any], Any] | None, encoded: Callable[[bytes], Any], value: Any) -> Any:
    """What an encoder's ``default`` returns: ``EncodedJSON`` through ``encoded``, the rest through ``default``."""
    if isinstance(value, EncodedJSON):
        return encoded(value.data)
    if default is None:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
    return default(value)
