"""Which work runs where: the API process keeps what its in-memory features need, and a label
delivered on the bus still reaches the API process's online store."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from riskops.db.base import table_of
from riskops.decisions.requests import TransactionCreate
from riskops.events.envelope import LABELS_TOPIC
from riskops.labels.models import Label
from riskops.processes.placement import ProcessRole, consumers_for
from riskops.runtime import build_runtime
from tests.conftest import make_settings
from tests.events.support import as_message
from tests.events.test_consumers import label_event
from tests.events.test_relay import TESTER
from tests.features.payments import make_payment
from tests.payments import payment

labels = table_of(Label)


def test_consumers_bound_to_the_memory_store_stay_in_the_api_process(tmp_path: Path) -> None:
    memory = make_settings(tmp_path)
    assert consumers_for(ProcessRole.API, memory) == ["risk", "labels"]
    assert consumers_for(ProcessRole.WORKER, memory) == ["analytics", "cases"]
    assert consumers_for(ProcessRole.ALL, memory) == ["risk", "labels", "analytics", "cases"]
    shared = make_settings(tmp_path, feature_store="redis")
    assert consumers_for(ProcessRole.API, shared) == []
    assert consumers_for(ProcessRole.WORKER, shared) == ["risk", "labels", "analytics", "cases"]


async def test_a_label_on_the_bus_reaches_the_api_process_features(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        run_workers=True,
        label_delay=timedelta(days=1),
        consumer_retry_base=timedelta(seconds=0.01),
    )
    api = await build_runtime(settings, role=ProcessRole.API)
    try:
        await api.start()
        # The API process consumes labels itself; the relay is the worker's.
        assert api.events.running
        assert [r.group for r in api.events.runners] == ["risk", "labels"]
        paid_at = datetime.now(UTC) - timedelta(days=1, hours=12)
        body = payment(merchant_id="m-shop", occurred_at=paid_at.isoformat())
        result = await api.pipeline.submit(TransactionCreate.model_validate(body), "k-1", TESTER)
        txn = result.document["id"]
        # Labels come from outside on labels.v1; the relay is not needed for that topic.
        await api.bus.publish([as_message(LABELS_TOPIC, "acct-1", label_event(transaction_id=txn))])
        for _ in range(200):
            async with api.engine.connect() as connection:
                if await connection.scalar(select(labels.c.id)) is not None:
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the labels consumer of the API process stored nothing")
        later = make_payment(at=datetime.now(UTC), merchant="m-shop")
        stats = (await api.store.record(later)).merchant_delayed["1d"]
        assert (stats.payments, stats.frauds) == (1, 1)
    finally:
        await api.close()
