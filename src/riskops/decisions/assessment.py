"""What the pipeline concludes about one payment, before anything is written.

Rules, model and policy run here, outside any transaction; `records` turns the result into
rows and events. Plain frozen dataclasses, no validation: this is the hot path.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from riskops.core.payment import Payment
from riskops.decisions.policy import Basis, Outcome, Thresholds, decide
from riskops.decisions.scoring import Contribution, Scorer, ScoreSource, rules_only_score
from riskops.rules import RuleError, RuleHit, RulesEngine, transaction_variables

TOP_EXPLANATIONS = 5


@dataclass(frozen=True, slots=True)
class Assessment:
    features: Mapping[str, float | int]  # the exact vector rules and model saw
    hits: Sequence[RuleHit]  # in ruleset order
    errors: Sequence[RuleError]  # rules that could not be evaluated: recorded, never a 500
    ruleset_version: str
    score: float
    score_source: ScoreSource
    model_name: str | None
    model_version: str | None
    explanations: Sequence[Contribution]  # the model's strongest pushes, strongest first
    outcome: Outcome
    basis: Basis  # what decided the outcome
    latency_ms: float  # request start to decision, before the durable write
    # Shadow rules' hits: recorded with the decision, never part of outcome, score or reasons.
    shadow_hits: Sequence[RuleHit] = ()

    @property
    def reason_codes(self) -> list[str]:
        return list(dict.fromkeys(hit.reason_code for hit in self.hits))


def _push(contribution: Contribution) -> float:
    return -abs(contribution.contribution)


def assess(
    payment: Payment,
    features: Mapping[str, float | int],
    *,
    rules: RulesEngine,
    scorer: Scorer | None,
    thresholds: Thresholds,
    started: float,
) -> Assessment:
    """Rules, then the model (or the rules-only score while none serves), then the policy."""
    evaluation = rules.evaluate({**features, **transaction_variables(payment)})
    hits = evaluation.hits
    if scorer is None:
        score = rules_only_score(hit.severity.weight for hit in hits)
        source, model_name, model_version = ScoreSource.RULES, None, None
        explanations: Sequence[Contribution] = ()
    else:
        scored = scorer.score(features, card=payment.card_token, subject=payment.transaction_id)
        score, model_name, model_version = scored.score, scored.model_name, scored.model_version
        source = ScoreSource.MODEL
        explanations = sorted(scored.contributions, key=_push)[:TOP_EXPLANATIONS]
    outcome, basis = decide([hit.action for hit in hits], score, thresholds)
    return Assessment(
        features=features,
        hits=hits,
        errors=evaluation.errors,
        ruleset_version=evaluation.ruleset_version,
        score=score,
        score_source=source,
        model_name=model_name,
        model_version=model_version,
        explanations=explanations,
        outcome=outcome,
        basis=basis,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        shadow_hits=evaluation.shadow_hits,
    )
