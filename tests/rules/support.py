"""Variable sets for rules tests, built from the published naming contract."""

from riskops.rules import (
    Rule,
    RuleAction,
    RuleMode,
    Ruleset,
    Severity,
    transaction_variable_names,
)

ENTITIES = ("card", "account", "device", "merchant")
WINDOWS = ("5m", "1h", "24h", "7d", "30d")
# The flags and single features that sit outside the {entity}_{aggregate}_{window} grid.
SINGLE_FEATURES = (
    "amount_to_card_mean_7d",
    "card_new_country",
    "account_new_device",
    "card_new_merchant",
    "is_weekend",
    "is_night",
    "hour_of_day",
    *(
        f"merchant_{stat}_{w}"
        for w in ("1d", "7d", "30d")
        for stat in ("delayed_count", "fraud_rate")
    ),
    "is_night_0_6",
    "amount",
    "amount_to_card_mean_30d",
    "amount_to_card_habit",
)


def feature_names() -> list[str]:
    """Mirror of riskops.features.definitions.FEATURE_NAMES' naming pattern."""
    names: list[str] = []
    for entity in ENTITIES:
        for window in WINDOWS:
            names += [
                f"{entity}_count_{window}",
                f"{entity}_amount_sum_{window}",
                f"{entity}_amount_mean_{window}",
            ]
            if entity in ("card", "account"):
                names += [
                    f"{entity}_distinct_merchants_{window}",
                    f"{entity}_distinct_countries_{window}",
                ]
    return [*names, *SINGLE_FEATURES]


def known_variables() -> frozenset[str]:
    return frozenset(transaction_variable_names()) | frozenset(feature_names())


def quiet_variables(**overrides: object) -> dict[str, object]:
    """A daytime grocery payment on an established card: no default rule should fire."""
    variables: dict[str, object] = {
        "amount_minor": 4250,
        "currency": "USD",
        "merchant_id": "mer_corner_grocer",
        "merchant_category": "5411",
        "merchant_country": "US",
        "channel": "pos",
        "card_bin": "411111",
        "device_id": "dev_7f3a",
        "ip": "",
        "user_id": "usr_1024",
        "card_token": "tok_quiet",
    }
    # Counts include the payment itself: a card used about once a day, a busy shop.
    personal = {"5m": 1, "1h": 1, "24h": 2, "7d": 9, "30d": 35}
    counts = {
        "card": personal,
        "account": personal,
        "device": personal,
        "merchant": {"5m": 2, "1h": 20, "24h": 430, "7d": 3000, "30d": 12000},
    }
    for entity in ENTITIES:
        for window, count in counts[entity].items():
            variables[f"{entity}_count_{window}"] = count
            variables[f"{entity}_amount_sum_{window}"] = count * 3900
            variables[f"{entity}_amount_mean_{window}"] = 3900.0
            if entity in ("card", "account"):
                variables[f"{entity}_distinct_merchants_{window}"] = min(count, 5)
                variables[f"{entity}_distinct_countries_{window}"] = 1
    variables.update(
        amount_to_card_mean_7d=1.09,
        card_new_country=0,
        account_new_device=0,
        card_new_merchant=0,
        is_weekend=0,
        is_night=0,
        hour_of_day=14,
        is_night_0_6=0,
        amount=4250,
        amount_to_card_mean_30d=1.09,
        amount_to_card_habit=1.1,
    )
    # The merchant's history behind the label delay: busy, with the usual sliver of fraud.
    for window, count in {"1d": 430, "7d": 3000, "30d": 12000}.items():
        variables[f"merchant_delayed_count_{window}"] = count
        variables[f"merchant_fraud_rate_{window}"] = 0.002
    unknown = overrides.keys() - variables.keys()
    if unknown:
        raise KeyError(f"not rule variables: {sorted(unknown)}")
    variables.update(overrides)
    return variables


def rule(
    rule_id: str,
    expression: str,
    *,
    action: RuleAction = RuleAction.REVIEW,
    severity: Severity = Severity.MEDIUM,
    enabled: bool = True,
    mode: RuleMode = RuleMode.ACTIVE,
) -> Rule:
    return Rule(
        id=rule_id,
        name=rule_id.replace("_", " "),
        description=f"test rule {rule_id}",
        expression=expression,
        action=action,
        reason_code=rule_id.upper(),
        severity=severity,
        enabled=enabled,
        mode=mode,
    )


def ruleset(*rules: Rule, version: str = "test-1") -> Ruleset:
    return Ruleset(version=version, rules=rules)
