"""``python -m bench``: the mock against its baseline, as a Markdown table.

    python -m bench [--duration 5] [--concurrency 1,8,32] [--threads 8] [--no-suite]

Writes ``bench/results/latest.md`` (gitignored) and prints it. Loopback only;
every run is bounded (wrk ``-d``, streams by time and count).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .measures import AUTH, StreamResult, ValidationResult, documented, in_process_bench, stream_bench, validation_bench
from .servers import ROOT, ServerProcess
from .wrk import WrkMissing, WrkResult, ensure_wrk, run_wrk

RESULTS = Path(__file__).with_name("results")
#: The mock's target: within this factor of the baseline.
TARGET = 2.0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    p.add_argument("--concurrency", default="1,8,32", help="comma-separated wrk connection counts (default 1,8,32)")
    p.add_argument("--threads", type=int, default=8, help="waitress threads, for the mock and the baseline alike")
    p.add_argument("--stream-seconds", type=float, default=4.0, help="seconds of streamed requests per server")
    p.add_argument(
        "--no-suite", action="store_true", help="skip timing the contract suite (pytest --pyargs contract_tests)"
    )
    p.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    return p


@dataclass
class Side:
    """One server's figures."""

    wrk: dict[int, WrkResult]
    distinct: WrkResult | None = None
    stream: StreamResult | None = None
    peak_kib: int = 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    try:
        ensure_wrk()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    request = documented("documented_request.json")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        body_file = work / "request.json"
        body_file.write_text(json.dumps(request, ensure_ascii=False), encoding="utf-8")
        stream_body = json.dumps({**request, "stream": True}, ensure_ascii=False).encode()
        mock = ServerProcess("mockserver", "--port", "0", "--quiet", "--threads", str(args.threads))
        try:
            reply, sse = capture(mock.base, body_file.read_bytes(), stream_body)
            (work / "reply.json").write_bytes(reply)
            (work / "stream.sse").write_bytes(sse)
            base = ServerProcess(
                "bench.baseline",
                "--port",
                "0",
                "--threads",
                str(args.threads),
                "--reply",
                str(work / "reply.json"),
                "--stream",
                str(work / "stream.sse"),
            )
            try:
                sides = measure(mock, base, body_file, stream_body, concurrencies, args)
            finally:
                base.stop()
        finally:
            mock.stop()
    print("bench: validation cost ...", flush=True)
    validation = validation_bench()
    print("bench: in-process create path ...", flush=True)
    in_process = in_process_bench()
    suite = None if args.no_suite else time_suite()
    table = render(
        sides,
        validation,
        in_process,
        suite,
        reply_bytes=len(reply),
        sse_events=sse.count(b"\ndata:") + sse.startswith(b"data:"),
        args=args,
        elapsed=time.perf_counter() - started,
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print(table)
    print(f"(written to {args.output})")
    return 0


def capture(base: str, body: bytes, stream_body: bytes) -> tuple[bytes, bytes]:
    """One plain and one streamed reply of the mock, for the baseline to send."""
    import httpx

    with httpx.Client(timeout=10) as client:
        reply = client.post(f"{base}/v1/responses", content=body, headers=AUTH)
        reply.raise_for_status()
        sse = client.post(f"{base}/v1/responses", content=stream_body, headers=AUTH)
        sse.raise_for_status()
    return reply.content, sse.content


def measure(
    mock: ServerProcess,
    base: ServerProcess,
    body_file: Path,
    stream_body: bytes,
    concurrencies: list[int],
    args: argparse.Namespace,
) -> dict[str, Side]:
    sides = {"mock": Side({}), "baseline": Side({})}
    urls = {"mock": f"{mock.base}/v1/responses", "baseline": f"{base.base}/v1/responses"}
    for name in sides:  # warm-up: imports, compiled validators, waitress threads
        run_wrk(urls[name], body_file, connections=8, seconds=1)
    for connections in concurrencies:
        for name in sides:  # alternate, so drift of the machine hits both alike
            print(f"bench: wrk {name} c={connections} {args.duration:.0f}s ...", flush=True)
            sides[name].wrk[connections] = run_wrk(
                urls[name], body_file, connections=connections, seconds=args.duration
            )
    for name in sides:
        print(f"bench: wrk {name} c=8 {args.duration:.0f}s, every request distinct ...", flush=True)
        sides[name].distinct = run_wrk(urls[name], body_file, connections=8, seconds=args.duration, distinct=True)
    stream_urls = {"mock": f"{mock.base}/v1/responses", "baseline": f"{base.base}/v1/stream"}
    for name in sides:
        print(f"bench: streams {name} {args.stream_seconds:.0f}s ...", flush=True)
        sides[name].stream = stream_bench(stream_urls[name], stream_body, seconds=args.stream_seconds)
    sides["mock"].peak_kib = mock.status("VmHWM")
    sides["baseline"].peak_kib = base.status("VmHWM")
    return sides


def time_suite(timeout: float = 600) -> tuple[float, str]:
    """Seconds for ``pytest --pyargs contract_tests`` (the default run, in-process mock) and its summary line."""
    print("bench: contract suite (pytest --pyargs contract_tests) ...", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "contract_tests"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        lines = [ln for ln in done.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
        summary = lines[-1].strip("= ") if lines else f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        summary = f"timed out after {timeout:.0f}s"
    return time.perf_counter() - started, summary


def ratio(mock: float, base: float) -> str:
    return f"{mock / base:.2f}x" if base else "n/a"


def render(
    sides: dict[str, Side],
    validation: ValidationResult,
    in_process: tuple[float, float],
    suite: tuple[float, str] | None,
    *,
    reply_bytes: int,
    sse_events: int,
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    m, b = sides["mock"], sides["baseline"]
    rows: list[tuple[str, str, str, str]] = []
    worst = 0.0
    for c in m.wrk:
        mw, bw = m.wrk[c], b.wrk[c]
        rows.append(
            (
                f"requests/s, {c} connection{'s' if c > 1 else ''}",
                f"{mw.rps:,.0f}",
                f"{bw.rps:,.0f}",
                ratio(mw.rps, bw.rps),
            )
        )
        rows.append((f"p50 latency ms, c={c}", f"{mw.p50_ms:.2f}", f"{bw.p50_ms:.2f}", ratio(mw.p50_ms, bw.p50_ms)))
        rows.append((f"p99 latency ms, c={c}", f"{mw.p99_ms:.2f}", f"{bw.p99_ms:.2f}", ratio(mw.p99_ms, bw.p99_ms)))
        worst = max(worst, bw.rps / mw.rps if mw.rps else float("inf"))
    worst_distinct = 0.0
    if m.distinct and b.distinct:
        md, bd = m.distinct, b.distinct
        rows.append(
            (
                "requests/s, 8 connections, every request distinct",
                f"{md.rps:,.0f}",
                f"{bd.rps:,.0f}",
                ratio(md.rps, bd.rps),
            )
        )
        rows.append(
            ("p50 latency ms, c=8, distinct", f"{md.p50_ms:.2f}", f"{bd.p50_ms:.2f}", ratio(md.p50_ms, bd.p50_ms))
        )
        rows.append(
            ("p99 latency ms, c=8, distinct", f"{md.p99_ms:.2f}", f"{bd.p99_ms:.2f}", ratio(md.p99_ms, bd.p99_ms))
        )
        worst_distinct = bd.rps / md.rps if md.rps else float("inf")
    if m.stream and b.stream:
        rows.append(
            (
                "streamed: time to first event p50 ms",
                f"{m.stream.ttfe_p50_ms:.2f}",
                f"{b.stream.ttfe_p50_ms:.2f}",
                ratio(m.stream.ttfe_p50_ms, b.stream.ttfe_p50_ms),
            )
        )
        rows.append(
            (
                "streamed: time to first event p99 ms",
                f"{m.stream.ttfe_p99_ms:.2f}",
                f"{b.stream.ttfe_p99_ms:.2f}",
                ratio(m.stream.ttfe_p99_ms, b.stream.ttfe_p99_ms),
            )
        )
        rows.append(
            (
                "streamed: events/s (one client)",
                f"{m.stream.events_per_s:,.0f}",
                f"{b.stream.events_per_s:,.0f}",
                ratio(m.stream.events_per_s, b.stream.events_per_s),
            )
        )
        worst = max(worst, b.stream.events_per_s / m.stream.events_per_s if m.stream.events_per_s else float("inf"))
    rows.append(
        (
            "in-process create µs/request (Flask test client)",
            f"{in_process[0]:.0f}",
            f"{in_process[1]:.0f}",
            ratio(*in_process),
        )
    )
    rows.append(
        (
            "server peak memory VmHWM MiB",
            f"{m.peak_kib / 1024:.1f}",
            f"{b.peak_kib / 1024:.1f}",
            ratio(m.peak_kib, b.peak_kib),
        )
    )
    runs = [w for side in sides.values() for w in [*side.wrk.values(), side.distinct] if w is not None]
    errors = sum(w.errors + w.non_2xx for w in runs) + sum(s.stream.errors for s in sides.values() if s.stream)
    out = [
        "# Mock vs baseline",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')} · {platform.python_implementation()} {platform.python_version()} · "
        f"{os.cpu_count()} cores · waitress {args.threads} threads · wrk 1 thread, {args.duration:.0f}s per run · "
        f"documented request; reply {reply_bytes} bytes, stream {sse_events} events · bench took {elapsed:.0f}s",
        "",
        "Baseline: the same waitress settings serving a minimal Flask app that returns the mock's reply bytes "
        "(and its stream's events) unchanged.",
        "",
        "| measure | mock | baseline | mock / baseline |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {a} | {b_} | {c} | {d} |" for a, b_, c, d in rows),
        "",
        f"Throughput target (mock within {TARGET:g}x of the baseline): worst factor {worst:.2f}x "
        f"with the documented request repeated, {'met' if worst <= TARGET else 'NOT met'}; "
        f"{worst_distinct:.2f}x with every request distinct, {'met' if worst_distinct <= TARGET else 'NOT met'}. "
        f"Errors and non-2xx replies during the runs: {errors}.",
        "",
        "## Validation (schemas.validate, gateway profile, after warm-up)",
        "",
        "| measure | value |",
        "| --- | ---: |",
        f"| compile the response validator (first `validator_for`) | {validation.compile_ms:.1f} ms |",
        f"| first validation of the documented response | {validation.first_validate_ms:.1f} ms |",
        f"| validate the documented response | {validation.response_us:.0f} µs |",
        f"| validate the documented request | {validation.request_us:.0f} µs |",
        f"| validate one stream event (output_text.delta) | {validation.event_us:.0f} µs |",
        f"| validator compiled once and reused (`validator_for` cached) "
        f"| {'yes' if validation.compiled_once else 'NO'} ({validation.cache_hits} cache hits) |",
    ]
    if suite is not None:
        out += [
            "",
            "## Contract suite",
            "",
            f"`pytest --pyargs contract_tests` (default run, in-process mock): "
            f"{suite[0]:.1f} s, {suite[1]} (target < 60 s).",
        ]
    return "\n".join(out) + "\n"
