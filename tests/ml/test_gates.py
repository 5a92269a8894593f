"""Promotion gates: each one passes and fails on its own, and says why."""

import pytest

from riskops.ml.gates import GateInputs, evaluate_gates


def inputs(**overrides: object) -> GateInputs:
    values: dict[str, object] = {
        "challenger_auc": 0.91,
        "champion_auc": 0.90,
        "max_psi": 0.05,
        "psi_feature": "card_count_1h",
        "canary_scored": 1000,
        "canary_errors": 0,
    }
    values.update(overrides)
    return GateInputs(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "passed", "failed_gate", "words"),
    [
        ({}, True, None, ""),
        ({"challenger_auc": 0.90}, True, None, ""),  # equal AUC is enough (>=)
        ({"challenger_auc": 0.8999}, False, "auc", "challenger AUC 0.8999 < champion 0.9000"),
        ({"champion_auc": None}, True, None, ""),
        ({"max_psi": 0.2999}, True, None, ""),
        ({"max_psi": 0.3}, False, "psi", "0.300 (card_count_1h) >= 0.3"),
        ({"max_psi": None}, True, None, ""),
        ({"canary_scored": 990, "canary_errors": 10}, True, None, ""),  # exactly 1%
        ({"canary_scored": 989, "canary_errors": 11}, False, "canary", "1.10% over 1000"),
        ({"canary_scored": 0}, False, "canary", "no canary traffic"),
    ],
)
def test_gate_table(
    overrides: dict[str, object], passed: bool, failed_gate: str | None, words: str
) -> None:
    result = evaluate_gates(inputs(**overrides))
    assert result.passed is passed
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == ([failed_gate] if failed_gate else [])
    if failed:
        assert words in failed[0].message
        assert "FAILED" in result.explain()


def test_a_first_champion_needs_no_canary() -> None:
    result = evaluate_gates(inputs(champion_auc=None, canary_scored=0), require_canary=False)
    assert result.passed
    assert [c.name for c in result.checks] == ["auc", "psi", "canary"]


def test_every_failure_is_reported_at_once() -> None:
    result = evaluate_gates(inputs(challenger_auc=0.5, max_psi=0.9, canary_errors=500))
    assert [c.name for c in result.checks if not c.passed] == ["auc", "psi", "canary"]
