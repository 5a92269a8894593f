"""Every default rule, hit and narrowly missed, on hand-built variable sets."""

import pytest

from riskops.rules import ListKind, ListSnapshot, RuleAction, RulesEngine, load_default_ruleset
from tests.rules.support import known_variables, quiet_variables

LISTS = ListSnapshot.build(
    {
        "blocked_cards": (ListKind.CARD, ["tok_stolen"]),
        "blocked_devices": (ListKind.DEVICE, ["dev_farm"]),
        "blocked_ips": (ListKind.IP, ["203.0.113.0/24", "2001:db8::1"]),
        "trusted_merchants": (ListKind.MERCHANT, ["mer_trusted"]),
    }
)
ENGINE = RulesEngine(load_default_ruleset(known_variables()), LISTS)
TRUSTED = {"merchant_id": "mer_trusted"}

CASES: list[tuple[str, dict[str, object], bool]] = [
    # the block lists
    ("blocked_card", {"card_token": "tok_stolen"}, True),
    ("blocked_card", {"card_token": "tok_stolen2"}, False),
    ("blocked_device", {"device_id": "dev_farm"}, True),
    ("blocked_device", {"device_id": ""}, False),
    ("blocked_ip", {"ip": "203.0.113.77"}, True),
    ("blocked_ip", {"ip": "2001:db8::1"}, True),
    ("blocked_ip", {"ip": "203.0.114.1"}, False),
    ("blocked_ip", {"ip": ""}, False),
    # trusted merchants are exempt from the velocity reviews
    ("card_velocity_spike", {"card_count_1h": 12, "card_count_7d": 400, **TRUSTED}, False),
    ("merchant_hopping", {"card_distinct_merchants_1h": 7, **TRUSTED}, False),
    ("device_velocity", {"device_count_1h": 15, **TRUSTED}, False),
    # card testing: five small payments in five minutes
    ("card_testing", {"card_count_5m": 5, "card_amount_mean_5m": 120.0}, True),
    ("card_testing", {"card_count_5m": 4, "card_amount_mean_5m": 120.0}, False),
    ("card_testing", {"card_count_5m": 9, "card_amount_mean_5m": 500.0}, False),
    # velocity: the last hour against an average day of the last week
    ("card_velocity_spike", {"card_count_1h": 6, "card_count_7d": 10}, True),
    ("card_velocity_spike", {"card_count_1h": 6, "card_count_7d": 14}, False),
    ("card_velocity_spike", {"card_count_1h": 12, "card_count_7d": 400}, True),
    ("card_velocity_spike", {"card_count_1h": 5, "card_count_7d": 5}, False),
    # amount against the card's own mean, only with history
    ("amount_far_above_card_mean", {"amount_minor": 25000, "amount_to_card_mean_7d": 6.0}, True),
    ("amount_far_above_card_mean", {"amount_minor": 25000, "amount_to_card_mean_7d": 4.9}, False),
    ("amount_far_above_card_mean", {"amount_minor": 19999, "amount_to_card_mean_7d": 9.0}, False),
    (
        "amount_far_above_card_mean",
        {"amount_minor": 25000, "amount_to_card_mean_7d": 9.0, "card_count_7d": 2},
        False,
    ),
    # new country
    ("new_country_high_amount", {"card_new_country": 1, "amount_minor": 50000}, True),
    ("new_country_high_amount", {"card_new_country": 1, "amount_minor": 49999}, False),
    ("new_country_high_amount", {"card_new_country": 0, "amount_minor": 90000}, False),
    (
        "new_country_high_amount",
        {"card_new_country": 1, "amount_minor": 90000, "card_count_7d": 1},
        False,
    ),
    # new device on an established account
    ("new_device_high_amount", {"account_new_device": 1, "amount_minor": 30000}, True),
    ("new_device_high_amount", {"account_new_device": 1, "amount_minor": 29999}, False),
    (
        "new_device_high_amount",
        {"account_new_device": 1, "amount_minor": 30000, "device_id": ""},
        False,
    ),
    (
        "new_device_high_amount",
        {"account_new_device": 1, "amount_minor": 30000, "account_count_7d": 2},
        False,
    ),
    # high-risk category at night
    (
        "high_risk_mcc_night",
        {"merchant_category": "7995", "is_night": 1, "amount_minor": 10000},
        True,
    ),
    (
        "high_risk_mcc_night",
        {"merchant_category": "4829", "is_night": 1, "amount_minor": 80000},
        True,
    ),
    (
        "high_risk_mcc_night",
        {"merchant_category": "7995", "is_night": 0, "amount_minor": 80000},
        False,
    ),
    ("high_risk_mcc_night", {"merchant_category": "5411", "is_night": 1}, False),
    (
        "high_risk_mcc_night",
        {"merchant_category": "5967", "is_night": 1, "amount_minor": 9999},
        False,
    ),
    # ATM cash-out
    (
        "atm_cash_burst",
        {"channel": "atm", "card_count_1h": 3, "card_amount_sum_1h": 60000},
        True,
    ),
    (
        "atm_cash_burst",
        {"merchant_category": "6011", "card_count_1h": 4, "card_amount_sum_1h": 80000},
        True,
    ),
    (
        "atm_cash_burst",
        {"channel": "atm", "card_count_1h": 3, "card_amount_sum_1h": 59999},
        False,
    ),
    ("atm_cash_burst", {"card_count_1h": 5, "card_amount_sum_1h": 90000}, False),
    # merchant hopping
    ("merchant_hopping", {"card_distinct_merchants_1h": 6}, True),
    ("merchant_hopping", {"card_distinct_merchants_1h": 5}, False),
    # sanctions
    ("sanctioned_country", {"merchant_country": "KP"}, True),
    ("sanctioned_country", {"merchant_country": "IR"}, True),
    ("sanctioned_country", {"merchant_country": "CA"}, False),
    # card present in two countries within the hour
    ("card_present_impossible_travel", {"card_distinct_countries_1h": 2}, True),
    (
        "card_present_impossible_travel",
        {"channel": "atm", "card_distinct_countries_1h": 3},
        True,
    ),
    (
        "card_present_impossible_travel",
        {"channel": "ecom", "card_distinct_countries_1h": 2},
        False,
    ),
    # device velocity
    ("device_velocity", {"device_count_1h": 15}, True),
    ("device_velocity", {"device_count_1h": 14}, False),
    ("device_velocity", {"device_count_1h": 40, "device_id": ""}, False),
    # allowlist override
    (
        "trusted_merchant_recurring",
        {"merchant_id": "mer_city_power", "channel": "ecom", "amount_minor": 4999},
        True,
    ),
    (
        "trusted_merchant_recurring",
        {"merchant_id": "mer_city_power", "channel": "ecom", "amount_minor": 5001},
        False,
    ),
    (
        "trusted_merchant_recurring",
        {"merchant_id": "mer_city_power", "channel": "ecom", "card_new_merchant": 1},
        False,
    ),
    ("trusted_merchant_recurring", {"channel": "ecom", "amount_minor": 999}, False),
    ("trusted_merchant_recurring", {"merchant_id": "mer_city_power"}, False),
    # tags
    ("guest_checkout_no_device", {"channel": "ecom", "user_id": "", "device_id": ""}, True),
    ("guest_checkout_no_device", {"channel": "ecom", "device_id": ""}, False),
    ("guest_checkout_no_device", {"user_id": "", "device_id": ""}, False),
    ("merchant_volume_spike", {"merchant_count_1h": 60, "merchant_count_7d": 500}, True),
    ("merchant_volume_spike", {"merchant_count_1h": 60, "merchant_count_7d": 1008}, False),
    ("merchant_volume_spike", {"merchant_count_1h": 49, "merchant_count_7d": 49}, False),
]


def _case_id(case: tuple[str, dict[str, object], bool]) -> str:
    rule_id, overrides, hit = case
    settings = ",".join(f"{key}={value}" for key, value in overrides.items())
    return f"{rule_id}-{'hit' if hit else 'miss'}-{settings}"


@pytest.mark.parametrize(("rule_id", "overrides", "hit"), CASES, ids=map(_case_id, CASES))
def test_default_rule(rule_id: str, overrides: dict[str, object], hit: bool) -> None:
    evaluation = ENGINE.evaluate(quiet_variables(**overrides))

    assert evaluation.errors == []
    assert (rule_id in {h.rule_id for h in evaluation.hits}) is hit


def test_quiet_payment_hits_nothing() -> None:
    evaluation = ENGINE.evaluate(quiet_variables())

    assert evaluation.hits == []
    assert evaluation.errors == []


def test_every_default_rule_has_a_hit_and_a_miss_case() -> None:
    rule_ids = {rule.id for rule in ENGINE.ruleset.rules}

    assert {rule_id for rule_id, _, hit in CASES if hit} == rule_ids
    assert {rule_id for rule_id, _, hit in CASES if not hit} == rule_ids


def test_default_ruleset_shape() -> None:
    rules = ENGINE.ruleset.rules

    assert 8 <= len(rules) <= 20
    assert all(rule.enabled for rule in rules)
    assert {rule.action for rule in rules} == set(RuleAction)
    assert len({rule.reason_code for rule in rules}) == len(rules)
    assert ENGINE.variables <= known_variables()


def test_hit_carries_action_reason_and_severity() -> None:
    evaluation = ENGINE.evaluate(quiet_variables(merchant_country="SY"))

    [hit] = evaluation.hits
    assert (hit.rule_id, hit.action, hit.reason_code, hit.severity.value) == (
        "sanctioned_country",
        RuleAction.DECLINE,
        "SANCTIONED_COUNTRY",
        "critical",
    )
    assert evaluation.ruleset_version == ENGINE.ruleset.version
    assert evaluation.ruleset_checksum == ENGINE.ruleset.checksum


def test_default_ruleset_loads_against_the_real_feature_names() -> None:
    # The app loads the default ruleset against the features package's own list; this keeps
    # the mirror used above honest and catches a renamed feature before start-up does.
    from riskops.features.definitions import FEATURE_NAMES
    from riskops.rules import transaction_variable_names

    assert set(FEATURE_NAMES) | set(transaction_variable_names()) == known_variables()
    loaded = load_default_ruleset([*FEATURE_NAMES, *transaction_variable_names()])
    assert loaded == ENGINE.ruleset
