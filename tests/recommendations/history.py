"""Crafted histories for the scan: payments through the real API at chosen event times,
labels known from a chosen time, and a decision's score set where no model scores."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from riskops.db import transaction
from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.decisions.cards import with_check_digit
from riskops.decisions.models import Decision
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.recommendations.candidates import Candidate, ScanPolicy
from riskops.recommendations.detectors import DETECTORS
from riskops.recommendations.scan import ScanResult, scan
from tests.cases.support import pay
from tests.conftest import Api

decisions = table_of(Decision)
POLICY = ScanPolicy()
# The scan tests run no cases consumer (a near-threshold payment must stay out of cases) and
# no background scan (each test scans when it means to).
SETTINGS = {
    "embeddings_enabled": False,
    "consumers": ["risk", "labels", "analytics"],
    "recommendation_scan_enabled": False,
}


def card(n: int) -> str:
    return with_check_digit(f"4000{n:011d}")


async def paid(api: Api, ago: timedelta, **overrides: Any) -> dict[str, Any]:
    """A payment that happened `ago` before now."""
    return await pay(api, occurred_at=(utcnow() - ago).isoformat(), **overrides)


async def label(api: Api, transaction_id: str, known_ago: timedelta, fraud: bool = True) -> None:
    """A label on the payment that became known `known_ago` before now (negative: later)."""
    async with transaction(api.runtime.engine) as connection:
        await api.runtime.labels.store(
            connection,
            LabelCreate(
                transaction_id=transaction_id,
                label=1 if fraud else 0,
                source=LabelSource.CHARGEBACK,
                labelled_at=utcnow() - known_ago,
            ),
        )


async def score(api: Api, transaction_id: str, value: float) -> None:
    """Set a decision's score: the tests run no model, and near-threshold needs a score."""
    async with transaction(api.runtime.engine) as connection:
        await connection.execute(
            update(decisions)
            .where(decisions.c.transaction_id == transaction_id)
            .values(score=value)
        )


async def candidates(api: Api, now: datetime | None = None) -> list[Candidate]:
    """What every detector finds now, without writing."""
    found: list[Candidate] = []
    async with api.runtime.engine.connect() as connection:
        for detector in DETECTORS:
            found += await detector(connection, POLICY, now or utcnow())
    return found


def of(found: list[Candidate], pattern: str) -> list[Candidate]:
    return [c for c in found if c.pattern == pattern]


async def scanned(api: Api, now: datetime | None = None) -> ScanResult:
    result = await scan(api.runtime.engine, POLICY, now)
    assert result.failures == {}, result.failures
    return result
