"""The payment as rule variables."""

from datetime import UTC, datetime

from riskops.core.payment import Channel, Payment
from riskops.rules import transaction_variable_names, transaction_variables


def payment(**changes: object) -> Payment:
    fields: dict[str, object] = {
        "transaction_id": "txn_1",
        "account_id": "acc_1",
        "card_token": "tok_1",
        "card_bin": "411111",
        "card_last4": "1111",
        "amount_minor": 1999,
        "currency": "EUR",
        "merchant_id": "mer_1",
        "merchant_category": "5411",
        "merchant_country": "FR",
        "channel": Channel.ECOM,
        "occurred_at": datetime(2025, 3, 1, 12, tzinfo=UTC),
        "device_id": "dev_1",
        "ip": "203.0.113.7",
        "user_id": "usr_1",
    }
    fields.update(changes)
    return Payment(**fields)  # type: ignore[arg-type]


def test_every_transaction_variable_is_filled() -> None:
    variables = transaction_variables(payment())

    assert tuple(variables) == transaction_variable_names()
    assert variables["amount_minor"] == 1999
    assert variables["channel"] == "ecom"
    assert type(variables["channel"]) is str


def test_absent_optional_fields_are_empty_strings() -> None:
    variables = transaction_variables(payment(device_id=None, ip=None, user_id=None))

    assert (variables["device_id"], variables["ip"], variables["user_id"]) == ("", "", "")
