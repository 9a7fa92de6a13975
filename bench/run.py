"""``python -m bench``: the mock against its peers in one run, as a Markdown table of ratios.

    python -m bench [--duration 5] [--rounds 3] [--workers 2] [--no-peers] [--no-suite]

Starts the mock (three ways: ``--workers N --quiet``, the same with logging on,
and ``--workers 1 --quiet``), the minimal Flask app under gunicorn gthread 2×8,
Steady and aimock on free loopback ports, measures them in interleaved rounds
(medians), writes ``bench/results/latest.md`` (gitignored) and prints it.
Every run is bounded (wrk ``-d``, streams by time and count).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import peers as peer_servers
from .measures import (
    AUTH,
    StreamResult,
    ValidationResult,
    in_process_bench,
    request_files,
    stream_bench,
    validation_bench,
)
from .peers import Peer
from .servers import ROOT
from .wrk import WrkMissing, WrkResult, ensure_wrk, run_wrk

RESULTS = Path(__file__).with_name("results")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table shows medians (default 3)")
    p.add_argument("--connections", type=int, default=16, help="wrk connections (default 16; one wrk thread)")
    p.add_argument("--workers", type=int, default=2, help="the headline mock's --workers (default 2)")
    p.add_argument(
        "--threads",
        type=int,
        default=4,
        help="the mock's --threads, every variant alike (default 4: with 2 workers, 8 threads each queue more "
        "requests behind the GIL than they serve)",
    )
    p.add_argument("--stream-seconds", type=float, default=2.0, help="seconds of streamed requests per round")
    p.add_argument("--no-peers", action="store_true", help="skip Steady and aimock (no npm install)")
    p.add_argument(
        "--no-suite", action="store_true", help="skip timing the contract suite (pytest --pyargs contract_tests)"
    )
    p.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    return p


@dataclass
class Figures:
    """One server's runs, one entry per round."""

    plain: list[WrkResult] = field(default_factory=list)
    distinct: list[WrkResult] = field(default_factory=list)
    streams: list[StreamResult] = field(default_factory=list)
    peak_kib: int = 0

    def rps(self, distinct: bool = False) -> float:
        runs = self.distinct if distinct else self.plain
        return statistics.median(r.rps for r in runs) if runs else 0.0

    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.plain) if self.plain else 0.0

    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.plain) if self.plain else 0.0

    def ttfe(self) -> float:
        return statistics.median(s.ttfe_p50_ms for s in self.streams) if self.streams else 0.0

    def rest(self) -> float:
        return statistics.median(s.rest_p50_ms for s in self.streams) if self.streams else 0.0

    def events_per_s(self) -> float:
        return statistics.median(s.events_per_s for s in self.streams) if self.streams else 0.0

    def errors(self) -> int:
        runs = [*self.plain, *self.distinct]
        return sum(r.errors + r.non_2xx for r in runs) + sum(s.errors for s in self.streams)


@dataclass
class Run:
    """Everything one bench run measured."""

    servers: list[Peer]
    figures: dict[str, Figures]
    skipped: str = ""
    in_process: tuple[float, float] = (0.0, 0.0)
    validation: ValidationResult | None = None
    suite: tuple[float, str] | None = None
    reply_bytes: int = 0
    sse_events: int = 0
    load: tuple[str, str] = ("", "")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        ensure_wrk()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        body_file, stream_body = request_files(work)
        servers = mocks(args.workers, args.threads)
        started_servers: list[Peer] = []
        try:
            for server in servers:
                server.start(work)
                started_servers.append(server)
            reply, sse = capture(servers[0].url, body_file.read_bytes(), stream_body)
            (work / "reply.json").write_bytes(reply)
            (work / "stream.sse").write_bytes(sse)
            servers.append(peer_servers.baseline(work / "reply.json", work / "stream.sse"))
            npm = (
                peer_servers.NpmPeers(None, None, "--no-peers: the Steady and aimock rows are skipped")
                if args.no_peers
                else peer_servers.npm_peers(work)
            )
            servers[-1].start(work)
            started_servers.append(servers[-1])
            skipped = [npm.skipped] if npm.skipped else []
            for peer in (npm.steady, npm.aimock):
                if peer is None:
                    continue
                try:
                    peer.start(work)
                except RuntimeError as exc:  # a peer that cannot start loses its row, not the run
                    skipped.append(f"{peer.label} did not start: {str(exc).splitlines()[-1]}")
                    continue
                servers.append(peer)
                started_servers.append(peer)
            figures = measure(servers, body_file, stream_body, args)
        finally:
            for server in reversed(started_servers):
                server.stop()
    run = Run(servers, figures, skipped="; ".join(skipped), reply_bytes=len(reply))
    run.sse_events = sse.count(b"\ndata:") + sse.startswith(b"data:")
    print("bench: in-process create path (respx, distinct bodies) ...", flush=True)
    run.in_process = in_process_bench(reply, rounds=args.rounds)
    print("bench: validation cost ...", flush=True)
    run.validation = validation_bench()
    run.suite = None if args.no_suite else time_suite()
    run.load = (load_before, _load())
    table = render(run, args, elapsed=time.perf_counter() - started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table, encoding="utf-8")
    print(table)
    print(f"(written to {args.output})")
    return 0


def mocks(workers: int, threads: int) -> list[Peer]:
    """The mock as ``make run`` starts it: the headline (``--workers N --quiet``), with logging, with one worker."""
    n, t = str(workers), str(threads)
    found = [
        peer_servers.mock("mock", f"this mock, `--workers {n} --threads {t} --quiet`", "--workers", n, "--quiet"),
        peer_servers.mock("mock-logging", f"this mock, `--workers {n} --threads {t}`, logging on", "--workers", n),
    ]
    if workers != 1:
        found.append(
            peer_servers.mock("mock-1", f"this mock, `--workers 1 --threads {t} --quiet`", "--workers", "1", "--quiet")
        )
    for peer in found:
        peer.argv += ["--threads", t]
    return found


def capture(url: str, body: bytes, stream_body: bytes) -> tuple[bytes, bytes]:
    """One plain and one streamed reply of the mock, for the baseline to send."""
    import httpx

    with httpx.Client(timeout=10) as client:
        reply = client.post(url, content=body, headers=AUTH)
        reply.raise_for_status()
        sse = client.post(url, content=stream_body, headers=AUTH)
        sse.raise_for_status()
    return reply.content, sse.content


def measure(servers: list[Peer], body_file: Path, stream_body: bytes, args: argparse.Namespace) -> dict[str, Figures]:
    """Interleaved rounds: each round runs every server once, starting one further along the list."""
    figures = {server.name: Figures() for server in servers}
    c, seconds = args.connections, args.duration
    for server in servers:  # warm-up: imports, compiled validators, threads and workers started
        run_wrk(server.url, body_file, connections=c, seconds=1)
    for round_ in range(args.rounds):
        for server in _rotated(servers, round_):
            print(f"bench: round {round_ + 1}/{args.rounds}: wrk {server.name} c={c} {seconds:.0f}s ...", flush=True)
            figures[server.name].plain.append(run_wrk(server.url, body_file, connections=c, seconds=seconds))
    pair = [servers[0], next(s for s in servers if s.name == "baseline")]
    for round_ in range(args.rounds):
        for server in _rotated(pair, round_):
            print(f"bench: round {round_ + 1}/{args.rounds}: {server.name}, every request distinct ...", flush=True)
            run = run_wrk(server.url, body_file, connections=c, seconds=seconds, distinct=True)
            figures[server.name].distinct.append(run)
    for round_ in range(args.rounds):
        for server in _rotated(pair, round_):
            print(f"bench: round {round_ + 1}/{args.rounds}: streams {server.name} ...", flush=True)
            assert server.stream_url is not None
            figures[server.name].streams.append(
                stream_bench(server.stream_url, stream_body, seconds=args.stream_seconds)
            )
    for server in servers:
        figures[server.name].peak_kib = server.peak_kib()
    return figures


def _rotated(items: list[Peer], by: int) -> list[Peer]:
    by %= len(items)
    return items[by:] + items[:by]


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


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, as measured in this run."""

    name: str
    value: float  # the measured ratio
    limit: float
    at_least: bool  # True: value >= limit, False: value <= limit
    shown: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit


def targets(run: Run) -> list[Target]:
    f = run.figures
    mock, base = f["mock"], f["baseline"]
    found = []
    for name, limit in (("steady", 1.0), ("aimock", 0.5), ("baseline", 0.5)):
        if name in f and f[name].rps():
            label = next(s.label for s in run.servers if s.name == name)
            found.append(
                Target(f"plain create c=16: mock ÷ {label} ≥ {limit:g}", mock.rps() / f[name].rps(), limit, True)
            )
    slower = 1 - f["mock-logging"].rps() / mock.rps() if mock.rps() else 1.0
    found.append(Target("logging on at most 15% slower than off", slower, 0.15, False, f"{slower:.0%} slower"))
    if "mock-1" in f and f["mock-1"].rps():
        found.append(Target("`--workers N` ÷ `--workers 1` ≥ 1.4", mock.rps() / f["mock-1"].rps(), 1.4, True))
    found.append(Target("p99 at c=16 within 3× the minimal app's p99", mock.p99() / base.p99(), 3.0, False))
    found.append(
        Target("streamed: time to first event within 1.5× the baseline's", mock.ttfe() / base.ttfe(), 1.5, False)
    )
    found.append(
        Target(
            "streamed: events/s for one client ≥ the baseline's", mock.events_per_s() / base.events_per_s(), 1.0, True
        )
    )
    found.append(
        Target(
            "in-process distinct bodies at most 2× the minimal app's time",
            run.in_process[0] / run.in_process[1],
            2.0,
            False,
        )
    )
    found.append(Target("peak RSS under load at most 2× the baseline's", mock.peak_kib / base.peak_kib, 2.0, False))
    return found


def render(run: Run, args: argparse.Namespace, *, elapsed: float) -> str:
    f = run.figures
    mock, base = f["mock"], f["baseline"]
    out = [
        "# make bench: the mock against its peers",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')} · {platform.python_implementation()} {platform.python_version()} · "
        f"{os.cpu_count()} cores · load average {run.load[0]} at the start, {run.load[1]} at the end · "
        f"wrk -t1 -c{args.connections}, {args.duration:.0f} s runs, {args.rounds} interleaved rounds, medians · "
        f"documented request; reply {run.reply_bytes} bytes, stream {run.sse_events} events · "
        f"bench took {elapsed:.0f} s",
        "",
        f"## Plain create, c={args.connections}",
        "",
        "| server | req/s | p50 ms | p99 ms | mock ÷ it |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for server in run.servers:
        fig = f[server.name]
        shown = "" if server.name.startswith("mock") else ratio(mock.rps(), fig.rps())
        out.append(f"| {server.label} | {fig.rps():,.0f} | {fig.p50():.2f} | {fig.p99():.2f} | {shown} |")
    if run.skipped:
        out += ["", f"({run.skipped}.)"]
    out += [
        "",
        "## Mock and minimal app side by side",
        "",
        "| measure | mock | minimal app | mock ÷ minimal |",
        "| --- | ---: | ---: | ---: |",
        f"| req/s, every request distinct, c={args.connections} | {mock.rps(True):,.0f} | {base.rps(True):,.0f} | "
        f"{ratio(mock.rps(True), base.rps(True))} |",
        f"| streamed: time to first event p50 ms | {mock.ttfe():.2f} | {base.ttfe():.2f} | "
        f"{ratio(mock.ttfe(), base.ttfe())} |",
        f"| streamed: first event to last p50 ms | {mock.rest():.2f} | "
        f"{base.rest():.2f} | {ratio(mock.rest(), base.rest())} |",
        f"| streamed: events/s (one client) | {mock.events_per_s():,.0f} | {base.events_per_s():,.0f} | "
        f"{ratio(mock.events_per_s(), base.events_per_s())} |",
        f"| in-process create µs (respx, distinct bodies) | {run.in_process[0]:.0f} | {run.in_process[1]:.0f} | "
        f"{ratio(*run.in_process)} |",
        f"| peak RSS MiB (largest process) | {mock.peak_kib / 1024:.1f} | {base.peak_kib / 1024:.1f} | "
        f"{ratio(mock.peak_kib, base.peak_kib)} |",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | ---: | --- |",
    ]
    for target in targets(run):
        shown = target.shown or f"{target.value:.2f}x"
        out.append(f"| {target.name} | {shown} | {'met' if target.met else '**NOT met**'} |")
    errors = sum(fig.errors() for fig in f.values())
    out += ["", f"Errors and non-2xx replies during the runs: {errors}."]
    v = run.validation
    if v is not None:
        out += [
            "",
            "## Validation (schemas.validate, gateway profile, after warm-up)",
            "",
            "| measure | value |",
            "| --- | ---: |",
            f"| compile the response validator (first `validator_for`) | {v.compile_ms:.1f} ms |",
            f"| first validation of the documented response | {v.first_validate_ms:.1f} ms |",
            f"| validate the documented response | {v.response_us:.0f} µs |",
            f"| validate the documented request | {v.request_us:.0f} µs |",
            f"| validate one stream event (output_text.delta) | {v.event_us:.0f} µs |",
            f"| validator compiled once and reused (`validator_for` cached) "
            f"| {'yes' if v.compiled_once else 'NO'} ({v.cache_hits} cache hits) |",
        ]
    if run.suite is not None:
        out += [
            "",
            "## Contract suite",
            "",
            f"`pytest --pyargs contract_tests` (default run, in-process mock): "
            f"{run.suite[0]:.1f} s, {run.suite[1]} (target < 60 s).",
        ]
    return "\n".join(out) + "\n"
