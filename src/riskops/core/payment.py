"""The payment as the decision pipeline sees it, after validation and tokenisation."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    POS = "pos"
    ECOM = "ecom"
    ATM = "atm"
    MOTO = "moto"


@dataclass(frozen=True, slots=True)
class Payment:
    """Everything known about one payment at decision time. Never holds the raw card number."""

    transaction_id: str
    account_id: str
    card_token: str  # HMAC of the card number: stable per card, useless without the secret
    card_bin: str
    card_last4: str
    amount_minor: int
    currency: str
    merchant_id: str
    merchant_category: str
    merchant_country: str
    channel: Channel
    occurred_at: datetime  # event time, tz-aware UTC
    device_id: str | None = None
    ip: str | None = None
    user_id: str | None = None
