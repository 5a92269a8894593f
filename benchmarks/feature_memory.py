"""Memory of online feature state per active card: the in-process store's resident memory
per 100,000 cards (this process's RSS before and after feeding them) and bytes per card in
Redis (INFO used_memory before and after, and MEMORY USAGE of the keys written).

    .venv/bin/python benchmarks/feature_memory.py [--cards 200000] [--events 3] [--json]

Run on its own interpreter (decisions.py starts it), so the RSS baseline holds nothing else.
The traffic is features_gc.traffic: accounts shared by cards, 500 Pareto merchants, six days.
"""

import argparse
import asyncio
import gc
import json
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from features_gc import traffic
from riskops.core.ids import new_id
from riskops.features import MemoryOnlineStore, RedisOnlineStore

TARGET_CARDS = 1_000_000
TARGET_BYTES = 2 * 1024**3


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def embedded(cards: int, events: int) -> dict[str, Any]:
    payments = traffic(cards, events, seed=21)
    gc.collect()
    before = rss_bytes()
    store = MemoryOnlineStore()
    for payment in payments:
        await store.record(payment)
    gc.collect()
    grown = rss_bytes() - before
    per_card = grown / cards
    return {
        "cards": cards,
        "payments_per_card": events,
        "rss_grown_mb": round(grown / 2**20, 1),
        "mb_per_100k_cards": round(per_card * 100_000 / 2**20, 1),
        "million_cards_gb": round(per_card * TARGET_CARDS / 2**30, 2),
        "target_met": per_card * TARGET_CARDS <= TARGET_BYTES,
    }


async def redis(url: str, cards: int, events: int) -> dict[str, Any]:
    client = Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, RedisError) as error:
        await client.aclose()
        return {"skipped": str(error)}
    store = RedisOnlineStore(client, key_prefix=f"bench:memory:{new_id()}:")
    before = (await client.info("memory"))["used_memory"]
    try:
        batch = list(traffic(cards, events, seed=23))
        for offset in range(0, len(batch), 64):
            await asyncio.gather(*(store.record(p) for p in batch[offset : offset + 64]))
        grown = (await client.info("memory"))["used_memory"] - before
        keys = [key async for key in client.scan_iter(match=f"{store.key_prefix}*", count=1000)]
        usage = 0
        for key in keys:
            usage += int(await client.memory_usage(key, samples=0) or 0)
        return {
            "cards": cards,
            "payments_per_card": events,
            "keys": len(keys),
            "used_memory_bytes_per_card": round(grown / cards),
            "memory_usage_bytes_per_card": round(usage / cards),
        }
    finally:
        keys = [key async for key in client.scan_iter(match=f"{store.key_prefix}*", count=1000)]
        for offset in range(0, len(keys), 1000):
            await client.unlink(*keys[offset : offset + 1000])
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=3, help="payments per card")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--redis-cards", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="one JSON line, for decisions.py")
    args = parser.parse_args()
    found = {
        "embedded": asyncio.run(embedded(args.cards, args.events)),
        "redis": asyncio.run(redis(args.redis, args.redis_cards, args.events)),
    }
    print(json.dumps(found) if args.json else json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
