"""Payments produced straight to `transactions.inbound.v1` get the API's full treatment."""

import orjson
from sqlalchemy import select

from riskops.db.base import table_of
from riskops.db.types import utcnow
from riskops.decisions.models import Transaction
from riskops.events.envelope import INBOUND_TOPIC, TRANSACTIONS_TOPIC, dlq_topic
from riskops.events.models import EventLogEntry
from riskops.runtime import Runtime
from riskops.simulation.generator import Simulator
from riskops.simulation.service import Simulation, submitted_event
from tests.events.support import as_message
from tests.events.test_consumers import dead_letters, run_until_idle, runner, stored_labels
from tests.payments import row_counts

transactions = table_of(Transaction)
event_log = table_of(EventLogEntry)


async def test_stream_payments_are_decided_once_each_with_their_own_events(
    runtime: Runtime,
) -> None:
    simulator = Simulator(seed=11, start=utcnow(), rate=1000)
    sent = [simulator.next() for _ in range(30)]
    events = [submitted_event(p) for p in sent]
    messages = [
        as_message(INBOUND_TOPIC, p.request.account_id, e)
        for p, e in zip(sent, events, strict=True)
    ]
    await runtime.bus.publish(messages + messages[:10])  # an upstream retry resends ten
    risk = runner(runtime, "risk")
    await run_until_idle(risk)
    assert risk.dead_lettered == 0
    counts = await row_counts(runtime.engine)
    assert counts["transactions"] == counts["decisions"] == counts["decision_audits"] == 30
    assert counts["outbox"] == 60  # TransactionCreated + RiskAssessed for each
    async with runtime.engine.connect() as connection:
        keys = set((await connection.execute(select(transactions.c.idempotency_key))).scalars())
    assert keys == {e["id"] for e in events}  # the event id is the idempotency key

    # The stream's decisions flow on like the API's.
    await runtime.events.relay.relay_once()
    async with runtime.engine.connect() as connection:
        created = (
            (
                await connection.execute(
                    select(event_log.c.value).where(event_log.c.topic == TRANSACTIONS_TOPIC)
                )
            )
            .scalars()
            .all()
        )
    assert {orjson.loads(v)["data"]["user_id"] for v in created} == {p.user_id for p in sent}


async def test_a_payment_the_pipeline_refuses_is_dead_lettered_with_the_reason(
    runtime: Runtime,
) -> None:
    simulated = Simulator(seed=5, start=utcnow(), rate=10).next()
    bad = submitted_event(simulated)
    bad["data"]["card_number"] = "4111111111111112"  # fails the Luhn check: never retried
    mismatch = submitted_event(simulated)
    mismatch["id"] = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    mismatch["data"]["currency"] = "EUR"  # the account already holds USD
    good = submitted_event(simulated)
    await runtime.bus.publish([as_message(INBOUND_TOPIC, "k", e) for e in (bad, good, mismatch)])
    risk = runner(runtime, "risk")
    await run_until_idle(risk)
    assert risk.processed == 1 and risk.dead_lettered == 2
    dead = await dead_letters(runtime.bus, INBOUND_TOPIC, 2)
    assert "card_number" in dead[0].headers["dlq.error"] and dead[0].headers["dlq.attempts"] == "1"
    assert dead[1].headers["dlq.error_type"] == "CurrencyMismatch"
    assert dead[0].topic == dlq_topic(INBOUND_TOPIC)


async def test_simulated_stream_traffic_is_decided_and_labelled(runtime: Runtime) -> None:
    simulation = Simulation(runtime.bus, "stream", label_delay_scale=0)
    report = await simulation.run(Simulator(seed=2, start=utcnow(), rate=400), 400, 0.5)
    assert report.sent == report.labels == 200
    risk, labeller = runner(runtime, "risk"), runner(runtime, "labels")
    await run_until_idle(risk)
    await run_until_idle(labeller)
    counts = await row_counts(runtime.engine)
    assert counts["transactions"] == 200 and counts["labels"] == 200
    stored = await stored_labels(runtime)
    assert sum(label for _, label, _ in stored) == report.fraud
    async with runtime.engine.connect() as connection:
        ids = set((await connection.execute(select(transactions.c.id))).scalars())
    assert {t for t, _, _ in stored} == ids  # every label found its stream-decided payment
    assert {s for _, _, s in stored} == {"simulation"}
