"""The step trace: a failing step is recorded with its error and the steps beside it finish."""

import asyncio

from riskops.audit.actions import Actor
from riskops.core.errors import Unavailable
from riskops.investigations.trace import Trace

ACTOR = Actor("key-1", "Ana")


async def test_one_failing_step_is_recorded_and_the_concurrent_ones_complete() -> None:
    trace = Trace(ACTOR, ["slow", "broken", "crashing"])

    async def slow() -> int:
        await asyncio.sleep(0.01)
        return 7

    async def broken() -> int:
        raise Unavailable("index not ready", {"record_id": "r1"})

    async def crashing() -> int:
        raise ZeroDivisionError("division by zero")

    results = await asyncio.gather(
        trace.run("slow", {"n": 1}, slow, lambda v: {"value": v}),
        trace.run("broken", {}, broken, lambda v: {"value": v}),
        trace.run("crashing", {}, crashing, lambda v: {"value": v}),
    )
    assert results == [7, None, None]
    steps = {s["name"]: s for s in trace.as_list()}
    assert steps["slow"]["outputs"] == {"value": 7} and steps["slow"]["error"] is None
    assert steps["slow"]["duration_ms"] >= 10 and steps["slow"]["inputs"] == {"n": 1}
    assert steps["broken"]["error"] == {
        "code": "unavailable",
        "message": "index not ready",
        "details": {"record_id": "r1"},
    }
    assert steps["crashing"]["error"]["code"] == "ZeroDivisionError"
    assert all(s["actor"] == "key-1" and s["started_at"] for s in steps.values())
    assert [s["name"] for s in trace.as_list()] == ["slow", "broken", "crashing"]
