"""The worker counts the case queue every few seconds and sets the queue gauges.

Nothing on the request path counts. Each engine counts the way it does fastest (measured with
100,000 waiting cases, README "Deploying"): PostgreSQL in one scan of the waiting cases with
conditional sums; SQLite, where that scan is ten times slower, by index range counts (the
(status, priority | opened_at | sla_due_at) indexes the queue pages use) in one statement.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import case as when
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.cases.metrics import (
    AGE_BANDS,
    CASES_BY_AGE,
    CASES_OLDEST_AGE,
    CASES_OVERDUE,
    CASES_QUEUE,
    CASES_SLA,
    OLDER,
    PRIORITY_BANDS,
    WAITING,
)
from riskops.cases.repository import cases
from riskops.core.background import Background
from riskops.db.types import utcnow

log = logging.getLogger(__name__)
STOP_DEADLINE_SECONDS = 2.0
AGE_NAMES = [name for name, _ in AGE_BANDS] + [OLDER]


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    by_status_and_priority: dict[tuple[str, str], int] = field(default_factory=dict)
    by_age: dict[str, int] = field(default_factory=dict)
    oldest_age_seconds: float = 0.0
    overdue: int = 0


def _bands(counts: list[int], total: int) -> list[int]:
    """Cumulative counts (at least / at most each bound) to counts per band, the rest last."""
    edges = [*counts, total]
    return [edges[0]] + [edges[i] - edges[i - 1] for i in range(1, len(edges))]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _count(*where: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(cases).where(*where).scalar_subquery()


async def snapshot(connection: AsyncConnection, now: datetime) -> QueueSnapshot:
    """The queue as the gauges show it, the way each engine counts it fastest."""
    if connection.dialect.name == "postgresql":
        return await _one_pass(connection, now)
    return await _range_counts(connection, now)


async def _one_pass(connection: AsyncConnection, now: datetime) -> QueueSnapshot:
    """PostgreSQL: one scan of the waiting cases, counting every band with conditional sums
    (no GROUP BY over a CASE expression: PostgreSQL cannot match one whose bounds are
    parameters), then the oldest opening per status through the (status, opened_at) index."""
    c = cases.c
    # Highest band first: cases at or above each floor but the lowest (which holds the rest).
    floors = [floor for floor, _ in PRIORITY_BANDS[:-1]]
    ages = [now - timedelta(seconds=seconds) for _, seconds in AGE_BANDS]
    query = (
        select(
            c.status,
            func.count(),
            *(_count_if(c.priority >= floor) for floor in floors),
            *(_count_if(c.opened_at > since) for since in ages),
            _count_if(c.sla_due_at < now),
        )
        .where(c.status.in_([status.value for status in WAITING]))
        .group_by(c.status)
    )
    # Every band present, zeros included: a status with no case returns no row.
    by_priority = {(s.value, band): 0 for s in WAITING for _, band in PRIORITY_BANDS}
    by_age = dict.fromkeys(AGE_NAMES, 0)
    overdue = 0
    for row in await connection.execute(query):
        status, total = str(row[0]), int(row[1])
        values = [int(v) for v in row[2:]]
        priority, age = values[: len(floors)], values[len(floors) : len(floors) + len(ages)]
        for (_, band), count in zip(PRIORITY_BANDS, _bands(priority, total), strict=True):
            by_priority[(status, band)] = count
        for name, count in zip(AGE_NAMES, _bands(age, total), strict=True):
            by_age[name] = by_age.get(name, 0) + count
        overdue += values[-1]
    oldest = None
    for status in WAITING:
        first = (
            await connection.execute(
                select(c.opened_at).where(c.status == status.value).order_by(c.opened_at).limit(1)
            )
        ).scalar_one_or_none()
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return QueueSnapshot(
        by_status_and_priority=by_priority,
        by_age=by_age,
        oldest_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        overdue=overdue,
    )


async def _range_counts(connection: AsyncConnection, now: datetime) -> QueueSnapshot:
    """SQLite: one statement of index range counts (each walks one range of one index, never
    the table), where evaluating the conditions row by row would be ten times slower."""
    c = cases.c
    floors = [floor for floor, _ in PRIORITY_BANDS[:-1]]  # highest first; the last holds the rest
    ages = [now - timedelta(seconds=seconds) for _, seconds in AGE_BANDS]
    columns: list[Any] = []
    for status in WAITING:
        mine = c.status == status.value
        columns += [
            _count(mine),
            *(_count(mine, c.priority >= floor) for floor in floors),
            *(_count(mine, c.opened_at > since) for since in ages),
            _count(mine, c.sla_due_at < now),
            select(c.opened_at).where(mine).order_by(c.opened_at).limit(1).scalar_subquery(),
        ]
    row = list((await connection.execute(select(*columns))).one())
    by_priority: dict[tuple[str, str], int] = {}
    by_age: dict[str, int] = {}
    overdue, oldest = 0, None
    width = len(columns) // len(WAITING)
    for index, status in enumerate(WAITING):
        values = row[index * width : (index + 1) * width]
        total = int(values[0])
        priority = [int(v) for v in values[1 : 1 + len(floors)]]
        age = [int(v) for v in values[1 + len(floors) : 1 + len(floors) + len(ages)]]
        for (_, band), count in zip(PRIORITY_BANDS, _bands(priority, total), strict=True):
            by_priority[(status.value, band)] = count
        for name, count in zip(AGE_NAMES, _bands(age, total), strict=True):
            by_age[name] = by_age.get(name, 0) + count
        overdue += int(values[-2])
        first = values[-1]
        if first is not None and (oldest is None or first < oldest):
            oldest = first
    return QueueSnapshot(
        by_status_and_priority=by_priority,
        by_age=by_age,
        oldest_age_seconds=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        overdue=overdue,
    )


def publish(snap: QueueSnapshot) -> None:
    """Set every queue gauge, zeros included (an emptied band must drop to 0, not linger)."""
    for status in WAITING:
        for _, band in PRIORITY_BANDS:
            count = snap.by_status_and_priority.get((status.value, band), 0)
            CASES_QUEUE.labels(status.value, band).set(count)
    for age in AGE_NAMES:
        CASES_BY_AGE.labels(age).set(snap.by_age.get(age, 0))
    CASES_OLDEST_AGE.set(snap.oldest_age_seconds)
    CASES_OVERDUE.set(snap.overdue)


class CaseQueueMetrics:
    """Counts the queue every `interval` seconds until stopped."""

    def __init__(self, engine: AsyncEngine, interval: float, sla: timedelta) -> None:
        self.engine = engine
        self.interval = interval
        self.sla = sla
        self._background: Background | None = None

    async def refresh(self) -> QueueSnapshot:
        async with self.engine.connect() as connection:
            snap = await snapshot(connection, utcnow())
        publish(snap)
        CASES_SLA.set(self.sla.total_seconds())
        return snap

    def start(self) -> None:
        self._background = Background("case-metrics")
        self._background.spawn(self._run(self._background), "queue")

    async def stop(self, deadline: float = STOP_DEADLINE_SECONDS) -> list[str]:
        background, self._background = self._background, None
        return await background.stop(deadline) if background is not None else []

    async def _run(self, background: Background) -> None:
        while not background.stopping.is_set():
            try:
                await self.refresh()
            except Exception as error:  # metrics must never take the worker down
                log.warning("counting the case queue failed: %s", error)
            if await background.sleep(self.interval):
                return
