"""README's "Use it in your app's tests", run verbatim: each install line in a fresh virtual environment.

The lines are read from README.md itself (so the README cannot drift from
what works): a copy of this checkout stands for ``/path/to/kit``, ``pip``
and ``python`` are the fresh venv's, and packages come from wherever this
machine's pip finds them (``pip config list``: its find-links folder, the
local simple indexes and the package index). Then the README's app and test
run under ``--disable-socket``, and the installed (not editable) kit shows
its console scripts, its packaged data and its own suite.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SECTION = "## Use it in your app's tests"
KIT_PLACEHOLDER = "/path/to/kit"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def readme_blocks() -> tuple[list[str], dict[str, str]]:
    """The section's shell blocks in order, and its Python files by the name in their first line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.DOTALL)
    shell = [code for language, code in blocks if language == "sh"]
    files = {code.splitlines()[0].removeprefix("# "): code for language, code in blocks if language == "python"}
    return shell, files


def copy_checkout(to: Path) -> Path:
    """The repository's files as a fresh clone would have them (plus uncommitted ones, minus ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        shutil.copytree(ROOT, to, ignore=shutil.ignore_patterns(".git", ".venv*", "__pycache__", "build", "dist"))
        return to
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


class Venv:
    """A fresh virtual environment whose ``bin`` comes first on PATH, as after ``source bin/activate``."""

    def __init__(self, path: Path):
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        self.env.update(VIRTUAL_ENV=str(path), PATH=f"{path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")

    def sh(self, line: str, cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", "-c", line], cwd=cwd, env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(f"`{line}` exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path_factory.mktemp("probe"))]
        + ["pytest-socket"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"no package index reachable for a fresh venv: {probe.stderr.strip().splitlines()[-1:]}")
    return copy_checkout(tmp_path_factory.mktemp("kit"))


@pytest.mark.parametrize("way", ["checkout", "wheel"])
def test_the_readme_install_lines_and_app_test_pass_in_a_fresh_venv(kit: Path, tmp_path: Path, way: str) -> None:
    shell, files = readme_blocks()
    from_checkout, from_wheel, run_tests = shell
    install = from_checkout if way == "checkout" else from_wheel
    venv = Venv(tmp_path / "venv")
    for line in install.strip().splitlines():
        venv.sh(line.replace(KIT_PLACEHOLDER, str(kit)), cwd=tmp_path)
    app = tmp_path / "app"
    app.mkdir()
    for name, code in files.items():
        (app / name).write_text(code, encoding="utf-8")
    assert set(files) == {"app.py", "test_app.py"}
    result = venv.sh(run_tests.strip(), cwd=app)
    assert "1 passed" in result.stdout
    installed = venv.sh("pip show -f responses-contract-kit", cwd=tmp_path).stdout
    assert "Editable project location" not in installed and "contract_tests/data/record_requests.json" in installed
    check_the_installed_kit(venv, tmp_path / "elsewhere")


def check_the_installed_kit(venv: Venv, elsewhere: Path) -> None:
    """Not editable, away from the checkout: console scripts, importlib.resources data, the suite's conftest."""
    elsewhere.mkdir()
    assert "--replay" in venv.sh("responses-mock --help", cwd=elsewhere).stdout
    assert "check-target" in venv.sh("responses-contract --help", cwd=elsewhere).stdout
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: a port where nothing answers
        port = closed.getsockname()[1]
        refused = venv.sh(
            f"CONTRACT_API_KEY=sk-x responses-contract check-target http://127.0.0.1:{port}/v1",
            cwd=elsewhere,
            check=False,
        )
    assert refused.returncode == 6 and f"nothing is listening at 127.0.0.1:{port}" in refused.stderr
    names = "from contract_tests.record import load_requests; print([s.name for s in load_requests(None)])"
    assert venv.sh(f'python -c "{names}"', cwd=elsewhere).stdout.strip() == (
        "['documented', 'function_tool', 'reasoning_off', 'capped', 'unknown_model']"
    )
    suite = venv.sh(
        "python -m pytest --pyargs contract_tests -p no:cacheprovider -q -k 'documented or auth'", cwd=elsewhere
    )
    assert re.search(r"\b\d+ passed\b", suite.stdout) and "responses contract" in suite.stdout
