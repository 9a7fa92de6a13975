"""Levels: which findings fail a run (violations) and which are reported only (observations).

``schemas/levels.json`` gives every rule the kit reports a level, overrides
for findings of a rule at some JSON pointers, and *known issues*: violations
already reported upstream, shown as ``known`` and not failed until their
date, violations again after it (so a nightly run stays green on what is
known and turns red on anything new or overdue). Like oasdiff's ERR/WARN/INFO,
the default is a file users can replace with their own
(``--contract-levels FILE``, ``drift --levels FILE``), which is merged over it.
Files are validated when loaded; an error names the file and the field.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .findings import KNOWN, OBSERVATION, VIOLATION, Finding
from .loader import SCHEMA_ROOT, read_json
from .validation import to_pointer

DEFAULT_LEVELS = SCHEMA_ROOT / "levels.json"


class LevelsError(ValueError):
    """A levels file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class PathLevel:
    rule: str
    path: str
    level: str
    note: str = ""


@dataclass(frozen=True)
class KnownIssue:
    rule: str
    until: dt.date
    note: str
    path: str | None = None
    message: str | None = None

    def matches(self, finding: Finding, rule: str) -> bool:
        return (
            fnmatch.fnmatchcase(rule, self.rule)
            and (self.path is None or pointer_matches(self.path, finding.path))
            and (self.message is None or self.message in finding.message)
        )


@dataclass(frozen=True)
class Levels:
    """The levels in force: per rule, per path, and the known issues."""

    rules: dict[str, str]
    paths: tuple[PathLevel, ...] = ()
    known_issues: tuple[KnownIssue, ...] = ()
    source: str = "schemas/levels.json"
    today: dt.date | None = field(default=None, compare=False)

    def level(self, finding: Finding, rule: str | None = None) -> tuple[str, str]:
        """The level of ``finding`` (reported under ``rule``, default its own) and why, when it is known."""
        rule = rule or finding.rule
        level = self.rules.get(rule) or self.rules.get(rule.split(".", 1)[0] + ".*") or VIOLATION
        for override in self.paths:
            if fnmatch.fnmatchcase(rule, override.rule) and pointer_matches(override.path, finding.path):
                level = override.level
                break
        if level != VIOLATION:
            return level, ""
        today = self.today or dt.datetime.now(dt.UTC).date()
        for issue in self.known_issues:
            if issue.matches(finding, rule):
                if today <= issue.until:
                    return KNOWN, f"known issue until {issue.until.isoformat()}: {issue.note}"
                return VIOLATION, f"known issue expired on {issue.until.isoformat()}: {issue.note}"
        return VIOLATION, ""

    def apply(self, finding: Finding, rule: str | None = None) -> Finding:
        """``finding`` with the level this file gives it."""
        level, note = self.level(finding, rule)
        return finding.at_level(level, note)

    def apply_all(self, findings: Iterable[Finding], rule_prefix: str = "") -> list[Finding]:
        return [self.apply(f, rule_prefix + f.rule) for f in findings]


def pointer_matches(pattern: str, pointer: str) -> bool:
    """Whether JSON pointer ``pointer`` matches ``pattern`` (``*``: one segment, a final ``**``: any rest)."""
    wanted, parts = pattern.split("/"), pointer.split("/")
    if wanted and wanted[-1] == "**":
        wanted = wanted[:-1]
        parts = parts[: len(wanted)]
    return len(wanted) == len(parts) and all(
        (w == "*" and p != "") or fnmatch.fnmatchcase(p, w) for w, p in zip(wanted, parts, strict=True)
    )


@functools.cache
def default_levels() -> Levels:
    """The kit's own levels (``schemas/levels.json``)."""
    return _parse(_read(DEFAULT_LEVELS), "schemas/levels.json", known_rules=None)


def load_levels(path: str | Path | None = None) -> Levels:
    """The default levels, with the user's file at ``path`` merged over them (its rules win; its paths and
    known issues are tried first). ``LevelsError`` names the file and the field of any problem."""
    base = default_levels()
    if path is None:
        return base
    path = Path(path)
    user = _parse(_read(path), str(path), known_rules=set(base.rules))
    return Levels(
        rules={**base.rules, **user.rules},
        paths=user.paths + base.paths,
        known_issues=user.known_issues + base.known_issues,
        source=f"{path} over schemas/levels.json",
    )


def _read(path: Path) -> Any:
    try:
        return read_json(path)
    except OSError as exc:
        raise LevelsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise LevelsError(str(exc)) from None


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(read_json(SCHEMA_ROOT / "levels.schema.json"))


def _parse(data: Any, name: str, known_rules: set[str] | None) -> Levels:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        first = errors[0]
        raise LevelsError(f"{name}: {to_pointer(first.absolute_path) or '/'}: {first.message}")
    rules = dict(data.get("rules", {}))
    if known_rules is not None:
        for rule in rules:
            if rule not in known_rules:
                raise LevelsError(f"{name}: /rules/{rule}: unknown rule (known: see schemas/levels.json)")
    issues = []
    for index, entry in enumerate(data.get("known_issues", [])):
        try:
            until = dt.date.fromisoformat(entry["until"])
        except ValueError:
            raise LevelsError(f"{name}: /known_issues/{index}/until: {entry['until']!r} is not a date") from None
        issues.append(KnownIssue(entry["rule"], until, entry["note"], entry.get("path"), entry.get("message")))
    paths = tuple(PathLevel(e["rule"], e["path"], e["level"], e.get("note", "")) for e in data.get("paths", []))
    return Levels(rules=rules, paths=paths, known_issues=tuple(issues), source=name)


__all__ = [
    "KNOWN",
    "OBSERVATION",
    "VIOLATION",
    "Levels",
    "LevelsError",
    "default_levels",
    "load_levels",
    "pointer_matches",
]
