"""Ruleset values: the checksum tells content apart, severities weigh in order."""

import dataclasses
import re

import pytest

from riskops.rules import RuleAction, RulesetError, Severity, parse_ruleset
from tests.rules.support import known_variables, rule, ruleset

BASE = ruleset(rule("first", "amount_minor > 100"), rule("second", 'channel == "atm"'))


def test_checksum_is_a_sha256_hex_digest_and_stable() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", BASE.checksum)
    assert ruleset(*BASE.rules).checksum == BASE.checksum


CHANGES = [
    pytest.param({"id": "third"}, id="id"),
    pytest.param({"name": "renamed"}, id="name"),
    pytest.param({"description": "clarified"}, id="description"),
    pytest.param({"expression": "amount_minor > 101"}, id="expression"),
    pytest.param({"action": RuleAction.DECLINE}, id="action"),
    pytest.param({"reason_code": "OTHER"}, id="reason_code"),
    pytest.param({"severity": Severity.CRITICAL}, id="severity"),
    pytest.param({"enabled": False}, id="enabled"),
]


@pytest.mark.parametrize("changes", CHANGES)
def test_checksum_changes_with_any_rule_field(changes: dict[str, object]) -> None:
    changed = dataclasses.replace(BASE.rules[0], **changes)  # type: ignore[arg-type]

    assert ruleset(changed, BASE.rules[1]).checksum != BASE.checksum


def test_same_version_different_content_is_told_apart() -> None:
    first, second = BASE.rules

    assert ruleset(second, first).checksum != BASE.checksum  # order is evaluation order
    assert ruleset(first).checksum != BASE.checksum
    assert ruleset(first, second, version="test-2").checksum != BASE.checksum


def test_checksum_ignores_formatting_of_the_source() -> None:
    compact = (
        'version = "7"\n[[rules]]\nid = "r"\nname = "R"\ndescription = "D"\n'
        'expression = "amount_minor > 1"\naction = "tag"\nreason_code = "R"\nseverity = "low"\n'
    )
    commented = (
        '# a comment\nversion = "7"\n\n[[rules]]\nseverity = "low"   # reordered keys\n'
        "reason_code = 'R'\naction = 'tag'\nexpression = '''amount_minor > 1'''\n"
        'description = """\nD\n"""\nname = "R"\nid = "r"\n'
    )
    known = known_variables()

    assert parse_ruleset(compact, known).checksum == parse_ruleset(commented, known).checksum


def test_duplicate_ids_are_refused_even_when_built_in_code() -> None:
    with pytest.raises(RulesetError) as caught:
        ruleset(rule("same", "true"), rule("same", "false"))

    assert (caught.value.details["rule_id"], caught.value.details["field"]) == ("same", "id")


def test_severity_weights_rise_with_severity_and_stay_probabilities() -> None:
    weights = [severity.weight for severity in Severity]

    assert weights == sorted(weights)
    assert all(0 < weight < 1 for weight in weights)
    assert Severity.CRITICAL.weight == 0.9
