"""Drift report: how recordings differ from the committed schemas and from an earlier recording set.

Three sources of differences, merged by path:

1. validation: every reply body with ``schemas.validate`` (``response`` for
   2xx, ``error`` otherwise), every stream event with the ``event`` schema and
   every stream with the order rules of ``schemas.stream``;
2. structure vs the committed schemas: a schema inferred from the recordings
   compared with ``schemas/<profile>/`` (finds new fields, which the open
   schemas accept and validation therefore cannot see);
3. structure vs ``--against OLD_DIR``: the schemas inferred from both sets
   compared, plus the event sequences of matching streamed requests.

Why classify: CI should fail on what breaks clients (a required field gone, a
type changed, an enum value or event type gone, events reordered) and only
tell about what does not (new fields, values and event types).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemas
from schemas.findings import VIOLATION, Finding, stream_finding
from schemas.levels import Levels, default_levels
from schemas.recording import Exchange, block_type, split_blocks
from schemas.stream import parse_sse, validate_sse, validate_stream

from .compare import ADDITIVE, BREAKING, CLASSES, NOTE, Comparison, Difference, Docs, Loc, view
from .infer import infer, json_type
from .samples import Sample, Samples, collect, stream_events

EVENT = "event "
#: How a drift report groups its rows: what fails, what is known, what is only reported.
LEVEL_GROUPS = ("violation", "known", "observation")


@dataclass
class Report:
    """The differences found (each with its rule and level), and what was compared."""

    folder: str
    profile: str
    against: str | None
    exchanges: int
    differences: list[Difference] = field(default_factory=list)
    levels: str = "schemas/levels.json"

    @property
    def violations(self) -> list[Difference]:
        return [d for d in self.differences if d.level == VIOLATION]

    @property
    def breaking(self) -> list[Difference]:
        """The differences that fail the run (violations); kept under its old name."""
        return self.violations

    @property
    def exit_code(self) -> int:
        return 1 if self.violations else 0


def drift(
    folder: Path, *, against: Path | None = None, profile: str = "gateway", levels: Levels | None = None
) -> tuple[Report, dict[str, Any]]:
    """The drift report for the recordings in ``folder``, and the schemas inferred from them.

    Against an earlier set, exchanges are paired by request name: "no longer
    seen" only for what the same request showed before, and a request absent
    from ``folder`` is reported as not recorded. Each difference's level comes
    from ``levels`` (default ``schemas/levels.json``).
    """
    levels = levels or default_levels()
    new = collect([folder])
    if not new.exchanges:
        raise ValueError(f"{folder}: no recorded exchanges (NNN-name.json files)")
    inferred = infer_all(new)
    found: list[Difference] = []
    found += structural_vs_schemas(new, inferred, profile)
    found += validation_differences(new, profile)
    if against is not None:
        old = collect([against])
        if not old.exchanges:
            raise ValueError(f"{against}: no recorded exchanges to compare with")
        found += by_request(old, new)
    merged = merge(found)
    for difference in merged:
        difference.level, difference.note = levels.level(
            Finding(path=difference.bare_path, message=difference.what, rule=difference.rule)
        )
    report = Report(str(folder), profile, str(against) if against else None, len(new.exchanges), merged, levels.source)
    return report, inferred


def infer_all(samples: Samples) -> dict[str, Any]:
    """One inferred schema per kind: ``response``, ``error`` and ``event <type>``."""
    out: dict[str, Any] = {}
    if samples.responses:
        out["response"] = infer([s.value for s in samples.responses], title="response (inferred)")
    if samples.errors:
        out["error"] = infer([s.value for s in samples.errors], title="error (inferred)")
    for event_type, group in sorted(samples.events.items()):
        out[EVENT + event_type] = infer([s.value for s in group], title=f"{event_type} (inferred)")
    return out


def structural_vs_schemas(
    samples: Samples, inferred: dict[str, Any], profile: str, docs: Docs | None = None
) -> list[Difference]:
    """Differences between what was seen and the committed schemas of ``profile`` (each with its patch)."""
    docs = docs or Docs(profile)
    found: list[Difference] = []
    event_root = docs.root("event")
    event_variants = view([event_root], docs).variants
    for kind, schema in inferred.items():
        if kind.startswith(EVENT):
            event_type = kind[len(EVENT) :]
            if event_type not in event_variants:
                sources = sorted({s.source for s in samples.events.get(event_type, [])})
                found.append(
                    Difference(
                        kind,
                        "",
                        ADDITIVE,
                        "new event type",
                        sources,
                        patch=_add_branch(event_root, schema),
                        rule="drift.new",
                    )
                )
                continue
            diffs = Comparison(docs, "schema", kind).run_many(event_variants[event_type], schema)
        else:
            diffs = Comparison(docs, "schema", kind).run(docs.root(kind), schema)
        found += _with_witnesses(diffs, _samples_of(samples, kind))
    return found


def exchanges_by_name(samples: Samples) -> dict[str, Exchange]:
    """The exchanges of a recording set by request name (``documented``, ``documented-stream``...)."""
    named: dict[str, Exchange] = {}
    for exchange in samples.exchanges:
        named.setdefault(str(exchange.data.get("name") or exchange.path.stem.split("-", 1)[-1]), exchange)
    return named


def by_request(old: Samples, new: Samples) -> list[Difference]:
    """Each request's exchange compared with the same request's earlier one; requests not recorded now, named."""
    earlier, now = exchanges_by_name(old), exchanges_by_name(new)
    found = [
        Difference(
            f"request {name}",
            "",
            NOTE,
            f"not recorded this time (it is in {exchange.path.name})",
            rule="drift.not_recorded",
        )
        for name, exchange in sorted(earlier.items())
        if name not in now
    ]
    for name in sorted(earlier.keys() & now.keys()):
        found += _same_request(name, earlier[name], now[name])
    return found


def _same_request(name: str, before: Exchange, after: Exchange) -> list[Difference]:
    sources = [after.path.name]
    if before.status != after.status or before.is_stream != after.is_stream:
        kind = lambda e: f"HTTP {e.status}{' (stream)' if e.is_stream else ''}"  # noqa: E731
        return [
            Difference(
                "exchange",
                "",
                BREAKING,
                f"{name}: {kind(before)} before, {kind(after)} now",
                sources,
                rule="drift.status",
            )
        ]
    if not after.is_stream:
        if not isinstance(before.body, dict) or not isinstance(after.body, dict):
            return []
        where = "response" if 200 <= after.status < 300 else "error"
        return _observed(where, [before.body], [after.body], sources)
    old_events, new_events = _events_by_type(before), _events_by_type(after)
    found: list[Difference] = []
    for event_type in sorted(old_events.keys() & new_events.keys()):
        found += _observed(EVENT + event_type, old_events[event_type], new_events[event_type], sources)
    for event_type in sorted(old_events.keys() - new_events.keys()):
        what = f"event type gone from the stream (was in {before.path.name})"
        found.append(Difference(EVENT + event_type, "", BREAKING, what, sources, rule="drift.event_gone"))
    for event_type in sorted(new_events.keys() - old_events.keys()):
        found.append(
            Difference(EVENT + event_type, "", ADDITIVE, "new event type in the stream", sources, rule="drift.new")
        )
    found += _reordered(before, after, sources)
    return found


def _observed(where: str, before: list[Any], after: list[Any], sources: list[str]) -> list[Difference]:
    """What changed between what the same request got before and now (``observed`` mode: no longer seen counts)."""
    base = infer(before, title=f"{where} (earlier)")
    differences = Comparison(Docs(documents={"earlier:": base}), "observed", where).run(
        Loc("earlier:", base), infer(after, title=where)
    )
    for difference in differences:
        difference.sources = list(sources)
    return differences


def _events_by_type(exchange: Exchange) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for event in stream_events((exchange.sse or b"").decode("utf-8", "replace")):
        if isinstance(event, dict) and isinstance(event.get("type"), str):
            grouped.setdefault(event["type"], []).append(event)
    return grouped


def _reordered(before: Exchange, after: Exchange, sources: list[str]) -> list[Difference]:
    """Event types of the same request's stream that now come in another order."""
    old_order, new_order = _type_sequence(before.sse or b""), _type_sequence(after.sse or b"")
    common_before = [t for t in old_order if t in new_order]
    common_after = [t for t in new_order if t in old_order]
    if common_before == common_after:
        return []
    first = next(i for i, (a, b) in enumerate(zip(common_before, common_after, strict=False)) if a != b)
    what = (
        f"events reordered: {' > '.join(common_before[first : first + 3])} "
        f"became {' > '.join(common_after[first : first + 3])}"
    )
    return [Difference("stream", "", BREAKING, what, sources, rule="drift.order")]


def _type_sequence(sse: bytes) -> list[str]:
    """The event types of a stream with repeats collapsed (delta x N is one step)."""
    types = [block_type(block) for block in split_blocks(sse)]
    types = [t for t in types if not t.startswith(":")]
    return [t for i, t in enumerate(types) if i == 0 or types[i - 1] != t]


def validation_differences(samples: Samples, profile: str) -> list[Difference]:
    """Every schema violation in the recordings, classified."""
    found: list[Difference] = []
    for sample in samples.responses:
        found += [
            _classified("response", v, sample.source) for v in schemas.validate(sample.value, "response", profile)
        ]
    for sample in samples.errors:
        found += [_classified("error", v, sample.source) for v in schemas.validate(sample.value, "error", profile)]
    for exchange, text in samples.streams:
        for violation in stream_violations(text, profile):
            found.append(_classified_stream(violation, exchange.path.name))
    return found


_PARSE_RULES = ("json", "unterminated", "event_name")


def stream_violations(text: str, profile: str, *, rules_profile: str | None = None) -> list[Finding]:
    """What is wrong with a raw stream: parse problems, every schema violation of every event, broken rules.

    Unlike ``validate_sse`` (the first problem per event), every schema
    violation is listed, as for reply bodies. Event types the schema does not
    know are skipped, as the openai SDK and gateway clients skip them (the
    structural comparison reports them as additive); their sequence numbers are
    closed up if there was no gap before. The order rules (``validate_stream``)
    only mean something when every event passed the schema, since an event the
    checker rejects leaves its bookkeeping behind and every later event then
    looks out of order; ``rules_profile`` checks them under another profile
    (the compatibility report checks order under the gateway's schemas).
    """
    rules_profile = rules_profile or profile
    parsed = parse_sse(text)
    found = [v for v in validate_sse(text, profile) if v.rule in _PARSE_RULES]
    known = known_event_types(profile)
    kept: list[Any] = []
    schema_problems: list[Finding] = []
    for event in (e for e in parsed.events if e.error is None):
        payload = event.json
        kind = payload.get("type") if isinstance(payload, dict) else None
        if isinstance(kind, str) and kind not in known:
            continue
        kept.append(dict(payload) if isinstance(payload, dict) else payload)
        for violation in schemas.validate(payload, "event", profile):
            schema_problems.append(stream_finding(event.index, kind, "schema", violation.message, violation.path))
    numbers = [e.json.get("sequence_number") for e in parsed.events if isinstance(e.json, dict)]
    if len(kept) < len(numbers) and numbers == list(range(len(numbers))):
        for number, payload in enumerate(kept):
            if isinstance(payload, dict):
                payload["sequence_number"] = number
    found += schema_problems
    if not schema_problems or rules_profile != profile:
        rules = validate_stream(kept, rules_profile)
        if not any(v.rule == "schema" for v in rules):
            found += rules
    return found


@functools.cache
def known_event_types(profile: str) -> frozenset[str]:
    """The event types the profile's ``event`` schema describes."""
    docs = Docs(profile)
    return frozenset(view([docs.root("event")], docs).variants)


_ADDITIVE_KEYWORDS = {
    "additionalProperties": "new field",
    "unevaluatedProperties": "new field",
    "enum": "new enum value",
}
_BREAKING_KEYWORDS = {"required": "required field missing", "type": "type changed", "const": "value changed"}


def _classified(where: str, violation: Any, source: str) -> Difference:
    keyword = getattr(violation, "keyword", "")
    path = re.sub(r"/\d+(?=/|$)", "/*", getattr(violation, "path", ""))
    message = getattr(violation, "message", str(violation))
    if keyword in _ADDITIVE_KEYWORDS:
        return Difference(
            where, path, ADDITIVE, f"{_ADDITIVE_KEYWORDS[keyword]} ({message})", [source], rule="drift.new"
        )
    label = _BREAKING_KEYWORDS.get(keyword, "violates the schema")
    return Difference(where, path, BREAKING, f"{label} ({message})" if label != message else label, [source])


_STREAM_MESSAGES = (
    ("required property is missing", BREAKING, "required field missing"),
    ("is not of type", BREAKING, "type changed"),
    ("unexpected property", ADDITIVE, "new field"),
    ("is not one of", ADDITIVE, "new enum value"),
)


def _classified_stream(violation: Finding, source: str) -> Difference:
    """A stream violation on its event type: schema failures as for bodies, broken stream rules (order) breaking."""
    where = EVENT + violation.event_type if violation.event_type else "stream"
    path = re.sub(r"/\d+(?=/|$)", "/*", violation.path)
    if violation.rule == "schema":
        for text, cls, label in _STREAM_MESSAGES:
            if text in violation.message:
                what = f"{label} ({violation.message})" if text != violation.message else label
                return Difference(where, path, cls, what, [source], rule="drift.new" if cls == ADDITIVE else "schema")
        return Difference(where, path, BREAKING, f"violates the schema ({violation.message})", [source])
    what = f"stream rule {violation.rule}: {violation.message}"
    return Difference(where, path, BREAKING, what, [source], rule=f"stream.{violation.rule}")


#: What an earlier recording of the same request shows that the schema says too, when it does.
_SAME_AS_SCHEMA = frozenset({"drift.type_changed", "drift.gone", "drift.null"})


def merge(found: list[Difference]) -> list[Difference]:
    """One entry per (where, path, class): structural findings first (their paths name variants), sources joined.

    A validation failure of a ``type`` union (``anyOf``/``oneOf``) at a position where
    the structure found a new ``type`` value is that same addition, not a break.
    """
    merged: dict[tuple[str, str, str], Difference] = {}
    new_variants = {
        (d.where, d.bare_path)
        for d in found
        if d.cls == ADDITIVE and (d.path.endswith("]") or "new event type" in d.what)
    }
    schema_failures = {(d.where, d.bare_path) for d in found if d.rule == "schema"}
    for difference in found:
        if difference.rule in _SAME_AS_SCHEMA and (difference.where, difference.bare_path) in schema_failures:
            continue  # the same fact, already named by the schema
        union_failure = any(word in difference.what for word in ("anyOf", "oneOf", "matches none"))
        if difference.cls == BREAKING and union_failure and (difference.where, difference.bare_path) in new_variants:
            continue
        key = (difference.where, difference.bare_path, difference.rule)
        if key in merged:
            kept = merged[key]
            kept.sources = sorted(set(kept.sources) | set(difference.sources))
        else:
            merged[key] = Difference(
                difference.where,
                difference.path,
                difference.cls,
                difference.what,
                sorted(set(difference.sources)),
                difference.patch,
                rule=difference.rule,
            )
    order = {cls: i for i, cls in enumerate(CLASSES)}
    return sorted(merged.values(), key=lambda d: (order[d.cls], d.where != "response", d.where, d.bare_path))


def _samples_of(samples: Samples, kind: str) -> list[Sample]:
    if kind.startswith(EVENT):
        return samples.events.get(kind[len(EVENT) :], [])
    return samples.kind(kind)


def _with_witnesses(diffs: list[Difference], samples: list[Sample]) -> list[Difference]:
    """Name the recordings that show each difference: the new type or value, the field, or its absence."""
    for difference in diffs:
        missing = any(word in difference.what for word in ("missing", "no longer", "gone"))
        difference.sources = sorted({s.source for s in samples if _shows(difference, s.value, missing)})
    return diffs


def _shows(difference: Difference, value: Any, missing: bool) -> bool:
    leaves, absent = _values_at(value, difference.path)
    if missing:
        return absent
    if difference.what.startswith("type changed"):
        return any(json_type(leaf) in difference.values for leaf in leaves)
    if difference.what.startswith("new enum value"):
        return any(leaf in difference.values for leaf in leaves)
    return bool(leaves)


_STEP = re.compile(r"/((?:[^/\[]|~1)*)(?:\[type=([^\]]*)\])?")


def _values_at(value: Any, path: str) -> tuple[list[Any], bool]:
    """The values at a generic path (``*`` any item, ``[type=X]`` only such objects), and whether a parent lacks it."""
    nodes, absent = [value], False
    steps = _STEP.findall(path)
    for index, (token, variant) in enumerate(steps):
        name = token.replace("~1", "/").replace("~0", "~")
        following: list[Any] = []
        for node in nodes:
            if name == "*" and isinstance(node, (list, dict)):
                following += node if isinstance(node, list) else list(node.values())
            elif isinstance(node, dict) and name in node:
                following.append(node[name])
            elif isinstance(node, dict) and index == len(steps) - 1:
                absent = True
        if variant:
            following = [n for n in following if isinstance(n, dict) and n.get("type") == variant]
        nodes = following
    return nodes, absent


def _add_branch(event_root: Loc, schema: dict[str, Any]):
    """The patch adding an inferred event type to the committed event schema's ``anyOf``."""
    branch = {k: v for k, v in schema.items() if k not in ("$schema", "title")}

    def patch() -> None:
        event_root.node.setdefault("anyOf", []).append(branch)

    return patch
