"""Prometheus series of the models package (exported by the app's /metrics)."""

from typing import Final

from prometheus_client import Counter, Gauge

MODEL_SCORES: Final = Counter(
    "riskops_model_scores_total",
    "Decisions scored, by the model version that decided (the canary traffic split)",
    ["model", "version", "alias"],
)
MODEL_ERRORS: Final = Counter(
    "riskops_model_errors_total",
    "Challenger scoring failures (the champion decided instead)",
    ["model", "version"],
)
MODEL_PSI: Final = Gauge(
    "riskops_model_psi",
    "Latest population stability index per variable (score: __score__) against training",
    ["model", "version", "variable"],
)
