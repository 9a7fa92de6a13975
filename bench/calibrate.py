"""``python -m bench.calibrate``: the minimal app against an identical copy of itself, as ``make bench`` measures.

Two copies of the same server (``bench/baseline.py`` under gunicorn, the
mock's own reply and stream bytes) are measured in interleaved rounds, and
the ratios ``make bench`` holds against targets are printed as one copy's
over the other's. What a ratio does between two identical servers is this
machine's noise: a target of "at least 1.0x" with no tolerance is met by an
identical server only when the noise falls its way (bench/README.md,
"Eighth round": events/s in about half the rounds). The last column takes
each copy's median over ``--rounds-per-run`` rounds, as one ``make bench``
run does, and counts those runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from . import peers
from .measures import request_files, stream_bench
from .run import capture
from .wrk import WrkMissing, ensure_wrk, run_wrk


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.calibrate")
    p.add_argument("--rounds", type=int, default=12, help="interleaved rounds (default 12)")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run (default 3)")
    p.add_argument("--stream-seconds", type=float, default=2.0, help="seconds of streams per round (default 2)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    p.add_argument("--rounds-per-run", type=int, default=3, help="rounds a `make bench` run takes medians of (3)")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.rounds_per_run < 1:
        p.error("--rounds and --rounds-per-run must be at least 1")
    try:
        ensure_wrk()
    except WrkMissing as exc:
        print(f"bench.calibrate: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        figures = measure(Path(tmp), args)
    print(f"\nthe minimal app ÷ an identical copy, {args.rounds} interleaved rounds:\n")
    print("| ratio | median | min | max | ≥ 1 in | as `make bench` takes it: ≥ 1 in |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (a, b) in figures.items():
        rounds = [x / y for x, y in zip(a, b, strict=True) if y > 0]
        runs = bench_ratios(a, b, args.rounds_per_run)
        if not rounds:
            print(f"| {name} | no figures: copy B measured nothing (see its log) | | | | |")
            continue
        print(
            f"| {name} | {statistics.median(rounds):.3f} | {min(rounds):.3f} | {max(rounds):.3f} | "
            f"{sum(r >= 1 for r in rounds)} of {len(rounds)} rounds | {sum(r >= 1 for r in runs)} of {len(runs)} runs |"
        )
    return 0


def bench_ratios(a: list[float], b: list[float], per_run: int) -> list[float]:
    """A ÷ B as ``make bench`` reports a ratio: each figure's median over a run's rounds, one ratio per run."""
    medians = [
        (statistics.median(a[i : i + per_run]), statistics.median(b[i : i + per_run]))
        for i in range(0, len(a) - per_run + 1, per_run)
    ]
    return [x / y for x, y in medians if y > 0]


def measure(work: Path, args: argparse.Namespace) -> dict[str, tuple[list[float], list[float]]]:
    """Per round, each copy's figures: plain req/s, time to first event, events/s (copy A's, copy B's)."""
    body_file, stream_body = request_files(work)
    mock = peers.mock("mock", "this mock", "--quiet")
    copies: list[peers.Peer] = []
    try:
        mock.start(work)
        reply, sse = capture(mock.url, body_file.read_bytes(), stream_body)
        mock.stop()
        (work / "reply.json").write_bytes(reply)
        (work / "stream.sse").write_bytes(sse)
        for name in ("A", "B"):
            copy = peers.baseline(work / "reply.json", work / "stream.sse")
            copy.name = name
            copy.start(work)
            copies.append(copy)
        for copy in copies:  # warm-up
            run_wrk(copy.url, body_file, connections=args.connections, seconds=1)
        figures: dict[str, tuple[list[float], list[float]]] = {
            "plain req/s": ([], []),
            "time to first event": ([], []),
            "events/s (one client)": ([], []),
        }
        for round_ in range(args.rounds):
            print(f"bench.calibrate: round {round_ + 1}/{args.rounds} ...", flush=True)
            order = copies if round_ % 2 == 0 else copies[::-1]
            for copy in order:
                side = 0 if copy.name == "A" else 1
                plain = run_wrk(copy.url, body_file, connections=args.connections, seconds=args.duration)
                streams = stream_bench(str(copy.stream_url), stream_body, seconds=args.stream_seconds)
                figures["plain req/s"][side].append(plain.rps)
                figures["time to first event"][side].append(streams.ttfe_p50_ms)
                figures["events/s (one client)"][side].append(streams.events_per_s)
        return figures
    finally:
        mock.stop()
        for copy in copies:
            copy.stop()


if __name__ == "__main__":
    sys.exit(main())
