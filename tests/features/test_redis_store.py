"""The Redis adapter: the contract against a real Redis, plus its key hygiene."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from riskops.core.ids import new_id
from riskops.features import MAX_WINDOW, RedisOnlineStore, WindowStats
from tests.engines import REDIS_URL, require_engine
from tests.features.contract import OnlineStoreContract
from tests.features.payments import T0, make_payment


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    require_engine("Redis", REDIS_URL, 6379)
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_store(redis_client: Redis) -> AsyncIterator[RedisOnlineStore]:
    # Own prefix per test: tests never see each other's keys and leave none behind.
    store = RedisOnlineStore(redis_client, key_prefix=f"test:features:{new_id()}:")
    yield store
    await store.close()
    keys = [key async for key in redis_client.scan_iter(match=f"{store.key_prefix}*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.mark.redis
class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, redis_store: RedisOnlineStore) -> RedisOnlineStore:
        return redis_store


@pytest.mark.redis
async def test_every_key_is_prefixed_and_expires(
    redis_store: RedisOnlineStore, redis_client: Redis
) -> None:
    await redis_store.record(make_payment(at=T0))

    keys = [key async for key in redis_client.scan_iter(match=f"{redis_store.key_prefix}*")]

    assert len(keys) == 10  # marker, 4 windows, 2 running totals, 3 novelty sets
    assert all([await redis_client.pttl(key) > 0 for key in keys])


@pytest.mark.redis
async def test_expired_events_leave_the_sorted_set(
    redis_store: RedisOnlineStore, redis_client: Redis
) -> None:
    await redis_store.record(make_payment(at=T0, card="c"))
    await redis_store.record(make_payment(at=T0 + MAX_WINDOW, card="c"))

    assert await redis_client.zcard(f"{redis_store.key_prefix}w:card:c") == 1


@pytest.mark.redis
async def test_ids_with_separators_keep_their_merchants_apart(
    redis_store: RedisOnlineStore,
) -> None:
    await redis_store.record(make_payment(at=T0, merchant="a:1", country="F:R"))

    raw = await redis_store.record(
        make_payment(at=T0 + timedelta(seconds=1), merchant="a", country="F")
    )

    assert raw.card.windows["5m"].distinct_merchants == 2
    assert raw.card.windows["5m"].distinct_countries == 2


@pytest.mark.redis
async def test_a_client_passed_in_stays_open(redis_client: Redis) -> None:
    store = RedisOnlineStore(redis_client, key_prefix=f"test:features:{new_id()}:")
    await store.close()

    assert await redis_client.ping()


@pytest.mark.redis
async def test_a_store_built_from_a_url_owns_and_closes_its_client() -> None:
    require_engine("Redis", REDIS_URL, 6379)
    store = RedisOnlineStore(REDIS_URL, key_prefix=f"test:features:{new_id()}:")
    await store.ping()
    pool = store._redis.connection_pool
    connections = [*pool._available_connections, *pool._in_use_connections]
    assert connections and all(c.is_connected for c in connections)

    await store.close()

    assert not any(c.is_connected for c in connections)


@pytest.mark.redis
async def test_a_redelivery_after_the_marker_expired_is_still_counted_once(
    redis_client: Redis,
) -> None:
    store = RedisOnlineStore(
        redis_client,
        key_prefix=f"test:features:{new_id()}:",
        replay_ttl=timedelta(milliseconds=1),
    )
    payment = make_payment(at=T0, amount=10)
    try:
        await store.record(payment)
        await asyncio.sleep(0.01)

        again = await store.record(payment)

        assert not again.replayed  # the marker is gone: aggregates are computed afresh
        assert again.device is not None
        for entity in (again.card, again.account, again.merchant, again.device):
            assert entity.windows["7d"] == WindowStats(1, 10, *entity.windows["7d"][2:])
    finally:
        keys = [key async for key in redis_client.scan_iter(match=f"{store.key_prefix}*")]
        await redis_client.delete(*keys)


@pytest.mark.redis
async def test_label_delay_is_configurable(redis_client: Redis) -> None:
    store = RedisOnlineStore(
        redis_client, key_prefix=f"test:features:{new_id()}:", label_delay=timedelta(days=2)
    )
    old = make_payment(at=T0 - timedelta(days=2, hours=1), card="c-old")
    try:
        await store.record(old)
        await store.record_label(old.transaction_id, old.merchant_id, old.occurred_at, True)

        raw = await store.record(make_payment(at=T0))

        assert raw.merchant_delayed["1d"] == (1, 1)  # a week's delay would see nothing yet
    finally:
        keys = [key async for key in redis_client.scan_iter(match=f"{store.key_prefix}*")]
        await redis_client.delete(*keys)
