"""API shapes of the payment request (POST /v1/transactions and `transactions.submitted.v1`)."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyAddress,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from riskops.core.payment import Channel
from riskops.core.times import iso_date_time
from riskops.decisions.cards import luhn_valid

MAX_CLOCK_SKEW = timedelta(minutes=1)
# Validation context key: the oldest event time the caller accepts (the API sets it; the
# demo, backfill and event consumers replay history and do not).
MAX_EVENT_AGE = "max_event_age"
_CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
_IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


def _currency(value: str) -> str:
    if value not in _CURRENCIES:
        raise ValueError(f"'{value}' is not an ISO 4217 currency code (e.g. EUR, USD)")
    return value


def _country(value: str) -> str:
    if value not in _COUNTRIES:
        raise ValueError(f"'{value}' is not an ISO 3166 alpha-2 country code (e.g. DE, US)")
    return value


CurrencyCode = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_currency)]
CountryCode = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_country)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=_IDENTIFIER)]


class TransactionCreate(BaseModel):
    """A payment to decide. Amounts are integers in the currency's minor unit (cents)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    account_id: Identifier
    amount_minor: int = Field(gt=0, le=10**12, strict=True, examples=[12_500])
    currency: CurrencyCode = Field(examples=["EUR"])
    card_number: SecretStr = Field(
        description="Primary account number, 12-19 digits; Luhn-checked, tokenised, never stored",
        examples=["4111111111111111"],
    )
    merchant_id: Identifier
    merchant_category: str = Field(
        pattern=r"^\d{4}$", description="ISO 18245 MCC", examples=["5411"]
    )
    merchant_country: CountryCode = Field(examples=["DE"])
    channel: Channel
    # No control characters: PostgreSQL refuses NUL in text (SQLite would store it).
    device_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    ip: IPvAnyAddress | None = None
    user_id: Identifier | None = None
    occurred_at: datetime | None = Field(
        default=None,
        description="Event time (ISO 8601 with offset); defaults to now. At most 1 minute "
        "ahead and, by default, 30 days behind (history goes through `riskops backfill`)",
    )

    @field_validator("card_number")
    @classmethod
    def _card(cls, value: SecretStr) -> SecretStr:
        digits = re.sub(r"[ -]", "", value.get_secret_value())
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            raise ValueError("card number must be 12 to 19 digits")
        if not luhn_valid(digits):
            raise ValueError("card number fails the Luhn check")
        return SecretStr(digits)

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_event_time(cls, value: object) -> object:
        return None if value is None else iso_date_time(value)

    @field_validator("occurred_at")
    @classmethod
    def _event_time(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("occurred_at needs a timezone offset (e.g. 2026-01-31T12:00:00Z)")
        value = value.astimezone(UTC)
        now = datetime.now(UTC)
        if value > now + MAX_CLOCK_SKEW:
            raise ValueError("occurred_at is more than 1 minute in the future")
        max_age: timedelta | None = (info.context or {}).get(MAX_EVENT_AGE)
        if max_age is not None and value < now - max_age:
            raise ValueError(
                f"occurred_at is more than {max_age.days} days old; "
                "load history with `riskops backfill`"
            )
        return value


class CardOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, description="HMAC of the card number: stable per card")
    bin: str = Field(pattern=r"^[0-9]{6,8}$")
    last4: str = Field(pattern=r"^[0-9]{4}$")
