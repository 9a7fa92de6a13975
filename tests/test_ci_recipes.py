"""The CI recipes in docs/ci/: valid for their CI system, and every command they run exists.

- the GitHub workflow passes actionlint (offline; the binary comes in a wheel of the test extra);
- the GitLab file validates against GitLab's CI schema (vendored in check-jsonschema: no network);
- every ``make`` target they call is in the Makefile, every ``contract_tests`` command parses with
  the CLI's own parser, every ``--contract-*`` option is one the plugin registers, and
  ``make contract`` hands ``ARGS`` to pytest;
- the key comes from the secret store through the environment only.

Each validator is also shown a broken copy, so a check that cannot fail would be noticed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import contract_tests.__main__ as cli

from .conftest import ROOT

CI = ROOT / "docs" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command-line tool of the test environment (next to this Python), or skip saying how to get it."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: it comes with the kit's test extra (pip install -e '.[test]')")
    return found


def commands(path: Path) -> list[str]:
    """Every shell command the recipe runs: GitHub ``run`` steps, GitLab ``script`` and ``before_``/``after_script``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "run" and isinstance(value, str):
                    found.extend(line for line in value.splitlines() if line.strip())
                elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                    found.extend(str(line) for line in value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return [" ".join(command.split()) for command in found]


def shell_words(command: str) -> list[list[str]]:
    """The simple commands of a line (split at ``;``, ``&&``, ``||``, ``|``, ``>``), variables as placeholders."""
    command = re.sub(r'"\$\{against\[@\]\}"|\$against', "", command)
    command = re.sub(r"\$\{?\{?[A-Za-z_. ]+\}?\}?", "VALUE", command)
    parts = re.split(r"\s(?:;|&&|\|\||\||>>?|2>&1)\s|;\s", command)
    return [shlex.split(part) for part in parts if part.strip()]


RECIPES = [GITHUB, GITLAB]


def test_the_github_workflow_passes_actionlint():
    actionlint = tool("actionlint")
    done = subprocess.run([actionlint, "-no-color", str(GITHUB)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_catch_a_broken_workflow(tmp_path):
    actionlint = tool("actionlint")
    broken = tmp_path / "broken.yml"
    broken.write_text(GITHUB.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    step: []", 1))
    done = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and 'unexpected key "step"' in done.stdout


def test_the_gitlab_file_validates_against_gitlabs_ci_schema():
    check = tool("check-jsonschema")
    done = subprocess.run(
        [check, "--builtin-schema", "vendor.gitlab-ci", str(GITLAB)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gitlab_schema_does_catch_a_broken_file(tmp_path):
    check = tool("check-jsonschema")
    broken = tmp_path / "broken.yml"
    broken.write_text(GITLAB.read_text().replace("  when: always\n", "  when: sometimes\n", 1))
    done = subprocess.run(
        [check, "--builtin-schema", "vendor.gitlab-ci", str(broken)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1 and "sometimes" in done.stdout


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {match.group(1) for match in re.finditer(r"^([A-Za-z0-9_./$()-]+):", text, re.MULTILINE)} | {
        ".venv/.installed"  # $(VENV)/.installed
    }


def suite_options() -> set[str]:
    """The ``--contract-*`` options the plugin registers, as ``pytest --help`` lists them."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:randomly"], capture_output=True, text=True, check=True
    )
    return set(re.findall(r"(--contract-[a-z-]+)", done.stdout))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_command_the_recipe_runs_exists(recipe):
    targets, options = makefile_targets(), suite_options()
    checked = {"make": 0, "contract_tests": 0}
    for command in commands(recipe):
        for words in shell_words(command):
            if words[:1] == ["make"]:
                target = next(word for word in words[1:] if "=" not in word)
                assert target in targets, f"{recipe.name}: make {target}: no such target in the Makefile"
                arguments = next((w.split("=", 1)[1] for w in words if w.startswith("ARGS=")), "")
                for option in re.findall(r"--contract-[a-z-]+", arguments):
                    assert option in options, f"{recipe.name}: {option} is not an option of the suite"
                checked["make"] += 1
            if "contract_tests" in words and words[words.index("contract_tests") - 1] == "-m":
                arguments = words[words.index("contract_tests") + 1 :]
                cli.parser().parse_args(arguments)  # exits 2 (SystemExit) on an unknown command or option
                checked["contract_tests"] += 1
    assert checked["make"] >= 2 and checked["contract_tests"] >= 2, checked


def test_make_contract_hands_the_report_options_to_pytest():
    done = subprocess.run(
        ["make", "-n", "contract", "BASE_URL=https://gateway.example/v1", "ARGS=--contract-html r.html"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--pyargs contract_tests" in done.stdout and "--contract-html r.html" in done.stdout


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_the_key_comes_from_the_secret_store_through_the_environment(recipe):
    text = recipe.read_text(encoding="utf-8")
    assert "CONTRACT_API_KEY" in text
    for line in text.splitlines():
        if "secrets." in line:
            assert re.match(r"\s+CONTRACT_API_KEY: \$\{\{ secrets\.CONTRACT_API_KEY \}\}$", line), line
    assert not re.search(r"--(contract-)?api-key", text)  # never on a command line


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_the_recipe_keeps_the_reports_and_writes_the_summary(recipe):
    text = recipe.read_text(encoding="utf-8")
    assert "contract-report.html" in text and "drift-report.html" in text and "contract-report.xml" in text
    assert "--format html" in text and "--format markdown" in text and "--against recordings/last" in text
    if recipe is GITHUB:
        assert 'cat contract-summary.md >> "$GITHUB_STEP_SUMMARY"' in text
        assert "schedule:" in text
    else:
        assert '$CI_PIPELINE_SOURCE == "schedule"' in text
