"""``record`` sends what README says by default, and never mixes a new recording into an old one.

Also: the default request list ships as package data (so a non-editable
install records the same), ``.gitignore`` covers what the tools write, and
``schemas.derive_openai`` says what to pass when the spec is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests import examples
from contract_tests.__main__ import main
from contract_tests.record import load_requests, prepare_out
from mockserver.replay import load_exchanges

from .conftest import FIXTURES, ROOT
from .test_record import KEY, running_mock


def test_the_packaged_default_requests_equal_the_fixture() -> None:
    committed = json.loads((FIXTURES / "recordings" / "requests.json").read_text(encoding="utf-8"))
    assert examples.record_requests() == committed


def test_without_requests_record_takes_the_documented_request_and_the_default_list() -> None:
    specs = load_requests(None)
    committed = json.loads((FIXTURES / "recordings" / "requests.json").read_text(encoding="utf-8"))
    assert [s.name for s in specs] == ["documented", *(entry["name"] for entry in committed)]
    assert specs[0].body == examples.documented_request()
    assert [s.name for s in load_requests([])] == ["documented"]  # an explicit empty list: only the documented one


def test_record_by_default_records_what_readme_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "today"
    with running_mock() as url:
        assert main(["record", "--base-url", url, "--api-key", KEY, "--out", str(out)]) == 0
    names = [e.path.name for e in load_exchanges(out)]
    assert names[:2] == ["001-documented.json", "002-documented-stream.json"]
    assert len(names) == 9 and names[-1] == "009-unknown_model.json"
    assert KEY not in capsys.readouterr().out


def test_a_used_out_folder_is_refused_unless_replace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    requests = tmp_path / "one.json"
    requests.write_text(json.dumps({"hello": {"model": "qwen3.6-plus", "input": "hi"}}))
    args = ["record", "--api-key", KEY, "--out", str(out), "--requests", str(requests), "--no-documented"]
    with running_mock() as url:
        assert main([*args[:1], "--base-url", url, *args[1:]]) == 0
        first = sorted(p.name for p in out.iterdir())
        capsys.readouterr()
        assert main([*args[:1], "--base-url", url, *args[1:]]) == 2
        assert "is not empty (4 files): record into a new folder, or pass --replace" in capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == first  # nothing added
        assert main([*args[:1], "--base-url", url, *args[1:], "--replace"]) == 0
    assert (
        sorted(p.name for p in out.iterdir())
        == first
        == [
            "001-hello.json",
            "002-hello-stream.json",
            "002-hello-stream.sse",
            "index.json",
        ]
    )


def test_replace_removes_only_a_recording(tmp_path: Path) -> None:
    (tmp_path / "001-a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"holds files the recorder did not write \(notes.txt\)"):
        prepare_out(tmp_path, replace=True)
    assert (tmp_path / "001-a.json").exists() and (tmp_path / "notes.txt").exists()
    (tmp_path / "notes.txt").unlink()
    prepare_out(tmp_path, replace=True)
    assert list(tmp_path.iterdir()) == []
    prepare_out(tmp_path / "new")  # a folder that does not exist yet is fine


def test_gitignore_covers_what_the_tools_write() -> None:
    written = ["recordings/today/001-documented.json", "report.xml", "contract-report.xml", "reports/index.html"]
    written.append("schemas/gateway/response.schema.candidate.json")
    kept = ["fixtures/recordings/mock/001-documented.json", "schemas/gateway/response.schema.json"]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *written, *kept], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode == 128:
        pytest.skip(f"not a git checkout: {done.stderr.strip()}")
    assert done.stdout.split() == written


def test_derive_openai_says_what_to_pass_when_the_spec_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    done = subprocess.run(
        [sys.executable, "-m", "schemas.derive_openai", "--spec", str(missing), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        f"python -m schemas.derive_openai: no OpenAPI document at {missing}: pass --spec PATH"
    )
    assert not (tmp_path / "out").exists()
    (tmp_path / "bad.json").write_text('{"openapi": "3.1.0"}')
    done = subprocess.run(
        [sys.executable, "-m", "schemas.derive_openai", "--spec", str(tmp_path / "bad.json"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "not an OpenAPI document (no components.schemas)" in done.stderr
