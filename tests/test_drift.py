"""Drift, inference and compatibility reports on the committed recordings and on edited copies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from httpx import WSGITransport
from jsonschema import Draft202012Validator

import contract_tests.__main__ as cli
from contract_tests.baseline import KEY as BASELINE_KEY
from contract_tests.baseline import mismatches, record_mock
from contract_tests.compare import Docs
from contract_tests.compat import compat
from contract_tests.drift import EVENT, drift, infer_all, structural_vs_schemas
from contract_tests.infer import infer
from contract_tests.record import load_requests, record_target
from contract_tests.samples import collect
from mockserver import create_app
from schemas.recording import split_blocks

from .conftest import FIXTURES

MOCK = FIXTURES / "recordings" / "mock"
DOCUMENTED = FIXTURES / "recordings" / "documented"
PLAIN = "001-documented.json"
STREAM = "002-documented-stream"


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "new"
    shutil.copytree(MOCK, target)
    return target


def edit_body(folder: Path, change) -> None:
    path = folder / PLAIN
    data = json.loads(path.read_text())
    change(data["response"]["body"])
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2))


def remove_total_tokens(body):
    del body["usage"]["total_tokens"]


def created_at_string(body):
    body["created_at"] = "2026-05-19T06:45:57Z"


def add_field(body):
    body["x_trace_id"] = "trace-1"


def edit_events(folder: Path, change) -> None:
    """Apply ``change`` to the list of (parsed) events of the documented stream, renumbering as it goes."""
    sse = folder / f"{STREAM}.sse"
    events = [
        json.loads(line[6:])
        for block in split_blocks(sse.read_bytes())
        for line in block.decode().splitlines()
        if line.startswith("data: ")
    ]
    events = change(events)
    for number, event in enumerate(events):
        event["sequence_number"] = number
    sse.write_bytes(
        b"".join(f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events)
    )
    meta = folder / f"{STREAM}.json"
    data = json.loads(meta.read_text())
    data["stream"]["events"] = [{"type": e["type"], "offset_ms": 0} for e in events]
    meta.write_text(json.dumps(data, ensure_ascii=False, indent=2))


def add_event_type(events):
    new = {
        "type": "response.output_text.annotation.added",
        "sequence_number": 0,
        "item_id": "msg_1",
        "output_index": 1,
        "content_index": 0,
        "annotation_index": 0,
        "annotation": {"type": "url_citation", "url": "https://example.invalid"},
    }
    return [*events[:-1], new, events[-1]]


def found(report):
    """``(where, path) -> level`` of every difference (violation first when a path has several)."""
    out: dict = {}
    for d in sorted(report.differences, key=lambda d: d.level != "violation"):
        out.setdefault((d.where, d.bare_path), d.level)
    return out


@pytest.mark.parametrize("against", [None, MOCK])
def test_the_committed_recordings_show_no_drift(against):
    report, inferred = drift(MOCK, against=against)
    assert report.differences == []
    assert report.exit_code == 0 and report.exchanges == 9
    assert "response" in inferred and "error" in inferred and f"{EVENT}response.completed" in inferred
    assert drift(DOCUMENTED)[0].differences == []


def test_the_committed_mock_recording_matches_what_the_mock_records_now(tmp_path):
    """``make recordings`` regenerates it; this fails when it goes stale (ids, timestamps, text, timing aside)."""
    record_mock(tmp_path / "now")
    assert mismatches(MOCK, tmp_path / "now") == []
    stale = tmp_path / "stale"
    shutil.copytree(MOCK, stale)
    edit_body(stale, lambda body: body.pop("service_tier"))
    assert mismatches(stale, tmp_path / "now") == ['documented: /body/service_tier: committed "<absent>", now "<text>"']


@pytest.mark.parametrize(
    ("seed", "requests"), [(0, True), (0, False), (7, True)], ids=["same-seed", "documented-only", "another-seed"]
)
def test_recording_todays_mock_shows_no_violation_against_the_committed_baseline(tmp_path, seed, requests):
    out = tmp_path / "today"
    if requests:
        record_mock(out, seed=seed)
    else:
        app = create_app(seed=seed, api_keys=[BASELINE_KEY], log_requests=False)
        record_target("http://mock.invalid/v1", BASELINE_KEY, out, load_requests([]), transport=WSGITransport(app=app))
    report, _ = drift(out, against=MOCK)
    assert report.exit_code == 0, [(d.where, d.path, d.what) for d in report.violations]
    not_recorded = sorted(d.where for d in report.differences if d.rule == "drift.not_recorded")
    assert not_recorded == ([] if requests else [f"request {n}" for n in NAMES if not n.startswith("documented")])
    assert all(d.level == "observation" for d in report.differences)


NAMES = sorted(
    ["documented", "documented-stream", "function_tool", "function_tool-stream", "reasoning_off"]
    + ["reasoning_off-stream", "capped", "capped-stream", "unknown_model"]
)


@pytest.mark.parametrize("against", [None, MOCK], ids=["vs-schemas", "vs-earlier"])
@pytest.mark.parametrize(
    ("change", "path", "level"),
    [
        (remove_total_tokens, "/usage/total_tokens", "violation"),
        (created_at_string, "/created_at", "violation"),
        (add_field, "/x_trace_id", "observation"),
    ],
)
def test_each_edited_reply_field_is_named_with_its_level(copy, against, change, path, level):
    edit_body(copy, change)
    report, _ = drift(copy, against=against)
    assert found(report).get(("response", path)) == level
    named = next(d for d in report.differences if d.bare_path == path and d.where == "response")
    assert PLAIN in named.sources
    assert report.exit_code == (1 if level == "violation" else 0)
    assert (report.violations == []) == (level == "observation")


def test_a_users_levels_file_turns_a_violation_into_an_observation_or_a_known_issue(copy, tmp_path, capsys):
    edit_body(copy, remove_total_tokens)
    levels = tmp_path / "levels.json"
    levels.write_text(json.dumps({"paths": [{"rule": "schema", "path": "/usage/**", "level": "observation"}]}))
    assert cli.main(["drift", str(copy), "--against", str(MOCK), "--levels", str(levels)]) == 0
    levels.write_text(
        json.dumps(
            {"known_issues": [{"rule": "schema", "path": "/usage/total_tokens", "until": "2999-12-31", "note": "x"}]}
        )
    )
    assert cli.main(["drift", str(copy), "--levels", str(levels)]) == 0
    assert "KNOWN (1)" in capsys.readouterr().out
    levels.write_text(json.dumps({"rules": {"schema": "loud"}}))
    assert cli.main(["drift", str(copy), "--levels", str(levels)]) == 2
    assert "levels.json: /rules/schema: 'loud' is not one of" in capsys.readouterr().err


@pytest.mark.parametrize("against", [None, MOCK], ids=["vs-schemas", "vs-earlier"])
def test_a_new_event_type_is_an_observation(copy, against):
    edit_events(copy, add_event_type)
    report, _ = drift(copy, against=against)
    assert found(report).get((f"{EVENT}response.output_text.annotation.added", "")) == "observation"
    assert report.violations == [] and report.exit_code == 0


def test_all_four_edits_together_through_the_command_line(copy, capsys):
    for change in (remove_total_tokens, created_at_string, add_field):
        edit_body(copy, change)
    edit_events(copy, add_event_type)
    assert cli.main(["drift", str(copy), "--against", str(MOCK)]) == 1
    text = capsys.readouterr().out
    violations, observations = text.split("VIOLATION")[1].split("OBSERVATION")
    assert "response /usage/total_tokens" in violations and "response /created_at" in violations
    assert "response /x_trace_id" in observations and "event response.output_text.annotation.added /" in observations
    assert "Drift: 2 violation(s) (exit 1)" in text
    assert cli.main(["drift", str(copy), "--format", "markdown", "--infer-out", str(copy / "inferred.out")]) == 1
    markdown = capsys.readouterr().out
    assert markdown.startswith("## Drift report") and "### Violation (2)" in markdown
    assert "| response | `/usage/total_tokens` |" in markdown and "| response | `/x_trace_id` |" in markdown
    assert "response" in json.loads((copy / "inferred.out").read_text())


def test_additive_edits_alone_exit_0(copy, capsys):
    edit_body(copy, add_field)
    edit_events(copy, add_event_type)
    assert cli.main(["drift", str(copy), "--against", str(MOCK), "--format", "markdown"]) == 0
    assert "No violation (exit 0)" in capsys.readouterr().out


def test_event_types_gone_or_reordered_in_the_same_request_are_violations(copy):
    edit_events(copy, lambda events: [e for e in events if e["type"] != "response.in_progress"])
    gone, _ = drift(copy, against=MOCK)
    assert found(gone)[(f"{EVENT}response.in_progress", "")] == "violation"

    shutil.rmtree(copy)
    shutil.copytree(MOCK, copy)
    edit_events(copy, lambda events: [events[1], events[0], *events[2:]])
    reordered, _ = drift(copy, against=MOCK)
    assert any(d.level == "violation" and "reordered" in d.what for d in reordered.violations)


def test_a_new_enum_value_and_a_value_no_longer_seen_are_observations(copy):
    edit_body(copy, lambda body: body["output"][-1].update(status="interrupted"))
    report, _ = drift(copy, against=MOCK)
    assert any(
        d.rule == "drift.new" and d.bare_path == "/output/*/status" and "interrupted" in d.what
        for d in report.differences
    )
    assert any(d.rule == "drift.no_longer_seen" and d.level == "observation" for d in report.differences)


def test_null_where_a_value_was_is_an_observation(copy):
    edit_body(copy, lambda body: body.update(service_tier=None))
    report, _ = drift(copy, against=MOCK)
    assert [(d.rule, d.bare_path, d.level) for d in report.differences] == [
        ("drift.null", "/service_tier", "observation")
    ]


# inference --------------------------------------------------------------------------------------


def test_the_inferred_schemas_validate_the_documented_reply_and_the_mock_recordings():
    samples = collect([DOCUMENTED, MOCK])
    for kind in ("response", "error", "event"):
        values = [s.value for s in samples.kind(kind)]
        schema = infer(values)
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        assert values and all(validator.is_valid(v) for v in values), kind
    response = infer([s.value for s in samples.responses])
    kinds = [branch["properties"]["type"]["const"] for branch in response["properties"]["output"]["items"]["anyOf"]]
    assert {"reasoning", "message"} <= set(kinds)
    assert set(response["properties"]["status"]["enum"]) >= {"completed", "incomplete"}
    assert "usage" in response["required"] and "error" not in response["required"]


def test_infer_shows_no_change_when_the_schemas_already_fit(capsys):
    assert cli.main(["infer", str(DOCUMENTED), str(MOCK), "--schema", "response"]) == 0
    assert "already describe" in capsys.readouterr().out


def test_infer_writes_a_reviewable_diff_and_a_candidate_that_accepts_the_drifted_replies(
    copy, capsys, tmp_path, monkeypatch
):
    for change in (remove_total_tokens, created_at_string, add_field):
        edit_body(copy, change)
    paths = [str(FIXTURES / "documented_response.json"), str(copy)]
    assert cli.main(["infer", *paths, "--schema", "response"]) == 1
    diff = capsys.readouterr().out
    assert "--- schemas/gateway/response.schema.json\n+++ schemas/gateway/response.schema.json (candidate)" in diff
    assert '+    "x_trace_id": {' in diff
    assert '"created_at": {' in diff and '+        "string"' in diff
    assert "--- schemas/gateway/usage.schema.json" in diff and '-    "total_tokens",' in diff
    # a completed reply's created_at is also typed by the status rule, which a candidate does not rewrite
    assert "# still rejected by the candidate (edit by hand): 001-documented.json: $.created_at" in diff

    edit_body(copy, lambda body: body.update(created_at=1779173557))
    samples = collect(paths)
    docs = Docs("gateway")
    for difference in structural_vs_schemas(samples, {"response": infer_all(samples)["response"]}, "gateway", docs):
        difference.patch()
    validator = docs.validator("response")
    assert all(validator.is_valid(s.value) for s in samples.responses)

    monkeypatch.setattr(cli, "CANDIDATE_ROOT", tmp_path / "repo")
    (tmp_path / "repo" / "schemas" / "gateway").mkdir(parents=True)
    assert cli.main(["infer", *paths, "--schema", "response", "--write"]) == 1
    written = sorted(p.name for p in (tmp_path / "repo" / "schemas" / "gateway").iterdir())
    assert written == ["response.schema.candidate.json", "usage.schema.candidate.json"]


def test_infer_for_events_adds_the_new_event_type(copy, capsys):
    edit_events(copy, add_event_type)
    assert cli.main(["infer", str(copy), "--schema", "event"]) == 1
    out = capsys.readouterr().out
    assert "# additive: event response.output_text.annotation.added /: new event type" in out
    assert "--- schemas/gateway/event.schema.json" in out and '"const": "response.output_text.annotation.added"' in out


def test_infer_raw_prints_the_inferred_schema(capsys):
    assert cli.main(["infer", str(DOCUMENTED), "--raw"]) == 0
    assert json.loads(capsys.readouterr().out)["properties"]["object"] == {"type": "string", "const": "response"}


# compatibility ----------------------------------------------------------------------------------


def test_compat_lists_only_known_deviations_for_the_mock(capsys):
    found_in_folder, exchanges = compat(MOCK)
    assert exchanges == 9 and found_in_folder and all(i.cls == "known" for i in found_in_folder)
    paths = {(i.where, i.path) for i in found_in_folder}
    assert ("response+stream", "/usage/input_tokens_details/cache_write_tokens") in paths and (
        "error",
        "/error/param",
    ) in paths
    assert ("response+stream", "/output/*/content/*/logprobs") not in paths  # OpenAI itself leaves logprobs out
    assert len(found_in_folder) == 5  # each listed deviation once
    assert cli.main(["compat", "--format", "markdown"]) == 0  # the mock, recorded in-process
    out = capsys.readouterr().out
    assert "## OpenAI compatibility report" in out and "Only known deviations" in out


def test_compat_flags_a_new_deviation(copy, capsys):
    edit_body(copy, lambda body: body.pop("parallel_tool_calls"))
    assert cli.main(["compat", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "NEW (1)" in out and "response /parallel_tool_calls" in out
