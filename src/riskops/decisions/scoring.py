"""The model slot of the pipeline. Until a model is registered, the score comes from the rules."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

RULES_ONLY_NOTE = "no model is registered yet: the score is derived from rule severities alone"


class ScoreSource(StrEnum):
    MODEL = "model"
    RULES = "rules"  # no model serving: the noisy-or of the hit rules' severities


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float  # the feature's value in this decision
    contribution: float  # its push on the score (model units)


@dataclass(frozen=True, slots=True)
class ModelScore:
    score: float
    model_name: str
    model_version: str
    contributions: list[Contribution] = field(default_factory=list)


class Scorer(Protocol):
    """A served model: one feature vector in, a probability-like score out.

    `card` routes the canary (sticky per card); `subject` (the transaction id) ties shadow
    scores computed later to this decision.
    """

    def score(
        self, features: Mapping[str, float | int], *, card: str, subject: str
    ) -> ModelScore: ...


def rules_only_score(severity_weights: Iterable[float]) -> float:
    """Noisy-or of the hit rules' weights: independent signals, each raising the risk."""
    clean = 1.0
    for weight in severity_weights:
        clean *= 1.0 - weight
    return round(1.0 - clean, 4)
