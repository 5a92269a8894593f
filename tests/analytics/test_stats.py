"""Stats from the hourly aggregates: the same answers as a scan, without the scan."""

import math

import pytest
from sqlalchemy import select

from riskops.analytics import service as analytics
from riskops.analytics.service import LATENCY_BOUNDS_MS, latency_bucket, quantile
from riskops.auth.roles import Role
from riskops.db.base import table_of
from riskops.decisions import repository as decisions
from riskops.decisions.models import Decision
from tests.conftest import Api
from tests.payments import new_key, payment


@pytest.mark.parametrize(
    ("latency", "bucket"), [(0.0, 0), (0.25, 0), (0.26, 1), (1.0, 3), (4.9, 8), (10**6, 23)]
)
def test_latency_buckets(latency: float, bucket: int) -> None:
    assert latency_bucket(latency) == bucket
    assert LATENCY_BOUNDS_MS[bucket] >= latency


def test_quantiles_interpolate_inside_their_bucket() -> None:
    assert quantile({}, 0.95) is None
    # 100 decisions in (1, 1.5] ms: p95 sits 95% of the way through that bucket.
    assert quantile({latency_bucket(1.2): 100}, 0.95) == pytest.approx(1.475)
    # 90 fast and 10 slow: p95 falls among the slow ones, p50 among the fast.
    histogram = {latency_bucket(0.6): 90, latency_bucket(40.0): 10}
    assert 30.0 < (quantile(histogram, 0.95) or 0) <= 50.0
    assert 0.5 < (quantile(histogram, 0.5) or 0) <= 0.75
    assert quantile({latency_bucket(10**6): 3}, 0.95) == LATENCY_BOUNDS_MS[-2]


async def test_stats_from_aggregates_match_a_full_scan(api: Api) -> None:
    analyst = api.as_role(Role.ANALYST)
    bodies = [
        payment(
            account_id=f"acct-{i % 6}",
            amount_minor=500 + 37 * i,
            channel=channel,
            merchant_country=country,
        )
        for i, (channel, country) in enumerate(
            [("pos", "DE"), ("ecom", "FR"), ("pos", "KP"), ("ecom", "US")] * 10
        )
    ]
    for body in bodies:
        response = await api.client.post(
            "/v1/transactions", json=body, headers={**analyst, "Idempotency-Key": new_key()}
        )
        assert response.status_code == 201
    await api.runtime.events.drain()
    async with api.runtime.engine.connect() as connection:
        aggregated = await analytics.stats(connection)
        scanned = await decisions.stats(connection)
    for field in ("total", "approved", "review", "declined", "approval_rate", "avg_amount"):
        assert aggregated[field] == scanned[field], field
    assert aggregated["total"] == 40 and aggregated["declined"] >= 10  # KP is sanctioned
    # p95 from the histogram lands in the bucket of the exact p95 (the ceil(0.95 n)-th value).
    async with api.runtime.engine.connect() as connection:
        latencies = sorted(
            (await connection.execute(select(table_of(Decision).c.latency_ms))).scalars()
        )
    exact = latencies[math.ceil(0.95 * len(latencies)) - 1]
    bucket = latency_bucket(exact)
    lower = LATENCY_BOUNDS_MS[bucket - 1] if bucket else 0.0
    assert lower <= aggregated["p95_latency_ms"] <= LATENCY_BOUNDS_MS[bucket]


async def test_the_events_status_endpoint(api: Api) -> None:
    response = await api.client.get("/v1/admin/events")
    assert response.status_code == 401
    await api.client.post(
        "/v1/transactions",
        json=payment(),
        headers={**api.as_role(Role.ANALYST), "Idempotency-Key": new_key()},
    )
    await api.runtime.events.drain()
    for role in (Role.VIEWER, Role.ANALYST, Role.APPROVER, Role.SERVICE):  # admins only
        refused = await api.client.get("/v1/admin/events", headers=api.as_role(role))
        assert refused.status_code == 403, role
        assert refused.json()["code"] == "forbidden"
    status = (await api.client.get("/v1/admin/events", headers=api.as_role(Role.ADMIN))).json()
    assert status["bus"] == "embedded" and status["outbox_backlog"] == 0
    assert {c["consumer"]: c["total_lag"] for c in status["consumers"]} == {
        "risk": 0,
        "labels": 0,
        "analytics": 0,
        "cases": 0,
    }
    assert status["dead_letters"] == {
        "transactions.inbound.v1.dlq": 0,
        "labels.v1.dlq": 0,
        "risk.assessments.v1.dlq": 0,
    }
