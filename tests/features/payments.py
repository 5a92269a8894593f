"""Payments for feature tests: sensible defaults, only what a test cares about spelled out."""

from datetime import UTC, datetime
from itertools import count

from riskops.core.payment import Channel, Payment

# A Monday noon, UTC: far from the calendar flags' edges unless a test moves it.
T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)

_serial = count(1)


def make_payment(
    *,
    at: datetime = T0,
    amount: int = 1000,
    card: str = "card-1",
    account: str = "acct-1",
    merchant: str = "merch-1",
    country: str = "FR",
    device: str | None = "dev-1",
    txn: str | None = None,
) -> Payment:
    return Payment(
        transaction_id=txn or f"txn-{next(_serial)}",
        account_id=account,
        card_token=card,
        card_bin="411111",
        card_last4="1111",
        amount_minor=amount,
        currency="EUR",
        merchant_id=merchant,
        merchant_category="5411",
        merchant_country=country,
        channel=Channel.ECOM,
        occurred_at=at,
        device_id=device,
    )
