"""Lists as rules read them: membership per kind, CIDR, snapshots swapped whole; shadow mode."""

import pytest

from riskops.rules import (
    ListKind,
    ListSnapshot,
    ListSource,
    RuleAction,
    RuleErrorType,
    RuleMode,
    RulesEngine,
)
from tests.rules.support import rule, ruleset

SNAPSHOT = ListSnapshot.build(
    {
        "ips": (ListKind.IP, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]),
        "emails": (ListKind.EMAIL, ["fraud@example.com"]),
        "countries": (ListKind.COUNTRY, ["KP"]),
        "devices": (ListKind.DEVICE, ["dev-1"]),
        "empty_ips": (ListKind.IP, []),
    }
)

MEMBERSHIP = [
    ("ips", "10.255.0.1", True),
    ("ips", "11.0.0.1", False),
    ("ips", "192.0.2.7", True),
    ("ips", "192.0.2.8", False),
    ("ips", "2001:db8:1::5", True),
    ("ips", "2001:db9::5", False),
    ("ips", "", False),
    ("ips", "not an ip", False),
    ("empty_ips", "10.0.0.1", False),
    ("emails", "FRAUD@example.com", True),
    ("countries", "kp", True),
    ("devices", "dev-1", True),
    ("devices", "DEV-1", False),  # ids are exact
]


@pytest.mark.parametrize(("name", "value", "member"), MEMBERSHIP)
def test_membership(name: str, value: str, member: bool) -> None:
    assert SNAPSHOT.contains(name, value) is member


def test_in_list_in_rules_and_an_unknown_list_is_an_error_not_a_miss() -> None:
    engine = RulesEngine(
        ruleset(rule("ip", 'in_list("ips", ip)'), rule("nope", 'in_list("nope", ip)')), SNAPSHOT
    )

    evaluation = engine.evaluate({"ip": "10.1.2.3"})

    assert [hit.rule_id for hit in evaluation.hits] == ["ip"]
    [error] = evaluation.errors
    assert (error.rule_id, error.error_type) == ("nope", RuleErrorType.EVALUATION_FAILED)


def test_a_new_snapshot_applies_to_the_next_evaluation() -> None:
    source = ListSource(ListSnapshot.build({"devices": (ListKind.DEVICE, [])}))
    engine = RulesEngine(ruleset(rule("d", 'in_list("devices", device_id)')), source)

    before = engine.evaluate({"device_id": "dev-9"})
    source.replace(ListSnapshot.build({"devices": (ListKind.DEVICE, ["dev-9"])}))
    after = engine.evaluate({"device_id": "dev-9"})

    assert (before.hits, [hit.rule_id for hit in after.hits]) == ([], ["d"])


@pytest.mark.parametrize("compiled", [True, False])
def test_shadow_rules_are_reported_apart(compiled: bool) -> None:
    rules = ruleset(
        rule("active", "a > 1", action=RuleAction.REVIEW),
        rule("shadow", "a > 1", action=RuleAction.DECLINE, mode=RuleMode.SHADOW),
        rule("broken_shadow", "a / 0 > 1", mode=RuleMode.SHADOW),
    )
    engine = RulesEngine(rules, compiled=compiled)

    evaluation = engine.evaluate({"a": 2})

    assert [hit.rule_id for hit in evaluation.hits] == ["active"]
    assert evaluation.errors == []
    assert [hit.rule_id for hit in evaluation.shadow_hits] == ["shadow"]
    assert [(e.rule_id, e.error_type) for e in evaluation.shadow_errors] == [
        ("broken_shadow", RuleErrorType.DIVISION_BY_ZERO)
    ]
