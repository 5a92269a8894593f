"""Draft validation: every problem, with the rule id and what is wrong, from JSON rules."""

from typing import Any

import pytest

from riskops.rules import (
    RuleAction,
    RuleMode,
    RulesetError,
    ruleset_from_dicts,
    ruleset_problems,
)
from tests.rules.support import known_variables

KNOWN = known_variables()
LISTS = {"blocked_cards", "blocked_ips", "trusted_merchants"}


def draft_rule(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "r1",
        "name": "A rule",
        "description": "What it catches.",
        "expression": "card_count_5m >= 5",
        "action": "review",
        "reason_code": "R1",
        "severity": "medium",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def test_a_valid_draft_loads_with_its_modes_and_the_api_spelling_of_approve() -> None:
    ruleset = ruleset_from_dicts(
        "draft-1",
        [
            draft_rule(),
            draft_rule(id="r2", reason_code="R2", action="approve", mode="shadow"),
            draft_rule(id="r3", reason_code="R3", action="approve_override"),
            draft_rule(
                id="r4", reason_code="R4", expression='in_list("blocked_cards", card_token)'
            ),
        ],
        KNOWN,
        LISTS,
    )

    modes = [(rule.id, rule.mode, rule.action) for rule in ruleset.rules]
    assert modes == [
        ("r1", RuleMode.ACTIVE, RuleAction.REVIEW),
        ("r2", RuleMode.SHADOW, RuleAction.APPROVE_OVERRIDE),
        ("r3", RuleMode.ACTIVE, RuleAction.APPROVE_OVERRIDE),
        ("r4", RuleMode.ACTIVE, RuleAction.REVIEW),
    ]
    # Stored spelling is unchanged: decision records and the golden replay keep it.
    assert ruleset.rules[1].as_dict()["action"] == "approve_override"
    assert ruleset.rules[1].as_dict()["mode"] == "shadow"


PROBLEMS = [
    pytest.param("card_count_5m >=", "syntax error", id="syntax"),
    pytest.param("card_cnt_5m >= 5", "unknown variable 'card_cnt_5m'", id="unknown-variable"),
    pytest.param("merchant_country > 5", "'>' compares string with int", id="string-vs-number"),
    pytest.param('amount_minor == "5"', "'==' compares int with string", id="int-vs-string-eq"),
    pytest.param("amount_minor + 1.5 > 2.0", "mixes int and double", id="mixed-arithmetic"),
    pytest.param("amount_minor + 1", "yields int, not a bool", id="non-bool"),
    pytest.param("!amount_minor", "'!' needs a bool, got int", id="not-int"),
    pytest.param("channel && true", "'&&' needs bool operands, got string", id="and-string"),
    pytest.param('in_list("stolen", card_token)', "unknown list 'stolen'", id="unknown-list"),
    pytest.param("in_list(channel, card_token)", "list name as a string literal", id="list-name"),
    pytest.param('in_list("blocked_ips", amount_minor)', "the value is int", id="list-value"),
    pytest.param(
        '[1].exists(x, in_list("nope", channel))', "unknown list 'nope'", id="list-in-macro"
    ),
    pytest.param("lowerAscii(channel)", "unknown function 'lowerAscii'", id="unknown-function"),
]


@pytest.mark.parametrize(("expression", "reason"), PROBLEMS)
def test_each_problem_names_the_rule_and_what_is_wrong(expression: str, reason: str) -> None:
    [problem] = ruleset_problems("d", [draft_rule(expression=expression)], KNOWN, LISTS)

    assert problem["rule_id"] == "r1"
    assert problem["field"] == "expression"
    assert reason in problem["reason"]


def test_every_problem_of_every_rule_at_once() -> None:
    rules = [
        draft_rule(expression="channel > 1", action="block"),
        draft_rule(id="r2", reason_code="R2", mode="dark", expression='in_list("x", ip)'),
        draft_rule(id="r3", reason_code="R3"),
    ]

    problems = ruleset_problems("d", rules, KNOWN, LISTS)
    with pytest.raises(RulesetError) as caught:
        ruleset_from_dicts("d", rules, KNOWN, LISTS)

    assert [(p["rule_id"], p["field"]) for p in problems] == [
        ("r1", "action"),
        ("r1", "expression"),
        ("r2", "mode"),
        ("r2", "expression"),
    ]
    assert caught.value.problems == problems


def test_without_list_names_lists_are_not_checked() -> None:
    # The TOML file loaded at start has no database to ask; the runtime reports unknown
    # lists per decision instead.
    assert ruleset_problems("d", [draft_rule(expression='in_list("x", ip)')], KNOWN) == []
