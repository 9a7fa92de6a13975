"""The end-of-run summary: what was checked, how many requests it cost, observations, OpenAI compatibility, coverage.

Gateway replies are also validated against the openai profile; the
deviations are tallied here and printed, not failed (``--contract-strict-openai``
fails them). Known ones are those ``schemas/deviations.json`` lists, with
their impact on openai SDK users; anything else is new and worth a look.
The coverage of the contract (``coverage.py``) closes it, in short.

Two forms: lines for the terminal (``summary_lines``, this process's session)
and Markdown for a CI job summary (``markdown_summary``, the whole run's
:class:`~contract_tests.runreport.RunReport`, ``--contract-markdown FILE``).
"""

from __future__ import annotations

from schemas.behaviour import deviations

from .budget import spent_line
from .coverage import matrix, short_lines
from .report import cell
from .runreport import RunReport
from .session import ContractSession

#: How many violations and observations the Markdown summary lists before "and N more".
MARKDOWN_ROWS = 10


def summary_lines(session: ContractSession) -> list[str]:
    options, target = session.options, session.target
    where = options.base_url if options.live else f"in-process ({options.app or 'the mock'})"
    lines = [f"target: {where}, {options.profile} profile, models: {', '.join(session.models)}"]
    lines.append(spent_line(target.requests.state()) if target.requests else f"requests: {target.used}")
    lines += reported_lines(session)
    lines += compatibility_lines(session)
    lines += ["", "coverage of the contract (what was sent and seen, against what the schemas allow):"]
    lines += [f"  {line}" for line in short_lines(matrix(session.profile, session.observed))]
    return lines


def reported_lines(session: ContractSession) -> list[str]:
    """Observations and known issues: reported, never failed (levels: ``session.levels.source``)."""
    tally = session.reported.findings
    if not tally:
        return [f"levels: {session.levels.source}; no observations"]
    lines = [f"levels: {session.levels.source}"]
    for level, title in (("known", "known issues (not failed until their date)"), ("observation", "observations")):
        entries = sorted((key, count) for key, count in tally.items() if key[0] == level)
        if entries:
            lines.append(f"{title}:")
            lines += [f"  [{rule}] {path or '/'}: {what}  ({count}x)" for (_, rule, path, what), count in entries]
    return lines


def compatibility_lines(session: ContractSession) -> list[str]:
    tally = session.compat
    if session.profile == "openai" or not tally.replies:
        return []
    verdict = (
        "failed (--contract-strict-openai)"
        if session.options.strict_openai
        else "reported, not failed (--contract-strict-openai fails them)"
    )
    lines = [
        "",
        f"OpenAI compatibility: {tally.replies} replies checked against the openai profile; deviations {verdict}",
    ]
    if not tally.known and not tally.new:
        lines.append("  none: every reply is a valid OpenAI Response object")
    if tally.known:
        lines.append("  known (schemas/deviations.json):")
        listed = {d.path: d for d in deviations()}
        for pattern, count in sorted(tally.known.items()):
            deviation = listed.get(pattern)
            detail = (
                f"openai: {deviation.openai}; gateway: {deviation.gateway}. {deviation.impact}" if deviation else ""
            )
            lines.append(f"    {pattern}  ({count} replies)  {detail}")
    if tally.new:
        lines.append("  NEW (not in schemas/deviations.json):")
        for what, count in sorted(tally.new.items()):
            lines.append(f"    {what}  ({count} replies)")
    return lines


def markdown_summary(report: RunReport) -> str:
    """The run as Markdown: verdict, target, totals, cost, violations, observations, deviations, coverage in short."""
    totals = report.totals
    lines = [
        f"## Responses contract: {report.verdict}",
        "",
        f"- target: `{report.target}`, {report.profile} profile, models: {', '.join(report.models) or 'none'}",
        f"- checks: {', '.join(f'{count} {outcome}' for outcome, count in totals.items())}",
        f"- requests: {report.requests}",
        f"- date: {report.started}",
    ]
    if report.unusable:
        lines += ["", f"**The target cannot be tested** (exit 6): {cell(report.unusable)}"]
    if report.violations:
        lines += ["", f"### Violations ({len(report.violations)})", "", "| check | rule | JSON pointer | message |"]
        lines.append("|---|---|---|---|")
        rows = [(v, f) for v in report.violations for f in v["findings"]]
        for violation, finding in rows[:MARKDOWN_ROWS]:
            lines.append(
                f"| {cell(violation['what'])} | `{finding['rule']}` | `{cell(finding['path'] or '/')}` "
                f"| {cell(finding['message'][:200])} |"
            )
        if len(rows) > MARKDOWN_ROWS:
            lines.append(f"\nand {len(rows) - MARKDOWN_ROWS} more (the HTML report lists them all)")
    if report.reported:
        lines += ["", f"### Observations and known issues ({len(report.reported)})", ""]
        for level, rule, path, what, count in report.reported[:MARKDOWN_ROWS]:
            lines.append(f"- {level}: `[{rule}] {cell(path or '/')}`: {cell(what)} ({count}x)")
        if len(report.reported) > MARKDOWN_ROWS:
            lines.append(f"- and {len(report.reported) - MARKDOWN_ROWS} more")
    seen = [d for d in report.deviations if d.replies]
    if report.profile != "openai" and report.compat_replies:
        lines += ["", "### Gateway vs OpenAI", ""]
        lines += [f"- `{cell(d.path)}`: {cell(d.gateway or d.impact)} ({d.replies} replies)" for d in seen]
        if not seen:
            lines.append("- none seen: every reply was a valid OpenAI Response object")
    if report.coverage:
        lines += ["", "### Coverage of the contract", "", "| dimension | covered | not covered |", "|---|---|---|"]
        for dimension in report.coverage:
            gaps = [gap.value for gap in dimension.gaps]
            shown = ", ".join(f"`{value}`" for value in gaps[:5])
            shown += f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
            lines.append(f"| {dimension.name} | {dimension.share} {dimension.counted} | {shown or 'none'} |")
    return "\n".join(lines) + "\n"
