"""Running wrk (Debian's package) with ``post.lua`` and reading its one-line JSON summary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("post.lua")


class WrkMissing(RuntimeError):
    pass


def ensure_wrk() -> str:
    """The path of wrk, installing it with apt-get when running as root."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print("bench: wrk is missing; installing it: apt-get install -y wrk", flush=True)
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False)
        path = shutil.which("wrk")
        if path:
            return path
    raise WrkMissing("wrk is not installed; install it with: sudo apt-get install -y wrk (Debian/Ubuntu)")


@dataclass(frozen=True)
class WrkResult:
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def run_wrk(
    url: str, body_file: Path, *, connections: int, seconds: float, threads: int = 1, distinct: bool = False
) -> WrkResult:
    """POST ``body_file`` to ``url`` for ``seconds`` over ``connections`` keep-alive connections.

    ``distinct``: every request different (a counter in ``metadata``), so
    nothing cached by body can help.
    """
    wrk = ensure_wrk()
    argv = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(body_file),
    ]
    env = {**os.environ, "BENCH_DISTINCT": "1" if distinct else "0"}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False, env=env)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        connections=connections,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        non_2xx=data["status"],
    )
