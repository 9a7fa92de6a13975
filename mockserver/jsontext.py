"""JSON text out, one way for the whole mock: bodies, stored records, stream events.

orjson writes what ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))`` writes for the values the mock sends (dicts with
string keys, strings, 64-bit integers, finite floats, lists, booleans,
None), in C and several times faster; the one difference in form is a
small exponent (``1e-7`` where the standard library writes ``1e-07``, the
same number). Anything else (an integer past 64 bits, a key that is not a
string, a date) goes to the standard library as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

#: Types orjson would write its own way (ISO dates, dataclasses) go to the standard library.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def dumps_compact(value: Any, *, sort_keys: bool = False, default: Callable[[Any], Any] | None = None) -> bytes:
    """``value`` as compact UTF-8 JSON (no spaces, non-ASCII as is), keys sorted when asked.

    ``default`` converts what neither encoder knows (as ``json.dumps``'s).
    """
    try:
        return orjson.dumps(value, option=_PASSTHROUGH | (orjson.OPT_SORT_KEYS if sort_keys else 0))
    except TypeError:  # an integer past 64 bits, a key that is not a string, a date
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=default)
        return text.encode("utf-8")
