"""One scan: run every detector over recent activity and fill the queue.

One open entry per (entity, pattern): a candidate that is open already refreshes it (newer
evidence, priority, one more scan). Analysts' rejections are remembered: each earlier rejection
of the same pattern on the same entity halves the priority. An entry acted on is not raised
again until newer evidence than the action's time appears.

Each detector reads in a connection of its own (one failing leaves the others' reads whole);
the writes are one transaction.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.ids import new_id
from riskops.db import transaction
from riskops.db.types import utcnow
from riskops.recommendations import detectors, repository
from riskops.recommendations.candidates import LIST_OF, Candidate, ScanPolicy
from riskops.recommendations.metrics import SCAN_DURATION, SCAN_FAILURES, SCAN_WRITTEN
from riskops.recommendations.schemas import RecommendationStatus

log = logging.getLogger(__name__)
REJECTION_FACTOR = 0.5  # priority kept per earlier rejection of the same entity and pattern


@dataclass(slots=True)
class ScanResult:
    created: list[str] = field(default_factory=list)  # ids of new entries
    refreshed: int = 0  # open entries found again
    skipped: int = 0  # acted on, and nothing newer since
    failures: dict[str, str] = field(default_factory=dict)  # detector -> error


def priority(candidate: Candidate, rejections: int) -> float:
    return round(100 * candidate.strength * REJECTION_FACTOR**rejections, 3)


async def scan(engine: AsyncEngine, policy: ScanPolicy, now: datetime | None = None) -> ScanResult:
    """Detect and write. `now` is the scan's clock (a replay passes its simulated time)."""
    now = now or utcnow()
    started = time.perf_counter()
    result = ScanResult()
    found: dict[str, Candidate] = {}
    for detector in detectors.DETECTORS:
        try:
            async with engine.connect() as connection:  # reads only: rolled back on close
                candidates = await detector(connection, policy, now)
        except Exception as error:  # recorded and counted; the other detectors still run
            SCAN_FAILURES.labels(detector.__name__).inc()
            result.failures[detector.__name__] = f"{type(error).__name__}: {error}"
            log.warning("recommendation detector %s failed: %s", detector.__name__, error)
            continue
        for candidate in candidates:
            kept = found.get(candidate.open_key)
            if kept is None or candidate.strength > kept.strength:
                found[candidate.open_key] = candidate
    async with transaction(engine) as connection:
        await write(connection, list(found.values()), now, result)
    SCAN_DURATION.observe(time.perf_counter() - started)
    SCAN_WRITTEN.inc(len(result.created))
    return result


async def write(
    connection: AsyncConnection, candidates: list[Candidate], now: datetime, result: ScanResult
) -> None:
    keys = [(c.kind.value, c.entity_id, c.pattern) for c in candidates]
    past = await repository.history(connection, keys)
    wall = utcnow()
    for candidate, key in zip(candidates, keys, strict=True):
        rejections, acted_at = past.get(key, (0, None))
        if acted_at is not None and candidate.latest_at <= acted_at and acted_at <= now:
            result.skipped += 1
            continue
        list_name, suggestion = LIST_OF[candidate.kind]
        evidence = {"transaction_ids": candidate.transaction_ids, "facts": candidate.facts}
        fresh = {
            "priority": priority(candidate, rejections),
            "strength": round(candidate.strength, 4),
            "rejections_before": rejections,
            "summary": candidate.summary[:1000],
            "evidence": evidence,
            "transaction_id": candidate.transaction_ids[0],
            "latest_at": candidate.latest_at,
            "updated_at": wall,
        }
        row: dict[str, Any] = {
            "id": new_id(),
            "open_key": candidate.open_key,
            "entity_kind": candidate.kind.value,
            "entity_id": candidate.entity_id,
            "pattern": candidate.pattern,
            "status": RecommendationStatus.OPEN.value,
            "suggestion": suggestion.value,
            "list_name": list_name,
            "scans": 1,
            "created_at": wall,
            **fresh,
        }
        if await repository.insert_open(connection, row):
            result.created.append(row["id"])
        else:
            await repository.refresh_open(connection, candidate.open_key, fresh)
            result.refreshed += 1
