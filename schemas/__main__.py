"""``python -m schemas``: validate files against the contract from the shell.

    python -m schemas validate [--profile gateway|openai] {request|response|error|event} FILE...

Exit status 0 when every file is valid, 1 when any is not (each violation on
its own line as ``FILE: /json/pointer: message``), 2 for usage errors or a
file that cannot be read. An ``event`` file is either one JSON event, a JSON
list of events, or a recorded stream (``.sse``: raw ``text/event-stream``),
which is checked event by event and as a sequence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import DEFAULT_PROFILE, PROFILES, validate

KINDS = ("request", "response", "error", "event")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return _validate_files(args.kind, args.files, args.profile)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m schemas", description="Check JSON files against the /v1/responses contract."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate", help="validate files; exit 1 listing each violation")
    check.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE, help="which contract (default: gateway)")
    check.add_argument("kind", choices=KINDS)
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    return parser


def _validate_files(kind: str, files: list[Path], profile: str) -> int:
    status = 0
    for path in files:
        try:
            problems = _problems(kind, path, profile)
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read: {exc}", file=sys.stderr)
            status = max(status, 2)
            continue
        for problem in problems:
            print(f"{path}: {problem}")
        if problems:
            status = max(status, 1)
    if status == 0:
        print(f"{len(files)} file(s) valid ({kind}, profile {profile})", file=sys.stderr)
    return status


def _problems(kind: str, path: Path, profile: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if kind == "event" and (path.suffix == ".sse" or not text.lstrip().startswith(("{", "["))):
        from .stream import validate_sse

        return [str(v) for v in validate_sse(text, profile=profile)]
    instance = _parse_json(text)
    if kind == "event" and isinstance(instance, list):
        from .stream import validate_stream

        return [str(v) for v in validate_stream(instance, profile=profile)]
    return [str(v) for v in validate(instance, kind, profile)]


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
