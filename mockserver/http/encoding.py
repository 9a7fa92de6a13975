"""The app's JSON bodies, encoded by orjson (``jsontext.py``) where Flask's provider would use ``json.dumps``."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from ..jsontext import dumps_compact

_COMPACT = (",", ":")


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with compact dumps by orjson (``ensure_ascii`` off, ``sort_keys`` as set).

    Indented dumps (the ``--debug`` pretty print) and ``ensure_ascii`` go to
    Flask's own, as before.
    """

    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("separators") == _COMPACT and set(kwargs) <= {"separators"} and not self.ensure_ascii:
            return dumps_compact(obj, sort_keys=self.sort_keys, default=self.default).decode("utf-8")
        return super().dumps(obj, **kwargs)
