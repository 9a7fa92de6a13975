"""Start-up errors: one line on stderr naming the fix, exit code 2, no traceback."""

from __future__ import annotations

import json
import socket

import pytest

from mockserver.serve.cli import main as mock_main


def start(capsys, *args: str) -> str:
    """Run ``python -m mockserver ARGS`` in-process: it must refuse with exit 2 and one line on stderr."""
    code = mock_main(["--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mockserver: ") and "Traceback" not in err, err
    return lines[0]


def test_a_port_in_use(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = start(capsys, "--port", str(port))
        assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
        assert f"cannot listen on 127.0.0.1:{port}" in start(capsys, "--port", str(port), "--workers", "2")


def test_an_unknown_store_scheme(capsys):
    assert "store_url: 'mongo://x'" in start(capsys, "--store", "mongo://x")


def test_an_unreachable_redis(capsys):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in start(
        capsys, "--store", f"redis://127.0.0.1:{port}/0"
    )


def test_an_unreadable_replay_folder(capsys, tmp_path):
    assert "no such recording folder" in start(capsys, "--replay", str(tmp_path / "missing"))
    (tmp_path / "001-broken.json").write_text("{not json", encoding="utf-8")
    assert "001-broken.json: not a recorded exchange" in start(capsys, "--replay", str(tmp_path))


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read keys file"),
        ("{not json", "cannot read keys file"),
        (json.dumps({"key": "sk-a"}), "must hold a JSON list of keys"),
        (json.dumps([{"models": ["x"]}]), "[0]"),
    ],
)
def test_a_bad_keys_file(capsys, tmp_path, content, said):
    path = tmp_path / "keys.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    line = start(capsys, "--keys-file", str(path))
    assert said in line and str(path) in line


def test_a_bad_fault_spec_and_a_bad_scenario_folder(capsys, tmp_path):
    assert "faults[0]: unknown fault 'sloth'" in start(capsys, "--fault", "sloth=1")
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x", "reply": {"text": 1}}), encoding="utf-8")
    assert "bad.json" in start(capsys, "--scenarios", str(tmp_path))
