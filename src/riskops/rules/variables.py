"""The transaction fields rules can read, named once for the loader, engine and pipeline."""

from collections.abc import Mapping
from typing import Final

from riskops.core.payment import Payment
from riskops.rules.checker import VarType

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
    "card_token",  # the HMAC token, never the number: what `blocked_cards` entries hold
)
_TYPES: Final[Mapping[str, VarType]] = {
    name: ("int" if name == "amount_minor" else "string") for name in _TRANSACTION_VARIABLES
}


def transaction_variable_names() -> tuple[str, ...]:
    """Names of the payment fields visible to rules; features are named by the caller."""
    return _TRANSACTION_VARIABLES


def transaction_variable_types() -> Mapping[str, VarType]:
    """The payment fields' CEL types, for static checks of expressions."""
    return _TYPES


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
        "card_token": payment.card_token,
    }
