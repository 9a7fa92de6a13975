"""Rendering findings for a terminal or as Markdown (a CI job summary, e.g. ``$GITHUB_STEP_SUMMARY``).

Drift and compatibility reports share the layout: a title, what was
compared, a verdict, then one row per finding grouped by class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One finding as shown: its class (group), where (document kind), JSON path, what, and where seen."""

    group: str
    where: str
    path: str
    what: str
    seen_in: Sequence[str] = ()


def render(
    fmt: str, title: str, context: Sequence[str], verdict: str, rows: Sequence[Row], groups: Sequence[str]
) -> str:
    if fmt == "markdown":
        return markdown(title, context, verdict, rows, groups)
    return text(title, context, verdict, rows, groups)


def text(title: str, context: Sequence[str], verdict: str, rows: Sequence[Row], groups: Sequence[str]) -> str:
    lines = [title, *(f"  {line}" for line in context), ""]
    for group in groups:
        members = [r for r in rows if r.group == group]
        if not members:
            continue
        lines.append(f"{group.upper()} ({len(members)})")
        width = max(len(_location(r)) for r in members)
        for row in members:
            lines.append(f"  {_location(row):<{width}}  {row.what}")
            if row.seen_in:
                lines.append(f"  {'':<{width}}  seen in {_seen(row.seen_in)}")
        lines.append("")
    if not rows:
        lines += ["No differences.", ""]
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def markdown(title: str, context: Sequence[str], verdict: str, rows: Sequence[Row], groups: Sequence[str]) -> str:
    lines = [f"## {title}", "", *(f"- {line}" for line in context), "", f"**{verdict}**", ""]
    for group in groups:
        members = [r for r in rows if r.group == group]
        if not members:
            continue
        lines += [
            f"### {group.capitalize()} ({len(members)})",
            "",
            "| Where | Path | What | Seen in |",
            "|---|---|---|---|",
        ]
        for row in members:
            lines.append(
                f"| {cell(row.where)} | `{cell(row.path or '/')}` | {cell(row.what)} | {cell(_seen(row.seen_in))} |"
            )
        lines.append("")
    if not rows:
        lines += ["No differences.", ""]
    return "\n".join(lines)


def _location(row: Row) -> str:
    return f"{row.where} {row.path or '/'}"


def _seen(sources: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(sources[:limit])
    return shown + (f" and {len(sources) - limit} more" if len(sources) > limit else "")


def cell(value: str) -> str:
    """``value`` fit for one Markdown table cell (no pipe, no line break)."""
    return value.replace("|", "\\|").replace("\n", " ")
