"""Stored labels reach the online store's merchant fraud-rate windows through LabelService."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from riskops.db.base import table_of
from riskops.db.engine import create_engine
from riskops.db.migrate import upgrade
from riskops.decisions.models import Transaction
from riskops.features import LABEL_DELAY, MemoryOnlineStore
from riskops.features.labels import label_feeder
from riskops.labels.schemas import LabelCreate, LabelSource
from riskops.labels.service import LabelService
from riskops.ledger.models import Account
from tests.features.payments import T0, make_payment


def label(transaction_id: str, value: int) -> LabelCreate:
    return LabelCreate(
        transaction_id=transaction_id,
        label=value,
        source=LabelSource.CHARGEBACK,
        labelled_at=T0 + timedelta(days=3),
    )


async def test_stored_labels_feed_the_merchant_fraud_rate(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'labels.db'}")
    await upgrade(engine)
    store = MemoryOnlineStore()
    service = LabelService()
    service.hooks.append(label_feeder(store))
    paid = make_payment(at=T0, merchant="shop", txn="01JTXN0000000000000000000A")
    await store.record(paid)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                table_of(Account)
                .insert()
                .values(id=paid.account_id, currency="EUR", created_at=now)
            )
            await connection.execute(
                table_of(Transaction).insert().values(
                    id=paid.transaction_id, account_id=paid.account_id, idempotency_key="k",
                    request_hash="h", amount_minor=paid.amount_minor, currency="EUR",
                    card_token=paid.card_token, card_bin=paid.card_bin,
                    card_last4=paid.card_last4, merchant_id="shop", merchant_category="5411",
                    merchant_country="FR", channel="ecom", occurred_at=T0, created_at=now,
                )
            )  # fmt: skip

        async def delayed_on_shop() -> tuple[int, int]:
            later = make_payment(at=T0 + LABEL_DELAY + timedelta(hours=1), merchant="shop")
            stats = (await store.record(later)).merchant_delayed["1d"]
            return stats.payments, stats.frauds

        async with engine.begin() as connection:
            await service.store(connection, label(paid.transaction_id, 1), event_id="01JEV1")
            await service.store(connection, label("01JNEVERSEEN000000000000000", 1))
        assert await delayed_on_shop() == (1, 1)

        async with engine.begin() as connection:  # the chargeback is reversed: genuine after all
            await service.store(connection, label(paid.transaction_id, 0), event_id="01JEV2")
        assert await delayed_on_shop() == (1, 0)
    finally:
        await engine.dispose()
