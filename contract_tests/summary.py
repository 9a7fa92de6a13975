"""The end-of-run summary: what was checked, how many requests it cost, observations, and OpenAI compatibility.

Gateway replies are also validated against the openai profile; the
deviations are tallied here and printed, not failed (``--contract-strict-openai``
fails them). Known ones are those ``schemas/deviations.json`` lists, with
their impact on openai SDK users; anything else is new and worth a look.
"""

from __future__ import annotations

from schemas.behaviour import deviations

from .budget import spent_line
from .session import ContractSession


def summary_lines(session: ContractSession) -> list[str]:
    options, target = session.options, session.target
    where = options.base_url if options.live else f"in-process ({options.app or 'the mock'})"
    lines = [f"target: {where}, {options.profile} profile, models: {', '.join(session.models)}"]
    lines.append(spent_line(target.requests.state()) if target.requests else f"requests: {target.used}")
    lines += reported_lines(session)
    lines += compatibility_lines(session)
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
