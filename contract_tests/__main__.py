"""``python -m contract_tests check-target|record|drift|infer|compat`` (or ``responses-contract ...``).

Check a target, record it, report drift, update schemas. Exit codes:
``check-target`` 0 when the target can be tested, 6 when not (the suite's
exit code for the same verdict); ``record`` 0, or 1 when a request could not
be sent; ``drift`` 1 on a violation (levels: ``schemas/levels.json``,
``--levels FILE``); ``infer`` 1 when the committed schemas need a change
(like ``diff``); ``compat`` 1 on a deviation from OpenAI that deviations.json
does not list; 2 for bad arguments, unreadable input or an ``--out`` folder
that is in use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import httpx

import schemas

from .compare import Docs, unified_diff
from .report import Row, render

SCHEMA_KINDS = ("response", "error", "event")
FORMATS = ("text", "markdown", "html")
#: ``infer --write`` puts ``schemas/<profile>/<name>.schema.candidate.json`` under this folder (the repository).
CANDIDATE_ROOT = schemas.SCHEMA_ROOT.parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m contract_tests", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser(
        "check-target", help="diagnose a live target as the suite's preflight does (at most 3 requests)"
    )
    check.add_argument("url", metavar="URL", help="the base URL the gateway's clients use, e.g. https://host/v1")
    check.add_argument("--api-key", help="the key (default: $CONTRACT_API_KEY or $OPENAI_API_KEY); never printed")
    check.add_argument("--model", help="model of the test request (default: what GET /models lists, else qwen3.6-plus)")
    check.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")

    rec = sub.add_parser("record", help="send requests (plain and streamed) and save each exchange, secrets redacted")
    rec.add_argument(
        "--base-url", required=True, help="the target, e.g. http://127.0.0.1:8080/v1 (/v1 is added to a bare host)"
    )
    rec.add_argument("--api-key", help="the key (default: $CONTRACT_API_KEY or $OPENAI_API_KEY); never written to disk")
    rec.add_argument(
        "--out",
        type=Path,
        required=True,
        help="a new or empty folder for index.json and NNN-name.json/.sse",
    )
    rec.add_argument(
        "--replace", action="store_true", help="replace the recording already in --out (refused without it)"
    )
    rec.add_argument(
        "--requests",
        type=Path,
        action="append",
        default=None,
        metavar="FILE",
        help=(
            "requests instead of the default list (fixtures/recordings/requests.json): a JSON list of "
            "{name, body, modes?}, an object {name: body}, or a folder of bodies (repeatable)"
        ),
    )
    rec.add_argument("--no-documented", action="store_true", help="leave out fixtures/documented_request.json")
    rec.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")

    drift = sub.add_parser("drift", help="compare recordings with the schemas and with earlier recordings")
    drift.add_argument("folder", type=Path, metavar="DIR")
    drift.add_argument("--against", type=Path, metavar="OLD_DIR", help="an earlier recording of the same requests")
    drift.add_argument("--profile", choices=schemas.PROFILES, default="gateway")
    drift.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="markdown: for a CI summary; html: one self-contained page (a CI artifact)",
    )
    drift.add_argument(
        "--infer-out", type=Path, metavar="FILE", help="also write the schemas inferred from DIR (one per kind)"
    )
    drift.add_argument(
        "--levels", type=Path, metavar="FILE", help="a levels file merged over schemas/levels.json (see README)"
    )

    inf = sub.add_parser("infer", help="infer a schema from recordings and show the change it implies for schemas/")
    inf.add_argument(
        "paths", type=Path, nargs="+", metavar="PATH", help="recording folders, exchange or body JSON files, .sse files"
    )
    inf.add_argument("--schema", choices=SCHEMA_KINDS, default="response")
    inf.add_argument("--profile", choices=schemas.PROFILES, default="gateway", help="the committed schemas to update")
    inf.add_argument(
        "--write", action="store_true", help="write NAME.schema.candidate.json next to each schema that changes"
    )
    inf.add_argument("--raw", action="store_true", help="print the inferred schema itself instead of a diff")

    com = sub.add_parser("compat", help="how recorded replies deviate from the official OpenAI API")
    com.add_argument(
        "folder", type=Path, nargs="?", metavar="DIR", help="recordings (default: the mock, recorded in-process)"
    )
    com.add_argument("--format", choices=FORMATS, default="text", help="markdown: for a CI summary; html: one page")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        commands = {
            "check-target": cmd_check_target,
            "record": cmd_record,
            "drift": cmd_drift,
            "infer": cmd_infer,
            "compat": cmd_compat,
        }
        return commands[args.command](args)
    except (FileNotFoundError, ValueError) as exc:  # LevelsError is a ValueError naming the file and field
        print(f"contract_tests {args.command}: {exc}", file=sys.stderr)
        return 2


def cmd_check_target(args: argparse.Namespace) -> int:
    from .options import KEY_VARIABLES
    from .preflight import EXIT_UNUSABLE, Names, check_target

    source = "--api-key" if args.api_key else next((v for v in KEY_VARIABLES if os.environ.get(v)), None)
    key = args.api_key or (os.environ[source] if source else None)
    names = Names(base_url="check-target", key_option="--api-key", models="--model", key_source=source)
    models = [args.model] if args.model else None
    verdict = check_target(args.url, key, names=names, models=models, timeout=args.timeout)
    for step in verdict.steps:
        print(step)
    if verdict.ok:
        print(f"ok: {verdict.message} ({verdict.requests} requests)")
        return 0
    print(f"contract_tests check-target: {verdict.message}", file=sys.stderr)
    return EXIT_UNUSABLE


def cmd_record(args: argparse.Namespace) -> int:
    from .record import api_key_from_env, load_requests, prepare_out, record_target

    specs = load_requests(args.requests, documented=not args.no_documented)
    prepare_out(args.out, replace=args.replace)
    key = args.api_key or api_key_from_env()
    try:
        written = record_target(args.base_url, key, args.out, specs, timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"contract_tests record: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        data = json.loads(path.read_text(encoding="utf-8"))
        events = len((data.get("stream") or {}).get("events", []))
        timing = data["timing"]
        extra = f", {events} events" if events else ""
        print(
            f"{path}  {data['response']['status']}  {timing['total_ms']:.0f} ms "
            f"(first byte {timing['ttfb_ms']:.0f} ms{extra})"
        )
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    from schemas.levels import load_levels

    from .drift import LEVEL_GROUPS, drift

    report, inferred = drift(args.folder, against=args.against, profile=args.profile, levels=load_levels(args.levels))
    if args.infer_out:
        args.infer_out.write_text(json.dumps(inferred, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    context = [f"recordings: {report.folder} ({report.exchanges} exchanges)", f"schemas: schemas/{report.profile}/"]
    if report.against:
        context.append(f"earlier recordings: {report.against} (paired by request name)")
    context.append(f"levels: {report.levels}")
    count = len(report.violations)
    verdict = f"Drift: {count} violation(s) (exit 1)" if count else "No violation (exit 0)"
    rows = [
        Row(d.level, d.where, d.path, f"[{d.rule}] {d.what}" + (f" ({d.note})" if d.note else ""), d.sources)
        for d in report.differences
    ]
    print(shown(args.format, "Drift report", context, verdict, rows, LEVEL_GROUPS, failed=bool(count)), end="")
    return report.exit_code


def cmd_infer(args: argparse.Namespace) -> int:
    from .drift import EVENT, infer_all, structural_vs_schemas
    from .infer import infer
    from .samples import collect

    samples = collect(args.paths)
    values = [s.value for s in samples.kind(args.schema)]
    if not values:
        raise ValueError(f"no {args.schema} samples in {', '.join(map(str, args.paths))}")
    if args.raw:
        print(json.dumps(infer(values, title=f"{args.schema} (inferred)"), indent=2, ensure_ascii=False))
        return 0
    wanted = {
        k: v
        for k, v in infer_all(samples).items()
        if k == args.schema or (args.schema == "event" and k.startswith(EVENT))
    }
    docs = Docs(args.profile)
    differences = structural_vs_schemas(samples, wanted, args.profile, docs)
    for difference in differences:
        print(f"# {difference.cls}: {difference.where} {difference.path or '/'}: {difference.what}")
        if difference.patch:
            difference.patch()
    still = (
        [
            f"{s.source}: {e.json_path}: {e.message}"
            for s in samples.kind(args.schema)
            for e in docs.validator(args.schema).iter_errors(s.value)
        ]
        if args.schema != "event"
        else []
    )
    for line in still[:20]:
        print(f"# still rejected by the candidate (edit by hand): {line[:200]}")
    diff = unified_diff(docs, label=_repo_path)
    print(diff or "# the committed schemas already describe these samples", end="" if diff else "\n")
    if args.write:
        for uri in docs.changed():
            target = (CANDIDATE_ROOT / _repo_path(uri)).with_suffix("").with_suffix(".schema.candidate.json")
            target.write_text(json.dumps(docs.documents[uri], indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"# wrote {target} (review, then move it over {_repo_path(uri)})")
    return 1 if docs.changed() else 0


def cmd_compat(args: argparse.Namespace) -> int:
    from .compat import NEW, compat, describe

    found, exchanges = compat(args.folder)
    rows = [Row(i.cls, i.where, i.path, describe(i), i.sources) for i in found]
    new = sum(1 for i in found if i.cls == NEW)
    source = str(args.folder) if args.folder else "the mock (gateway profile), recorded in-process"
    context = [
        f"recordings: {source} ({exchanges} exchanges)",
        "compared with: schemas/openai/ (the official API)",
        "known = listed in schemas/deviations.json, with what the openai SDK does about it",
    ]
    verdict = f"{new} new deviation(s) from OpenAI (exit 1)" if new else "Only known deviations from OpenAI (exit 0)"
    print(
        shown(args.format, "OpenAI compatibility report", context, verdict, rows, ("new", "known"), failed=bool(new)),
        end="",
    )
    return 1 if new else 0


def shown(
    fmt: str, title: str, context: list[str], verdict: str, rows: list[Row], groups: tuple[str, ...], *, failed: bool
) -> str:
    """A findings report for a terminal, as Markdown, or as one HTML page (``html.findings_html``)."""
    if fmt == "html":
        from .html import findings_html

        return findings_html(title, context, verdict, rows, groups, failed=failed)
    return render(fmt, title, context, verdict, rows, groups)


def _repo_path(uri: str) -> str:
    """``https://contract.invalid/schemas/gateway/x.schema.json`` -> ``schemas/gateway/x.schema.json``."""
    return "schemas/" + uri[len(schemas.BASE_URI) :] if uri.startswith(schemas.BASE_URI) else uri


if __name__ == "__main__":
    sys.exit(main())
