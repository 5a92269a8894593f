"""Prometheus metrics and an event-loop stall monitor."""

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from riskops.api.deps import Reader
from riskops.core.outcome import Outcome

DECISIONS = Counter("riskops_decisions_total", "Decisions made, by outcome", ["status"])
# Every outcome exists from the start at 0, so rate() and the alert rules see a series at once.
for _outcome in Outcome:
    DECISIONS.labels(_outcome.value)
DECISION_LATENCY = Histogram(
    "riskops_decision_latency_seconds",
    "Validation to decision, before the durable write",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
)
# The score the policy compared with the thresholds; source: model, or rules while none serves.
DECISION_SCORE = Histogram(
    "riskops_decision_score",
    "Risk score of each new decision, by what produced it",
    ["source"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0),
)
LOOP_LAG_MAX = Gauge("riskops_event_loop_lag_max_seconds", "Longest event-loop stall seen")
LOOP_LAG = Histogram(
    "riskops_event_loop_lag_seconds",
    "How late the loop monitor's ticks ran",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def metrics(_: Reader) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def watch_event_loop(interval: float = 0.01) -> None:
    """Tick every `interval`; any lateness is time the loop could not serve requests."""
    worst = 0.0
    while True:
        before = time.perf_counter()
        await asyncio.sleep(interval)
        lag = time.perf_counter() - before - interval
        LOOP_LAG.observe(max(lag, 0.0))
        if lag > worst:
            worst = lag
            LOOP_LAG_MAX.set(worst)
