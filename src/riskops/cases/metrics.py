"""Prometheus series of the case queue (the "cases" Grafana dashboard and its alerts).

Two kinds, on purpose:
- Flows are counters bumped where they happen (cases opened by the cases consumer or by an
  analyst, closed by a disposition, labels stored by any process). Each process counts its
  own; Prometheus sums the API replicas and the worker. A transaction that rolls back after
  the bump over-counts by one, which a rate on a dashboard does not show.
- The queue's state (how many cases wait, how old they are, how many are past their SLA)
  is one truth in the database, counted by the worker every `case_metrics_interval`
  (cases/queue_metrics.py) rather than tracked per request; every process declares the
  gauges, only the counting one sets them, so dashboards read them with max().
"""

from typing import Final

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases.schemas import CaseStatus, DispositionKind
from riskops.core.outcome import Outcome
from riskops.labels.schemas import LabelSource
from riskops.labels.service import StoredLabel

# Priority is the expected loss in major units (score x amount): bands an analyst lead reads
# at a glance, highest first.
PRIORITY_BANDS: Final = ((1_000.0, "high"), (100.0, "medium"), (0.0, "low"))
# Age since opening: each band holds cases younger than its bound and older than the
# previous one; the last holds the rest.
AGE_BANDS: Final = (("1h", 3_600), ("4h", 4 * 3_600), ("24h", 24 * 3_600), ("72h", 72 * 3_600))
OLDER: Final = "older"
WAITING: Final = (CaseStatus.OPEN, CaseStatus.ASSIGNED)  # not closed: the queue
SOURCES: Final = (Outcome.REVIEW.value, "manual")  # a review decision, or an analyst

CASES_QUEUE: Final = Gauge(
    "riskops_cases_queue",
    "Cases not closed, by status (open, assigned) and priority band (expected loss)",
    ["status", "priority"],
)
CASES_BY_AGE: Final = Gauge(
    "riskops_cases_queue_by_age",
    "Cases not closed, by age since opening (younger than 1h, 4h, 24h, 72h, older)",
    ["age"],
)
CASES_OLDEST_AGE: Final = Gauge(
    "riskops_cases_oldest_open_age_seconds",
    "Age of the oldest case not closed; 0 when none waits",
)
CASES_SLA: Final = Gauge(
    "riskops_cases_sla_seconds", "The configured case SLA (RISKOPS_CASE_SLA), for the dashboard"
)
CASES_OVERDUE: Final = Gauge(
    "riskops_cases_overdue", "Cases not closed whose SLA due time has passed"
)
CASES_OPENED: Final = Counter("riskops_cases_opened_total", "Cases opened, by source", ["source"])
CASES_JOINED: Final = Counter(
    "riskops_cases_joined_total", "Review payments that joined their card's open case"
)
CASES_CLOSED: Final = Counter(
    "riskops_cases_closed_total", "Cases closed, by disposition", ["disposition"]
)
CASES_REOPENED: Final = Counter("riskops_cases_reopened_total", "Closed cases reopened")
LABELS_STORED: Final = Counter(
    "riskops_labels_stored_total", "Labels stored for the first time, by source", ["source"]
)

# Every label value exists from the start at 0, so rate() and the alerts see a series at once.
for _status in WAITING:
    for _, _band in PRIORITY_BANDS:
        CASES_QUEUE.labels(_status.value, _band)
for _age, _ in AGE_BANDS:
    CASES_BY_AGE.labels(_age)
CASES_BY_AGE.labels(OLDER)
for _source in SOURCES:
    CASES_OPENED.labels(_source)
for _kind in DispositionKind:
    CASES_CLOSED.labels(_kind.value)
for _label_source in LabelSource:
    LABELS_STORED.labels(_label_source.value)


async def count_label(_connection: AsyncConnection, label: StoredLabel) -> None:
    """A LabelService hook: runs once per label stored for the first time."""
    LABELS_STORED.labels(label.source).inc()
