"""Loading rulesets: what loads, and every way a ruleset is refused."""

import json
from pathlib import Path

import pytest

from riskops.rules import (
    Rule,
    RuleAction,
    RulesetError,
    Severity,
    load_ruleset,
    parse_ruleset,
)
from tests.rules.support import known_variables

KNOWN = known_variables()


def valid_rule(**changes: object) -> dict[str, object]:
    """A valid [[rules]] table; a change to None removes that field."""
    fields: dict[str, object] = {
        "id": "card_testing",
        "name": "Card testing burst",
        "description": "Many small payments on one card in five minutes.",
        "expression": "card_count_5m >= 5 && card_amount_mean_5m < 500.0",
        "action": "decline",
        "reason_code": "CARD_TESTING",
        "severity": "high",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def toml(*rules: dict[str, object], version: str | None = "test-1") -> str:
    # JSON scalars (strings, booleans, integers) are valid TOML values.
    lines = [] if version is None else [f"version = {json.dumps(version)}"]
    for rule in rules:
        lines.append("\n[[rules]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in rule.items()]
    return "\n".join(lines) + "\n"


def refusal(text: str) -> RulesetError:
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(text, KNOWN)
    return caught.value


def test_valid_ruleset_loads() -> None:
    text = toml(valid_rule(), valid_rule(id="night_gambling", enabled=False, severity="low"))

    ruleset = parse_ruleset(text, KNOWN)

    assert ruleset.version == "test-1"
    assert ruleset.rules[0] == Rule(
        id="card_testing",
        name="Card testing burst",
        description="Many small payments on one card in five minutes.",
        expression="card_count_5m >= 5 && card_amount_mean_5m < 500.0",
        action=RuleAction.DECLINE,
        reason_code="CARD_TESTING",
        severity=Severity.HIGH,
        enabled=True,
    )
    assert (ruleset.rules[1].id, ruleset.rules[1].enabled) == ("night_gambling", False)


def test_multi_line_strings_lose_their_outer_line_breaks() -> None:
    text = 'version = "1"\n[[rules]]\n' + "\n".join(
        f"{key} = {json.dumps(value)}" for key, value in valid_rule(description=None).items()
    )
    text += '\ndescription = """\nFirst line\nsecond line.\n"""\n'

    [rule] = parse_ruleset(text, KNOWN).rules

    assert rule.description == "First line\nsecond line."


def test_macro_bound_names_are_not_unknown_variables() -> None:
    expression = '["411111", "550000"].exists(prefix, card_bin.startsWith(prefix))'

    [rule] = parse_ruleset(toml(valid_rule(expression=expression)), KNOWN).rules

    assert rule.expression == expression


RULE_REFUSALS = [
    pytest.param(
        {"expression": "amount_minor >"}, "card_testing", "expression", "syntax error", id="syntax"
    ),
    pytest.param(
        {"expression": "card_cnt_5m >= 5"},
        "card_testing",
        "expression",
        "unknown variable 'card_cnt_5m' (did you mean 'card_count_5m'?)",
        id="unknown-variable",
    ),
    pytest.param(
        {"expression": 'merchant_id.lowerAscii() == "m"'},
        "card_testing",
        "expression",
        "unknown function 'lowerAscii'",
        id="unknown-function",
    ),
    pytest.param(
        {"action": "block"},
        "card_testing",
        "action",
        "unknown action 'block'; expected one of: decline, review, approve_override, tag",
        id="bad-action",
    ),
    pytest.param(
        {"severity": "severe"},
        "card_testing",
        "severity",
        "unknown severity 'severe'; expected one of: low, medium, high, critical",
        id="bad-severity",
    ),
    pytest.param(
        {"reason_code": "card testing"},
        "card_testing",
        "reason_code",
        "UPPER_SNAKE_CASE",
        id="bad-reason-code",
    ),
    pytest.param({"id": "Card Testing"}, "rules[0]", "id", "lowercase", id="bad-id"),
    pytest.param({"name": 3}, "card_testing", "name", "must be a string, got int", id="type"),
    pytest.param({"name": "  "}, "card_testing", "name", "must not be empty", id="empty"),
    pytest.param({"enabled": "no"}, "card_testing", "enabled", "true or false", id="enabled"),
    # A misspelt optional field would otherwise be ignored: `enable = false` leaves it on.
    pytest.param({"enable": False}, "card_testing", "enable", "unknown field", id="unknown"),
    *(
        pytest.param(
            {field: None},
            "rules[0]" if field == "id" else "card_testing",
            field,
            "missing required field",
            id=f"missing-{field}",
        )
        for field in (
            "id",
            "name",
            "description",
            "expression",
            "action",
            "reason_code",
            "severity",
        )
    ),
]


@pytest.mark.parametrize(("changes", "rule_id", "field", "reason"), RULE_REFUSALS)
def test_rule_refused(changes: dict[str, object], rule_id: str, field: str, reason: str) -> None:
    error = refusal(toml(valid_rule(**changes)))

    assert (error.details["rule_id"], error.details["field"]) == (rule_id, field)
    assert reason in error.details["reason"]
    assert f"rule '{rule_id}', field '{field}'" in error.message
    assert error.code == "ruleset_invalid"
    assert error.status_code == 400


def test_duplicate_id_refused() -> None:
    error = refusal(toml(valid_rule(), valid_rule(name="Second"), valid_rule(id="other")))

    assert error.problems == [
        {
            "rule_id": "card_testing",
            "field": "id",
            "reason": "duplicate rule id; first used by rules[0]",
        }
    ]


def test_duplicate_id_is_reported_alongside_other_problems() -> None:
    error = refusal(toml(valid_rule(), valid_rule(action="block")))

    assert [(p["rule_id"], p["field"]) for p in error.problems] == [
        ("card_testing", "action"),
        ("card_testing", "id"),
    ]


RULESET_REFUSALS = [
    pytest.param(toml(valid_rule(), version=None), "version", "missing", id="no-version"),
    pytest.param(toml(valid_rule(), version="v 1"), "version", "letters", id="bad-version"),
    pytest.param('version = "1"\n', "rules", "missing required field", id="no-rules"),
    pytest.param('version = "1"\nrules = "all"\n', "rules", "array", id="rules-not-array"),
    pytest.param(
        'version = "1"\n[[rule]]\nid = "x"\n', "rule", "unknown top-level field", id="typo-table"
    ),
    pytest.param('version = "1"\n[[rules]\n', "toml", "line 2", id="invalid-toml"),
]


@pytest.mark.parametrize(("text", "field", "reason"), RULESET_REFUSALS)
def test_ruleset_refused(text: str, field: str, reason: str) -> None:
    error = refusal(text)

    assert error.details["rule_id"] is None
    assert error.details["field"] == field
    assert reason in error.details["reason"]


def test_rules_that_are_not_tables_are_refused_by_position() -> None:
    error = refusal('version = "1"\nrules = [1]\n')

    assert (error.details["rule_id"], error.details["field"]) == ("rules[0]", "rules")


def test_every_problem_is_reported_at_once() -> None:
    text = toml(
        valid_rule(action="block", severity="severe"),
        valid_rule(id="second", expression="nope > 1"),
    )

    error = refusal(text)

    assert [(p["rule_id"], p["field"]) for p in error.problems] == [
        ("card_testing", "action"),
        ("card_testing", "severity"),
        ("second", "expression"),
    ]
    assert error.message.endswith("(and 2 more problem(s))")


def test_variables_are_checked_against_what_the_caller_knows() -> None:
    text = toml(valid_rule(expression="risk_score > 0.5"))

    assert parse_ruleset(text, {*KNOWN, "risk_score"}).rules[0].expression == "risk_score > 0.5"
    assert "unknown variable 'risk_score'" in refusal(text).details["reason"]


def test_load_ruleset_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml(valid_rule()), encoding="utf-8")

    assert load_ruleset(path, KNOWN) == parse_ruleset(toml(valid_rule()), KNOWN)


def test_unreadable_file_is_refused_with_the_same_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(RulesetError) as caught:
        load_ruleset(missing, KNOWN)

    assert caught.value.details["field"] == "path"
    assert str(missing) in caught.value.details["reason"]
