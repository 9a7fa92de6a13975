"""``python -m bench.calibrate``: the minimal app against an identical copy of itself, as ``make bench`` measures.

Two copies of the same server (``bench/baseline.py`` under gunicorn, the
mock's own reply and stream bytes) are measured in interleaved rounds, and
the ratios ``make bench`` holds against targets are printed as one copy's
over the other's. What a ratio does between two identical servers is this
machine's noise: a target of "at least 1.0x" with no tolerance is met by an
identical server only when the noise falls its way (bench/README.md,
"Eighth round": events/s in 3 of 12 rounds in one run, 8 of 12 in another).
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
    args = p.parse_args(argv)
    try:
        ensure_wrk()
    except WrkMissing as exc:
        print(f"bench.calibrate: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        ratios = measure(Path(tmp), args)
    print(f"\nthe minimal app ÷ an identical copy, {args.rounds} interleaved rounds:\n")
    print("| ratio | median | min | max | ≥ 1 in |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in ratios.items():
        met = sum(value >= 1 for value in values)
        print(
            f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} | "
            f"{met} of {len(values)} |"
        )
    return 0


def measure(work: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """Per round, copy A's figure over copy B's: plain req/s, time to first event, events/s."""
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
        ratios: dict[str, list[float]] = {"plain req/s": [], "time to first event": [], "events/s (one client)": []}
        for round_ in range(args.rounds):
            print(f"bench.calibrate: round {round_ + 1}/{args.rounds} ...", flush=True)
            order = copies if round_ % 2 == 0 else copies[::-1]
            plain = {
                c.name: run_wrk(c.url, body_file, connections=args.connections, seconds=args.duration) for c in order
            }
            streams = {c.name: stream_bench(str(c.stream_url), stream_body, seconds=args.stream_seconds) for c in order}
            ratios["plain req/s"].append(plain["A"].rps / plain["B"].rps)
            ratios["time to first event"].append(streams["A"].ttfe_p50_ms / streams["B"].ttfe_p50_ms)
            ratios["events/s (one client)"].append(streams["A"].events_per_s / streams["B"].events_per_s)
        return ratios
    finally:
        mock.stop()
        for copy in copies:
            copy.stop()


if __name__ == "__main__":
    sys.exit(main())
