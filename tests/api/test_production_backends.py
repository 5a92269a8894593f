"""The production shape: several API processes on PostgreSQL sharing Redis velocity features."""

import asyncio
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.core.ids import new_id
from tests.conftest import create_keys, fresh_postgres_database, make_settings
from tests.engines import REDIS_URL, require_engine
from tests.payments import new_key, payment

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def test_two_processes_share_features_through_redis(tmp_path: Path) -> None:
    require_engine("Redis", REDIS_URL, 6379)
    prefix = f"test:api:{new_id()}:"
    async with fresh_postgres_database() as url:
        apps = [
            create_app(
                make_settings(
                    tmp_path / f"p{i}",
                    url,
                    feature_store="redis",
                    redis_url=REDIS_URL,
                    redis_key_prefix=prefix,
                )
            )
            for i in range(2)
        ]
        try:
            async with (
                apps[0].router.lifespan_context(apps[0]),
                apps[1].router.lifespan_context(apps[1]),
            ):
                keys = await create_keys(apps[0].state.runtime.engine)
                headers = {"Authorization": f"Bearer {keys[Role.SERVICE]}"}
                clients = [
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
                    for app in apps
                ]
                documents = []
                for i in range(4):  # alternate processes: the card's history lives in Redis
                    response = await clients[i % 2].post(
                        "/v1/transactions",
                        json=payment(),
                        headers={**headers, "Idempotency-Key": new_key()},
                    )
                    assert response.status_code == 201, response.text
                    documents.append(response.json())
                detail = await clients[0].get(
                    f"/v1/transactions/{documents[-1]['id']}", headers=headers
                )
                assert detail.json()["features"]["card_count_5m"] == 4
                ready = await clients[1].get("/ready")
                assert ready.json()["checks"] == {"database": "ok", "online_store": "ok"}
                await asyncio.gather(*(client.aclose() for client in clients))
        finally:
            redis = Redis.from_url(REDIS_URL)
            stale = [key async for key in redis.scan_iter(match=f"{prefix}*")]
            if stale:
                await redis.delete(*stale)
            await redis.aclose()
