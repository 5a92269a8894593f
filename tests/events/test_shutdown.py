"""The relay and consumers stop within their deadline while events are flowing, at any tick."""

import asyncio
import time

from riskops.runtime import Runtime
from tests.events.test_relay import decide


async def test_workers_stop_within_the_deadline_at_any_tick_offset(runtime: Runtime) -> None:
    # Each round commits decisions (waking the relay, which wakes the consumers) and stops
    # a different number of loop ticks later: the stop lands before, during and after wake-ups.
    for ticks in range(0, 40, 3):
        runtime.events.start()
        await decide(runtime, 2, prefix=f"round-{ticks}")
        for _ in range(ticks):
            await asyncio.sleep(0)
        started = time.monotonic()
        assert await runtime.events.stop(deadline=5.0) == []
        assert time.monotonic() - started < 5.0
        assert not runtime.events.running


async def test_nothing_is_lost_across_stops_and_restarts(runtime: Runtime) -> None:
    for round_ in range(3):
        runtime.events.start()
        await decide(runtime, 5, prefix=f"restart-{round_}")
        assert await runtime.events.stop(deadline=5.0) == []
    runtime.events.start()
    try:
        await runtime.events.drain(within=30.0)  # outbox empty, every consumer caught up
    finally:
        assert await runtime.events.stop() == []
