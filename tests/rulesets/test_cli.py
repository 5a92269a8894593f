"""`riskops rules validate` and `diff` on files: no server, every problem by rule id."""

import json
from pathlib import Path

from typer.testing import CliRunner

from riskops.cli import app
from riskops.rules import default_ruleset_path
from tests.rulesets.support import BIG

runner = CliRunner()


def test_validate_accepts_the_shipped_toml_and_names_each_problem(tmp_path: Path) -> None:
    good = runner.invoke(app, ["rules", "validate", str(default_ruleset_path())])
    assert good.exit_code == 0, good.output
    assert "valid" in good.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [BIG, {**BIG, "id": "oops", "expression": "amount >"}]}))
    refused = runner.invoke(app, ["rules", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "oops: expression: syntax error" in refused.output


def test_diff_of_two_files_shows_each_changed_field(tmp_path: Path) -> None:
    base, candidate = tmp_path / "a.json", tmp_path / "b.json"
    base.write_text(json.dumps([BIG]))
    candidate.write_text(json.dumps([{**BIG, "action": "review"}, {**BIG, "id": "second"}]))
    result = runner.invoke(app, ["rules", "diff", str(base), str(candidate)])
    assert result.exit_code == 0, result.output
    assert "+ second" in result.output
    assert "action: 'decline' -> 'review'" in result.output
