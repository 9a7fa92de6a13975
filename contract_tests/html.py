"""Self-contained HTML pages: the suite's report (``--contract-html FILE``) and ``drift``/``compat --format html``.

One file each, readable offline and as a CI artifact: the styles are inline,
there is no script, no font, no image and no link to anything outside the
file. Rendered with Jinja (which the kit already has through Flask) from the
templates beside this module, with autoescaping on, so a reply's text is
always shown as text. Every page passes through the kit's secret masker with
the run's key before it is written, whatever reached it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .report import Row
from .reproduce import mask
from .runreport import RunReport

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pointer"] = lambda path: path or "/"
    return env


def report_html(report: RunReport, secrets: Sequence[str] = ()) -> str:
    """The suite's report as one HTML page (keys masked)."""
    page = environment().get_template("report.html").render(report=report)
    return mask(page, secrets)


def findings_html(
    title: str, context: Sequence[str], verdict: str, rows: Sequence[Row], groups: Sequence[str], *, failed: bool
) -> str:
    """A drift or compatibility report as one HTML page: a table per level, by JSON path, with the exchanges."""
    grouped: list[tuple[str, list[Any]]] = [(group, [r for r in rows if r.group == group]) for group in groups]
    return (
        environment()
        .get_template("findings.html")
        .render(title=title, context=context, verdict=verdict, groups=[g for g in grouped if g[1]], failed=failed)
    )


def write(path: Path, page: str) -> None:
    """Write ``page`` to ``path`` (its folder created), UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
