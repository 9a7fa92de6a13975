"""The servers one ``make bench`` run starts side by side: the mock, the minimal baseline, Steady and aimock.

Every server is a child process on a free loopback port, writing its output to
a file (a terminal's cost, not a pipe the bench has to drain), stopped with
SIGTERM. Steady and aimock are npm packages: installed once into a cache folder
(``~/.cache/responses-contract-kit/bench-npm``) when npm is on the PATH;
without npm their rows are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .servers import ROOT, children_of, proc_status

#: The peers' npm packages, pinned to the versions the issue measured.
STEADY_PACKAGE = "@stdy/cli@0.22.2"
AIMOCK_PACKAGE = "@copilotkit/aimock@1.43.0"
#: The OpenAPI document Steady serves (the Responses paths of the OpenAI spec).
OPENAPI = ROOT.parent / "shared" / "reference" / "openai-responses-openapi.json"
#: aimock's one fixture: the documented request's user message and a reply of the same kind.
AIMOCK_FIXTURE = {
    "fixtures": [
        {
            "match": {"userMessage": "你好"},
            "response": {"content": "你好！我是通义千问，由阿里云开发的大语言模型。有什么我可以帮你的吗？"},
        }
    ]
}


def npm_cache() -> Path:
    """Where Steady and aimock are installed (kept between runs)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "responses-contract-kit" / "bench-npm"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (a peer binds it a moment later: fine on a quiet loopback)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class Peer:
    """One server under test: its process, where to POST plain creates, and where to stream."""

    name: str
    label: str
    argv: list[str]
    port: int
    path: str = "/v1/responses"
    stream_path: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + self.path

    @property
    def stream_url(self) -> str | None:
        return self.base + self.stream_path if self.stream_path else None

    def start(self, folder: Path, timeout: float = 60.0) -> None:
        """Start the process and wait until its port accepts connections."""
        self.log = folder / f"{self.name}.log"
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C on the bench reaches the bench, which stops each peer itself
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.label} did not start ({' '.join(self.argv)}):\n{tail}")

    def peak_kib(self) -> int:
        """The largest peak resident size (``VmHWM``) of one process of this server (a worker, usually)."""
        if self.proc is None:
            return 0
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(children_of(pid))
        return max(proc_status(pid, "VmHWM") for pid in pids)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the server and its workers (its own session)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def mock(name: str, label: str, *options: str) -> Peer:
    """``python -m mockserver`` as ``make run`` starts it, with ``options``."""
    port = free_port()
    argv = [sys.executable, "-m", "mockserver", "--port", str(port), *options]
    return Peer(name, label, argv, port, stream_path="/v1/responses")


def baseline(reply: Path, stream: Path, *, workers: int = 2, threads: int = 8) -> Peer:
    """The minimal Flask app (``bench/baseline.py``) under gunicorn, gthread workers."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "bench.baseline:from_environment()",
    ]
    env = {"BENCH_REPLY": str(reply), "BENCH_STREAM": str(stream)}
    label = f"minimal Flask app, gunicorn gthread {workers}×{threads}"
    return Peer("baseline", label, argv, port, stream_path="/v1/stream", env=env)


@dataclass(frozen=True)
class NpmPeers:
    """Steady and aimock when they could be installed, else why not."""

    steady: Peer | None
    aimock: Peer | None
    skipped: str = ""


def npm_peers(folder: Path, cache: Path | None = None) -> NpmPeers:
    """Steady serving the OpenAPI document and aimock with one fixture, installed with npm into ``cache``."""
    cache = cache or npm_cache()
    bins = cache / "node_modules" / ".bin"
    if not (bins / "steady").exists() or not (bins / "llmock").exists():
        npm = shutil.which("npm")
        if npm is None:
            return NpmPeers(None, None, "npm is not installed: the Steady and aimock rows are skipped")
        cache.mkdir(parents=True, exist_ok=True)
        print(f"bench: installing {STEADY_PACKAGE} and {AIMOCK_PACKAGE} into {cache} (npm, once) ...", flush=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), STEADY_PACKAGE, AIMOCK_PACKAGE],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not (bins / "steady").exists():
            reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return NpmPeers(None, None, f"npm install failed ({reason[0]}): the Steady and aimock rows are skipped")
    fixture = folder / "aimock-fixture.json"
    fixture.write_text(json.dumps(AIMOCK_FIXTURE, ensure_ascii=False), encoding="utf-8")
    steady_port, aimock_port = free_port(), free_port()
    steady = Peer(
        "steady",
        f"Steady {_version(cache, '@stdy/cli')} (`@stdy/cli`, the OpenAPI document)",
        [str(bins / "steady"), "--port", str(steady_port), "--host", "127.0.0.1", "--quiet", str(OPENAPI)],
        steady_port,
        path="/responses",  # the spec's server URL carries /v1
    )
    aimock = Peer(
        "aimock",
        f"aimock {_version(cache, '@copilotkit/aimock')} (`@copilotkit/aimock`, one fixture)",
        [str(bins / "llmock"), "--port", str(aimock_port), "--fixtures", str(fixture), "--log-level", "silent"],
        aimock_port,
    )
    if not OPENAPI.is_file():
        return NpmPeers(None, aimock, f"{OPENAPI} is missing: the Steady row is skipped")
    return NpmPeers(steady, aimock)


def _version(cache: Path, package: str) -> str:
    try:
        return json.loads((cache / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"
