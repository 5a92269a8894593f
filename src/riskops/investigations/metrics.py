"""Investigation metrics (default registry: /metrics exposes them with the rest)."""

from prometheus_client import Counter, Histogram

from riskops.investigations.schemas import Mode

RUN_DURATION = Histogram(
    "riskops_investigation_duration_seconds",
    "run_investigation, request to stored result, by mode",
    ["mode"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 4.0),
)
FETCH_DURATION = Histogram(
    "riskops_investigation_fetch_seconds",
    "Reading one stored investigation",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
STEP_FAILURES = Counter(
    "riskops_investigation_step_failures_total",
    "Investigation steps that failed, by step",
    ["step"],
)
RECOMMENDATION_FAILURES = Counter(
    "riskops_investigation_recommendation_failures_total",
    "Investigations stored without a recommendation (a step before it or the step itself "
    "failed); over riskops_investigation_duration_seconds_count it is the failure rate",
    ["mode"],
)
NARRATOR_FALLBACKS = Counter(
    "riskops_investigation_narrator_fallbacks_total",
    "Narratives the configured narrator wrote that were refused (or never came), so the "
    "template's was used, by reason (the error code in the step trace)",
    ["reason"],
)
for _mode in Mode:  # series exist at 0 from the start, so rate() sees them at once
    RUN_DURATION.labels(_mode.value)
    RECOMMENDATION_FAILURES.labels(_mode.value)
for _step in ("context", "patterns", "similarity", "recommendation", "narrative", "rule_draft"):
    STEP_FAILURES.labels(_step)
