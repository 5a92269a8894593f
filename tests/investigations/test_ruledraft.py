"""The rule a pattern proposes is one the rules engine accepts, written against the entity the
pattern is about; a pattern no rule expresses well proposes none."""

import pytest

from riskops.investigations import ruledraft
from riskops.investigations.tools.patterns import Pattern
from riskops.rulesets.validation import problems


def pattern(name: str, kind: str, entity_id: str, **facts: object) -> Pattern:
    return Pattern(name, 0.9, {"kind": kind, "id": entity_id}, "because", ["E1"], dict(facts))


@pytest.mark.parametrize(
    ("found", "expression"),
    [
        (pattern("velocity", "card", "tok", count_24h=7), "card_count_24h >= 7"),
        (pattern("velocity", "device", "dev-9", count_24h=2), "device_count_24h >= 3"),
        (pattern("linked_entities", "card", 'tok-"x'), 'card_token == "tok-\\"x"'),
        (pattern("linked_entities", "ip", "203.0.113.7"), 'ip == "203.0.113.7"'),
        (pattern("linked_entities", "device", "dev-farm"), 'device_id == "dev-farm"'),
    ],
)
def test_a_proposed_rule_is_valid_and_about_the_patterns_entity(
    found: Pattern, expression: str
) -> None:
    rule = ruledraft.propose("01ARZ3NDEKTSV4RRFFQ69G5FAV", [found])
    assert rule is not None and rule["expression"] == expression
    assert problems([ruledraft.engine_rule(rule)]) == []


def test_impossible_travel_proposes_no_rule_and_the_next_pattern_is_used() -> None:
    travel = pattern("impossible_travel", "card", "tok")
    assert ruledraft.propose("01ARZ3NDEKTSV4RRFFQ69G5FAV", [travel]) is None
    velocity = pattern("velocity", "card", "tok", count_24h=5)
    rule = ruledraft.propose("01ARZ3NDEKTSV4RRFFQ69G5FAV", [travel, velocity])
    assert rule is not None and rule["id"].startswith("inv_velocity_")
