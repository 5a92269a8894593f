"""Online feature store: GC pause with a realistic state, and per-payment latency.

    .venv/bin/python benchmarks/features_gc.py [--cards 10000] [--events 20] [--redis URL]

Why it exists: the cyclic GC once paused the event loop 180-220 ms with ~10k cards of
window state kept as per-event Python objects. This loads the same state into the
in-process store and into that naive layout, and times a full gc.collect() on each; then
times record() + build_feature_vector() per payment on the memory adapter and, when a
Redis is reachable, on the Redis adapter (one round trip per payment).
"""

import argparse
import asyncio
import gc
import random
import statistics
import time
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from riskops.core.ids import new_id
from riskops.core.payment import Channel, Payment
from riskops.features import MemoryOnlineStore, RedisOnlineStore, build_feature_vector

START = datetime(2025, 1, 6, tzinfo=UTC)
DAYS = timedelta(days=6)
COUNTRIES = ("FR", "DE", "ES", "IT", "NL", "BE", "US", "GB")


def traffic(
    cards: int, events: int, *, seed: int = 7, start: datetime = START
) -> Iterator[Payment]:
    """cards x events payments over six days, in event order, shared accounts/merchants.

    Merchants are Pareto-distributed: one of them takes about half of all payments, like a
    big marketplace does, so per-merchant cost shows.
    """
    rng = random.Random(seed)
    total = cards * events
    span = DAYS / total
    for i in range(total):
        card = rng.randrange(cards)
        yield Payment(
            transaction_id=f"txn-{seed}-{i}",
            account_id=f"acct-{card * 4 // 5}",
            card_token=f"card-{card:08d}",
            card_bin="411111",
            card_last4="1111",
            amount_minor=rng.randrange(100, 50_000),
            currency="EUR",
            merchant_id=f"merch-{int(rng.paretovariate(1.2)) % 500}",
            merchant_category="5411",
            merchant_country=rng.choice(COUNTRIES),
            channel=Channel.ECOM,
            occurred_at=start + span * i,
            device_id=f"dev-{card}" if rng.random() < 0.9 else None,
        )


def full_collection_ms(repeat: int = 9) -> float:
    """Best of several full collections: the floor is what the heap costs; this machine's
    other load only ever adds to it."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        gc.collect()
        timings.append((time.perf_counter() - started) * 1e3)
    return min(timings)


def percentiles(samples_us: Iterable[float]) -> str:
    ordered = sorted(samples_us)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (
        f"mean {statistics.fmean(ordered):.1f} us, p50 {at(0.5):.1f}, p99 {at(0.99):.1f}, "
        f"p99.9 {at(0.999):.1f}, max {ordered[-1]:.1f} (n={len(ordered)})"
    )


def bench_memory(cards: int, events: int) -> None:
    full_collection_ms()  # settle the import-time objects into the oldest generation first
    tracked_before = len(gc.get_objects())
    store = MemoryOnlineStore()
    loading = array("d")  # not a list of floats: the collector would walk it
    for payment in traffic(cards, events):
        started = time.perf_counter()
        build_feature_vector(payment, store.record_sync(payment))
        loading.append((time.perf_counter() - started) * 1e6)
    loaded = full_collection_ms()
    added = len(gc.get_objects()) - tracked_before
    print(f"memory store: {store.stats()}")
    print(f"  record_sync + feature vector while loading: {percentiles(loading)}")
    steady = asyncio.run(steady_state(store, cards))
    print(f"  await record() + feature vector, loaded: {percentiles(steady)}")
    del store
    empty = full_collection_ms()
    print(
        f"  full gc.collect(): {loaded:.2f} ms with the store, {empty:.2f} ms once it is dropped "
        f"(objects the collector tracks, added by the store: {added})"
    )


async def steady_state(store: MemoryOnlineStore, cards: int) -> "array[float]":
    """Two more payments per card, after the loaded period, through the event loop."""
    timings = array("d")
    for payment in traffic(cards, 2, seed=11, start=START + DAYS):
        started = time.perf_counter()
        build_feature_vector(payment, await store.record(payment))
        timings.append((time.perf_counter() - started) * 1e6)
    return timings


def bench_naive_layout(cards: int, events: int) -> None:
    """The layout that paused the loop: per-event tuples in deques, sets for novelty."""
    state: dict[str, tuple[deque[tuple[float, int, str, str]], set[str], set[str]]] = {}
    for p in traffic(cards, events):
        for key in (p.card_token, p.account_id, p.merchant_id, p.device_id):
            if key is None:
                continue
            window, countries, merchants = state.setdefault(key, (deque(), set(), set()))
            window.append(
                (p.occurred_at.timestamp(), p.amount_minor, p.merchant_id, p.merchant_country)
            )
            countries.add(p.merchant_country)
            merchants.add(p.merchant_id)
    print(
        f"naive per-event objects, same traffic: full gc.collect(): {full_collection_ms():.2f} ms"
    )
    del state


async def bench_redis(url: str, cards: int, events: int) -> None:
    client = Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        print(f"redis store: skipped ({error})")
        await client.aclose()
        return
    store = RedisOnlineStore(client, key_prefix=f"bench:features:{new_id()}:")
    memory_before = (await client.info("memory"))["used_memory"]
    try:
        loading = array("d")
        for payment in traffic(cards, events, seed=13):
            started = time.perf_counter()
            build_feature_vector(payment, await store.record(payment))
            loading.append((time.perf_counter() - started) * 1e6)
        print(
            f"redis store ({cards} cards x {events}), one round trip each: {percentiles(loading)}"
        )
        grown = (await client.info("memory"))["used_memory"] - memory_before
        print(f"  Redis memory held: {grown / len(loading):,.0f} bytes per payment")
        batch = list(traffic(cards, 2, seed=17, start=START + DAYS))
        started = time.perf_counter()
        for offset in range(0, len(batch), 64):
            await asyncio.gather(*(store.record(p) for p in batch[offset : offset + 64]))
        elapsed = time.perf_counter() - started
        print(f"  64 in flight on one client: {len(batch) / elapsed:,.0f} payments/s")
    finally:
        keys = [key async for key in client.scan_iter(match=f"{store.key_prefix}*", count=1000)]
        for offset in range(0, len(keys), 1000):
            await client.delete(*keys[offset : offset + 1000])
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20, help="payments per card")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-cards", type=int, default=2_000)
    args = parser.parse_args()
    bench_memory(args.cards, args.events)
    bench_naive_layout(args.cards, args.events)
    asyncio.run(bench_redis(args.redis, args.redis_cards, args.events))


if __name__ == "__main__":
    main()
