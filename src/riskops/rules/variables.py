"""The transaction fields rules can read, named once for the loader, engine and pipeline."""

from typing import Final

from riskops.core.payment import Payment

_TRANSACTION_VARIABLES: Final = (
    "amount_minor",
    "currency",
    "merchant_id",
    "merchant_category",
    "merchant_country",
    "channel",
    "card_bin",
    "device_id",
    "ip",
    "user_id",
)


def transaction_variable_names() -> tuple[str, ...]:
    """Names of the payment fields visible to rules; features are named by the caller."""
    return _TRANSACTION_VARIABLES


def transaction_variables(payment: Payment) -> dict[str, object]:
    """The payment as rule variables.

    Absent optional fields become "" rather than null, as the rule language documents: rules
    get one spelling for "absent" (`device_id == ""`), and string functions such as
    `ip.startsWith("10.")` work on every payment instead of failing when the field is null.
    """
    return {
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "merchant_id": payment.merchant_id,
        "merchant_category": payment.merchant_category,
        "merchant_country": payment.merchant_country,
        "channel": payment.channel.value,  # plain str: CEL needs no enum, rules compare text
        "card_bin": payment.card_bin,
        "device_id": payment.device_id or "",
        "ip": payment.ip or "",
        "user_id": payment.user_id or "",
    }
