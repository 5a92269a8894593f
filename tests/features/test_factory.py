"""Settings pick the adapter; nothing else does."""

from pathlib import Path
from typing import Any

import pytest

from riskops.features import MemoryOnlineStore, RedisOnlineStore, build_online_store


async def test_memory_backend(tmp_path: Path) -> None:
    store = build_online_store("memory", "redis://unused", "p:", snapshot_path=tmp_path / "f.json")

    assert isinstance(store, MemoryOnlineStore)
    await store.close()
    assert (tmp_path / "f.json").exists()


async def test_redis_backend_does_not_connect_until_used() -> None:
    store = build_online_store("redis", "redis://127.0.0.1:1/0", "tenant-a:")

    assert isinstance(store, RedisOnlineStore)
    assert store.key_prefix == "tenant-a:"
    await store.close()


def test_unknown_backend_is_refused() -> None:
    backend: Any = "cassandra"

    with pytest.raises(ValueError, match="cassandra"):
        build_online_store(backend, "redis://unused", "p:")
