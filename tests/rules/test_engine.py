"""The engine: hits in order, and every failure recorded as a RuleError, never raised."""

import pytest

from riskops.rules import (
    RuleAction,
    RuleError,
    RuleErrorType,
    RuleHit,
    RulesEngine,
    RulesetError,
    Severity,
)
from tests.rules.support import rule, ruleset


def evaluate(expression: str, variables: dict[str, object]) -> tuple[list[str], list[RuleError]]:
    evaluation = RulesEngine(ruleset(rule("r", expression))).evaluate(variables)
    return [hit.rule_id for hit in evaluation.hits], evaluation.errors


RESULTS = [
    pytest.param("a > 1", {"a": 2}, True, id="int"),
    pytest.param("a > 1", {"a": 1}, False, id="int-miss"),
    pytest.param("m < 500", {"m": 499.5}, True, id="double-vs-int-literal"),
    pytest.param("m >= 5", {"m": 5.0}, True, id="double-vs-int-boundary"),
    pytest.param('c in ["KP", "IR"]', {"c": "IR"}, True, id="in-list"),
    pytest.param('d == ""', {"d": ""}, True, id="empty-string"),
    pytest.param("a * 7 > b * 3", {"a": 6, "b": 13}, True, id="int-arithmetic"),
]


@pytest.mark.parametrize(("expression", "variables", "hit"), RESULTS)
def test_boolean_results(expression: str, variables: dict[str, object], hit: bool) -> None:
    hits, errors = evaluate(expression, variables)

    assert hits == (["r"] if hit else [])
    assert errors == []


class Unconvertible:
    """A value CEL has no type for."""


RUNTIME_ERRORS = [
    pytest.param("a / b > 1", {"a": 1, "b": 0}, RuleErrorType.DIVISION_BY_ZERO, id="div-zero"),
    pytest.param("a % b == 0", {"a": 1, "b": 0}, RuleErrorType.DIVISION_BY_ZERO, id="mod-zero"),
    pytest.param("a + m > 1", {"a": 1, "m": 1.5}, RuleErrorType.TYPE_MISMATCH, id="int+double"),
    pytest.param("s > 1", {"s": "x"}, RuleErrorType.TYPE_MISMATCH, id="string-vs-int"),
    pytest.param("a * 4 > 0", {"a": 2**62}, RuleErrorType.OVERFLOW, id="overflow"),
    pytest.param("b > 1", {"a": 1}, RuleErrorType.MISSING_VARIABLE, id="missing"),
    pytest.param(
        "u > 1", {"u": Unconvertible()}, RuleErrorType.INVALID_VARIABLE, id="unconvertible"
    ),
    pytest.param('s.matches("[")', {"s": "x"}, RuleErrorType.EVALUATION_FAILED, id="bad-regex"),
    pytest.param("size(a) > 1", {"a": 1}, RuleErrorType.EVALUATION_FAILED, id="bad-call"),
]


@pytest.mark.parametrize(("expression", "variables", "error_type"), RUNTIME_ERRORS)
def test_runtime_errors_are_recorded_not_raised(
    expression: str, variables: dict[str, object], error_type: RuleErrorType
) -> None:
    hits, errors = evaluate(expression, variables)

    assert hits == []
    [error] = errors
    assert (error.rule_id, error.error_type) == ("r", error_type)
    assert 0 < len(error.message) <= 240
    assert "\n" not in error.message


def test_missing_and_invalid_variables_are_named() -> None:
    _, [missing] = evaluate("b > 1", {})
    _, [invalid] = evaluate("u > 1", {"u": Unconvertible()})

    assert missing.message == "b: not supplied"
    assert invalid.message.startswith("u: Unconvertible value rejected")


NON_BOOLEAN = [
    pytest.param("a + 1", "int", id="int"),
    pytest.param("m", "float", id="double"),
    pytest.param("s", "str", id="string"),
    pytest.param("null", "NoneType", id="null"),
    pytest.param("[a]", "list", id="list"),
    pytest.param("a > 1 ? 1 : 0", "int", id="ternary"),
]


@pytest.mark.parametrize(("expression", "type_name"), NON_BOOLEAN)
def test_non_boolean_results_are_errors(expression: str, type_name: str) -> None:
    hits, [error] = evaluate(expression, {"a": 2, "m": 1.5, "s": "x"})

    assert hits == []
    assert error.error_type == RuleErrorType.NON_BOOLEAN_RESULT
    assert error.message.startswith(f"expression returned {type_name} ")


def test_a_failing_rule_costs_only_itself() -> None:
    engine = RulesEngine(
        ruleset(
            rule("broken", "a / zero > 1"),
            rule("reads_bad_value", "u == 1"),
            rule("fine", "a > 1"),
        )
    )

    evaluation = engine.evaluate({"a": 2, "zero": 0, "u": Unconvertible()})

    assert [hit.rule_id for hit in evaluation.hits] == ["fine"]
    assert [(e.rule_id, e.error_type) for e in evaluation.errors] == [
        ("broken", RuleErrorType.DIVISION_BY_ZERO),
        ("reads_bad_value", RuleErrorType.INVALID_VARIABLE),
    ]


def test_hits_follow_ruleset_order_not_input_order() -> None:
    engine = RulesEngine(ruleset(rule("z", "b > 0"), rule("a", "a > 0"), rule("m", "b > 1")))

    evaluation = engine.evaluate({"b": 2, "a": 1})

    assert [hit.rule_id for hit in evaluation.hits] == ["z", "a", "m"]


def test_disabled_rules_are_skipped() -> None:
    engine = RulesEngine(
        ruleset(
            rule("off", "a > 0", enabled=False),
            rule("off_and_failing", "a / 0 > 0", enabled=False),
            rule("on", "a > 0"),
        )
    )

    evaluation = engine.evaluate({"a": 1})

    assert [hit.rule_id for hit in evaluation.hits] == ["on"]
    assert evaluation.errors == []


def test_disabled_rules_still_have_to_compile() -> None:
    with pytest.raises(RulesetError) as caught:
        RulesEngine(ruleset(rule("off", "a >", enabled=False)))

    assert (caught.value.details["rule_id"], caught.value.details["field"]) == (
        "off",
        "expression",
    )


def test_hit_describes_the_rule() -> None:
    engine = RulesEngine(
        ruleset(rule("sanction", "true", action=RuleAction.DECLINE, severity=Severity.CRITICAL))
    )

    evaluation = engine.evaluate({})

    assert evaluation.hits == [
        RuleHit("sanction", RuleAction.DECLINE, "SANCTION", Severity.CRITICAL)
    ]
    assert (evaluation.ruleset_version, evaluation.ruleset_checksum) == (
        engine.ruleset.version,
        engine.ruleset.checksum,
    )


def test_logical_operators_absorb_errors_as_cel_defines() -> None:
    # CEL's && and || are commutative over errors: a decisive side wins even if the other
    # side fails, so a missing input does not hide a hit the other condition proves.
    hits, errors = evaluate("absent > 0 || a == 1", {"a": 1})

    assert (hits, errors) == (["r"], [])


def test_only_variables_the_rules_read_are_used() -> None:
    engine = RulesEngine(
        ruleset(
            rule("r1", '["4111"].exists(p, card_bin.startsWith(p))'),
            rule("r2", "a > 0"),
            rule("off", "never_read > 0", enabled=False),
        )
    )

    evaluation = engine.evaluate({"card_bin": "411111", "a": 1, "ignored": Unconvertible()})

    assert engine.variables == {"card_bin", "a"}
    assert [hit.rule_id for hit in evaluation.hits] == ["r1", "r2"]
    assert evaluation.errors == []
