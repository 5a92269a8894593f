"""Promotion gates (seed 002): a challenger becomes champion only when every gate passes.

1. quality: the challenger's ROC AUC on the holdout is >= the champion's on the SAME rows;
2. stability: the largest PSI (features and score) over the last window is < 0.3;
3. canary: the challenger's error rate on its live share of traffic is <= 1%.
Each check explains itself, so a refused promotion says what to fix.
"""

from dataclasses import dataclass
from typing import Final

MAX_PSI: Final = 0.3
MAX_CANARY_ERROR_RATE: Final = 0.01


@dataclass(frozen=True, slots=True)
class GateCheck:
    name: str
    passed: bool
    observed: float | None
    threshold: float | None
    message: str


@dataclass(frozen=True, slots=True)
class GateInputs:
    challenger_auc: float
    champion_auc: float | None  # None: there is no champion yet
    max_psi: float | None  # None: no recent window to compare with
    psi_feature: str | None  # which variable has the largest PSI
    canary_scored: int
    canary_errors: int


@dataclass(frozen=True, slots=True)
class GateResult:
    passed: bool
    checks: tuple[GateCheck, ...]

    def explain(self) -> str:
        return "; ".join(
            f"{c.name}: {'ok' if c.passed else 'FAILED'} ({c.message})" for c in self.checks
        )


def evaluate_gates(inputs: GateInputs, *, require_canary: bool = True) -> GateResult:
    checks = [_quality(inputs), _stability(inputs), _canary(inputs, require_canary)]
    return GateResult(all(c.passed for c in checks), tuple(checks))


def _quality(i: GateInputs) -> GateCheck:
    if i.champion_auc is None:
        return GateCheck("auc", True, i.challenger_auc, None, "no champion yet: nothing to beat")
    ok = i.challenger_auc >= i.champion_auc
    relation = ">=" if ok else "<"
    return GateCheck(
        "auc",
        ok,
        i.challenger_auc,
        i.champion_auc,
        f"challenger AUC {i.challenger_auc:.4f} {relation} champion {i.champion_auc:.4f} "
        "on the same holdout",
    )


def _stability(i: GateInputs) -> GateCheck:
    if i.max_psi is None:
        return GateCheck(
            "psi", True, None, MAX_PSI, "no recent traffic to compare: nothing drifted"
        )
    ok = i.max_psi < MAX_PSI
    where = f" ({i.psi_feature})" if i.psi_feature else ""
    return GateCheck(
        "psi",
        ok,
        i.max_psi,
        MAX_PSI,
        f"largest PSI on the last window {i.max_psi:.3f}{where} {'<' if ok else '>='} {MAX_PSI}",
    )


def _canary(i: GateInputs, required: bool) -> GateCheck:
    if i.canary_scored == 0:
        if required:
            return GateCheck(
                "canary",
                False,
                None,
                MAX_CANARY_ERROR_RATE,
                "the challenger has served no canary traffic yet: make it challenger first",
            )
        return GateCheck("canary", True, None, MAX_CANARY_ERROR_RATE, "canary not required")
    rate = i.canary_errors / (i.canary_scored + i.canary_errors)
    ok = rate <= MAX_CANARY_ERROR_RATE
    return GateCheck(
        "canary",
        ok,
        rate,
        MAX_CANARY_ERROR_RATE,
        f"canary error rate {rate:.2%} over {i.canary_scored + i.canary_errors} requests "
        f"{'<=' if ok else '>'} {MAX_CANARY_ERROR_RATE:.0%}",
    )
