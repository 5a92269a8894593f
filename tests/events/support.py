"""Helpers for event tests: read until a count arrives, build messages and CloudEvents."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import orjson

from riskops.core.ids import new_id
from riskops.events.bus import Delivered, Message, Subscription


async def poll_until(
    subscription: Subscription, count: int, within: float = 30.0
) -> list[Delivered]:
    """Poll until `count` messages arrived (a broker may hand them over in several batches)."""
    found: list[Delivered] = []
    deadline = time.monotonic() + within
    while len(found) < count and time.monotonic() < deadline:
        found += await subscription.poll(count - len(found), 1.0)
    return found


async def poll_quiet(subscription: Subscription, wait: float = 2.0) -> list[Delivered]:
    """Whatever arrives within `wait` seconds (to prove that nothing does)."""
    found: list[Delivered] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found += await subscription.poll(100, 0.5)
    return found


def messages(topic: str, keys: Sequence[str], per_key: int) -> list[Message]:
    """Interleaved messages: key k's n-th message has value b'k:n'."""
    return [
        Message(topic, f"{key}:{n}".encode(), key, {"n": str(n)})
        for n in range(per_key)
        for key in keys
    ]


def event(event_type: str, data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": new_id(),
        "type": event_type,
        "source": "/tests",
        "subject": "s",
        "time": "2026-11-22T03:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
        **extra,
    }


def as_message(topic: str, key: str, body: dict[str, Any]) -> Message:
    return Message(topic, orjson.dumps(body), key, {"content-type": "application/cloudevents+json"})


async def settle() -> None:
    await asyncio.sleep(0)
