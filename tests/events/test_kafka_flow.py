"""The whole event path on a real Kafka-protocol broker, including a broker outage."""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from riskops.app import create_app
from riskops.auth.roles import Role
from tests.conftest import Api, create_keys
from tests.events.conftest import event_settings
from tests.kafka import Broker, require_tansu
from tests.payments import new_key, payment

pytestmark = pytest.mark.kafka


@pytest.fixture
def broker() -> AsyncIterator[Broker]:
    """A broker of this test's own: it gets killed and restarted."""
    own = Broker(require_tansu())
    own.start()
    yield own  # type: ignore[misc]
    own.stop()


@pytest.fixture
async def kafka_api(broker: Broker, tmp_path: Path) -> AsyncIterator[Api]:
    settings = event_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'riskops.db'}",
        bus="kafka",
        kafka_bootstrap=broker.bootstrap,
        kafka_partitions=3,
        kafka_session_timeout=timedelta(seconds=6),
        kafka_publish_timeout=timedelta(seconds=3),
        run_workers=True,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        keys = await create_keys(runtime.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as client:
            yield Api(client, runtime, keys)


async def submit_many(api: Api, count: int, offset: int) -> None:
    analyst = api.as_role(Role.ANALYST)
    for i in range(offset, offset + count):
        response = await api.client.post(
            "/v1/transactions",
            json=payment(account_id=f"acct-{i % 5}", amount_minor=100 + i),
            headers={**analyst, "Idempotency-Key": new_key()},
        )
        assert response.status_code == 201


async def stats_total_reaches(api: Api, total: int, within: float = 90.0) -> dict[str, object]:
    deadline = time.monotonic() + within
    viewer = api.as_role(Role.VIEWER)
    while True:
        stats = (await api.client.get("/v1/stats", headers=viewer)).json()
        if stats["total"] == total or time.monotonic() > deadline:
            return dict(stats)
        await asyncio.sleep(0.2)


async def test_events_flow_through_the_broker_and_survive_its_outage(
    kafka_api: Api, broker: Broker
) -> None:
    await submit_many(kafka_api, 20, 0)
    assert (await stats_total_reaches(kafka_api, 20))["total"] == 20

    broker.stop()  # the broker goes away; payments must still be decided
    await submit_many(kafka_api, 15, 20)
    admin = kafka_api.as_role(Role.ADMIN)
    await asyncio.sleep(1.0)
    status = (await kafka_api.client.get("/v1/admin/events", headers=admin)).json()
    assert status["outbox_backlog"] == 30  # both events of the 15 payments wait
    assert status["bus_error"]

    broker.start()  # back (empty: in-memory storage); the outbox drains into it
    stats = await stats_total_reaches(kafka_api, 35)
    assert stats["total"] == 35, stats  # nothing lost, nothing counted twice
    status = (await kafka_api.client.get("/v1/admin/events", headers=admin)).json()
    assert status["outbox_backlog"] == 0 and status["bus_error"] is None
