"""The live feed's pub/sub, the pipeline publishing to it, and `riskops demo --stream`."""

import asyncio
from pathlib import Path

from riskops.app import create_app
from riskops.auth.roles import Role
from riskops.decisions.feed import DecisionFeed
from riskops.demo import with_stream
from riskops.runtime import Runtime
from tests.conftest import Api, make_settings
from tests.payments import new_key, payment, row_counts


async def test_each_subscriber_gets_every_decision_in_order() -> None:
    feed = DecisionFeed()
    with feed.subscribe() as first, feed.subscribe() as second:
        assert feed.subscribers == 2
        for n in range(3):
            feed.publish({"n": n})
        assert [first.get_nowait()["n"] for _ in range(3)] == [0, 1, 2]
        assert [second.get_nowait()["n"] for _ in range(3)] == [0, 1, 2]
    assert feed.subscribers == 0
    feed.publish({"n": 4})  # nobody listening: nothing kept


async def test_a_slow_subscriber_loses_the_oldest_not_the_newest() -> None:
    feed = DecisionFeed(queue_size=2)
    with feed.subscribe() as queue:
        for n in range(5):
            feed.publish({"n": n})
        assert [queue.get_nowait()["n"] for _ in range(2)] == [3, 4]


async def test_listen_sends_heartbeats_when_quiet() -> None:
    feed = DecisionFeed()
    listener = feed.listen(heartbeat=0.01)
    assert await anext(listener) is None
    task = asyncio.ensure_future(anext(listener))
    await asyncio.sleep(0)
    feed.publish({"n": 1})
    assert await task in ({"n": 1}, None)
    await listener.aclose()


async def test_the_pipeline_publishes_stored_decisions_not_replays(api: Api) -> None:
    feed = api.runtime.pipeline.feed
    headers = {**api.as_role(Role.ANALYST), "Idempotency-Key": new_key()}
    with feed.subscribe() as queue:
        first = await api.client.post("/v1/transactions", json=payment(), headers=headers)
        again = await api.client.post("/v1/transactions", json=payment(), headers=headers)
        assert first.status_code == again.status_code == 201
        published = queue.get_nowait()
        assert published["id"] == first.json()["id"]
        assert published["decision"]["status"] == first.json()["decision"]["status"]
        assert queue.empty()  # the replay is not a new decision


async def test_demo_stream_keeps_deciding_payments_while_the_app_runs(tmp_path: Path) -> None:
    app = with_stream(create_app(make_settings(tmp_path)), rate=200, seed=3)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        with runtime.pipeline.feed.subscribe() as queue:
            seen = [await asyncio.wait_for(queue.get(), 20) for _ in range(5)]
        assert len({d["id"] for d in seen}) == 5
        assert all(d["account_id"].startswith("acct-") for d in seen)
        stored = await row_counts(runtime.engine)
        assert stored["decisions"] >= 5
