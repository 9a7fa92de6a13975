"""Levels: violations fail, observations are reported, known issues are known until their date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import schemas
from schemas.findings import Finding
from schemas.levels import LevelsError, default_levels, load_levels, pointer_matches


def finding(rule: str = "schema", path: str = "/usage/total_tokens", message: str = "boom") -> Finding:
    return Finding(path=path, message=message, rule=rule)


def test_the_default_file_gives_every_rule_a_level() -> None:
    levels = default_levels()
    assert levels.level(finding("schema"))[0] == "violation"
    assert levels.level(finding("openai_compat"))[0] == "observation"
    assert levels.level(finding("id_prefix"))[0] == "observation"
    assert levels.level(finding("no_5xx"))[0] == "violation"
    assert levels.level(finding("anything_unlisted"))[0] == "violation"


def test_schema_findings_carry_their_level() -> None:
    usage = {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 1}
    usage |= {"output_tokens_details": {"reasoning_tokens": 0}, "x_details": []}
    [found] = schemas.validate(usage, "usage", "gateway")
    assert (found.path, found.level, found.fails) == ("/total_tokens", "violation", True)
    observed = schemas.validate(usage, "usage", "gateway", levels=_observe_usage())
    assert [(f.path, f.level, f.fails) for f in observed] == [("/total_tokens", "observation", False)]


def _observe_usage():
    from schemas.levels import Levels, PathLevel

    base = default_levels()
    return Levels(rules=base.rules, paths=(PathLevel("schema", "/total_tokens", "observation"),))


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "levels.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_users_file_overrides_rules_and_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "rules": {"id_prefix": "violation"},
            "paths": [{"rule": "schema", "path": "/usage/x_details/**", "level": "observation"}],
        },
    )
    levels = load_levels(path)
    assert levels.level(finding("id_prefix"))[0] == "violation"
    assert levels.level(finding("schema", "/usage/x_details/0/x_billing_type"))[0] == "observation"
    assert levels.level(finding("schema", "/usage/total_tokens"))[0] == "violation"
    assert levels.level(finding("openai_compat"))[0] == "observation"  # the default still holds


def test_a_known_issue_is_known_until_its_date_then_a_violation_again(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "known_issues": [
                {"rule": "no_5xx", "message": "HTTP 500", "until": "2030-01-31", "note": "upstream 500 without input"}
            ]
        },
    )
    levels = load_levels(path)
    before = levels.__class__(**{**levels.__dict__, "today": dt.date(2030, 1, 31)})
    after = levels.__class__(**{**levels.__dict__, "today": dt.date(2030, 2, 1)})
    bug = finding("no_5xx", "", "HTTP 500 for a client error")
    assert before.apply(bug).level == "known" and "until 2030-01-31" in before.apply(bug).note
    assert after.apply(bug).level == "violation" and "expired on 2030-01-31" in after.apply(bug).note
    assert before.apply(finding("no_5xx", "", "HTTP 502 for a client error")).level == "violation"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"rules": {"schema": "warn"}}, r"levels.json: /rules/schema: 'warn' is not one of"),
        ({"rules": {"no_such_rule": "observation"}}, r"levels.json: /rules/no_such_rule: unknown rule"),
        (
            {"known_issues": [{"rule": "no_5xx", "until": "2030-02-30", "note": "n"}]},
            r"levels.json: /known_issues/0/until: '2030-02-30' is not a date",
        ),
        ({"known_issues": [{"rule": "no_5xx", "until": "soon", "note": "n"}]}, r"/known_issues/0/until: 'soon'"),
        ({"paths": [{"rule": "schema", "level": "observation"}]}, r"/paths/0: 'path' is a required property"),
        ({"levels": {}}, r"levels.json: /: Additional properties"),
    ],
)
def test_a_bad_levels_file_is_refused_naming_the_file_and_field(tmp_path: Path, data: object, error: str) -> None:
    with pytest.raises(LevelsError, match=error):
        load_levels(write(tmp_path, data))


def test_an_unreadable_levels_file_is_refused_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "levels.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(LevelsError, match="levels.json: not valid JSON"):
        load_levels(broken)
    with pytest.raises(LevelsError, match="missing.json: cannot read"):
        load_levels(tmp_path / "missing.json")


def test_pointer_patterns() -> None:
    assert pointer_matches("/output/*/id", "/output/3/id")
    assert not pointer_matches("/output/*/id", "/output/3/content/0/id")
    assert pointer_matches("/usage/**", "/usage/x_details/0/total_tokens")
    assert pointer_matches("", "")
