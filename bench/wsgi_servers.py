"""``python -m bench.wsgi_servers``: the same mock app under waitress, gunicorn (gthread) and granian (WSGI).

One process each, 8 threads, logging off, the documented request at c=16
(wrk -t1), in interleaved rounds (medians); then time to first event of a
stream. This is how ``mockserver/serve/`` chose its server (bench/README.md,
"The server"). A server that is not installed is skipped with the reason.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from pathlib import Path

from .measures import request_files, stream_bench
from .peers import Peer, free_port
from .wrk import ensure_wrk, run_wrk


def quiet_app():  # type: ignore[no-untyped-def]
    """The mock as ``--quiet`` builds it, for servers that import an app factory."""
    from mockserver import create_app

    return create_app(log_requests=False)


def servers(threads: int) -> list[Peer]:
    found = []
    port = free_port()
    argv = [sys.executable, "-m", "mockserver", "--port", str(port), "--quiet", "--threads", str(threads)]
    found.append(Peer("waitress", f"waitress, {threads} threads (`python -m mockserver`)", argv, port, "/v1/responses"))
    if importlib.util.find_spec("gunicorn"):
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", str(threads)]
        argv += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench.wsgi_servers:quiet_app()"]
        found.append(Peer("gunicorn", f"gunicorn gthread 1×{threads}", argv, port, "/v1/responses"))
    if importlib.util.find_spec("granian"):
        port = free_port()
        argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", "1"]
        argv += ["--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port), "--no-log"]
        argv += ["--factory", "bench.wsgi_servers:quiet_app"]
        found.append(Peer("granian", f"granian WSGI, 1 worker, {threads} blocking threads", argv, port))
    for peer in found:
        peer.stream_path = "/v1/responses"
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.wsgi_servers", description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args(argv)
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        body_file, stream_body = request_files(work)
        found = servers(args.threads)
        rps: dict[str, list[float]] = {peer.name: [] for peer in found}
        p99: dict[str, list[float]] = {peer.name: [] for peer in found}
        ttfe: dict[str, list[float]] = {peer.name: [] for peer in found}
        try:
            for peer in found:
                peer.start(work)
                run_wrk(peer.url, body_file, connections=16, seconds=1)
            for round_ in range(args.rounds):
                for peer in found[round_ % len(found) :] + found[: round_ % len(found)]:
                    print(f"bench.wsgi_servers: round {round_ + 1}: {peer.name} ...", flush=True)
                    run = run_wrk(peer.url, body_file, connections=16, seconds=args.duration)
                    rps[peer.name].append(run.rps)
                    p99[peer.name].append(run.p99_ms)
                    assert peer.stream_url is not None
                    ttfe[peer.name].append(stream_bench(peer.stream_url, stream_body, seconds=1).ttfe_p50_ms)
        finally:
            for peer in found:
                peer.stop()
    first = statistics.median(rps[found[0].name])
    print("\n| server | req/s, c=16 | ÷ waitress | p99 ms | time to first event ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for peer in found:
        r = statistics.median(rps[peer.name])
        print(
            f"| {peer.label} | {r:,.0f} | {r / first:.2f}x | {statistics.median(p99[peer.name]):.1f} "
            f"| {statistics.median(ttfe[peer.name]):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
