"""The one finding type of the kit: a broken rule, where, what, and how much it matters.

Schema validation (:func:`schemas.validate`), the stream rules
(:func:`schemas.validate_stream`), the contract suite's checks and the drift
report all speak in findings. Each carries a *level* (``schemas/levels.json``):

- ``violation``: breaks a client (a required field missing, a wrong type, bad
  arithmetic, stream order, a 5xx for a client error); fails the run;
- ``observation``: worth knowing, breaks nobody (an optional field no longer
  seen, a new field, ``null`` where a value was, an ignored parameter);
  reported, never failed;
- ``known``: a violation listed in the levels file as a known issue whose
  date has not passed yet; reported as known, not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

VIOLATION = "violation"
OBSERVATION = "observation"
KNOWN = "known"
#: The levels a rule can be given in a levels file (``known`` comes from ``known_issues``).
LEVELS = (VIOLATION, OBSERVATION)


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: where (a JSON pointer; for streams also the event), what, which keyword or rule said so.

    ``index`` is the event's position for a stream finding (-1: the stream
    as a whole) and None otherwise; ``note`` says why a finding is ``known``.
    """

    path: str
    message: str
    keyword: str = ""
    schema_path: str = ""
    rule: str = "schema"
    level: str = VIOLATION
    index: int | None = None
    event_type: str | None = None
    note: str = ""

    def __str__(self) -> str:
        if self.index is None:
            return f"{self.path or '/'}: {self.message}"
        where = f"event #{self.index} ({self.event_type})" if self.index >= 0 else "stream"
        return f"{where}{' ' + self.path if self.path else ''}: {self.rule}: {self.message}"

    @property
    def fails(self) -> bool:
        """Whether this finding fails a run (only violations do)."""
        return self.level == VIOLATION

    @property
    def param(self) -> str | None:
        """The pointer as the dotted parameter name OpenAI puts in ``error.param``."""
        from .validation import pointer_to_param

        return pointer_to_param(self.path)

    def at_level(self, level: str, note: str = "") -> Finding:
        return replace(self, level=level, note=note or self.note)


def stream_finding(index: int, event_type: str | None, rule: str, message: str, path: str = "") -> Finding:
    """A finding about a stream: event ``index`` (-1: the stream as a whole) broke ``rule``."""
    return Finding(path=path, message=message, rule=rule, index=index, event_type=event_type)
