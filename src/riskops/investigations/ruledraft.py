"""A proposed rule derived from the strongest pattern, checked by the rules engine's own
validation adapter; handing it to rules management makes a real draft (four eyes still)."""

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.auth.service import Principal
from riskops.investigations.tools.patterns import HIGH_AMOUNT, SMALL_AMOUNT, Pattern
from riskops.rules.ruleset import RuleAction
from riskops.rulesets import service as rulesets
from riskops.rulesets.validation import problems


def _literal(value: str) -> str:
    return json.dumps(value)  # a double-quoted string with escapes: a valid CEL literal


def expression_of(pattern: Pattern) -> str | None:
    entity = pattern.entity
    match pattern.name:
        case "card_testing":
            return f"card_count_1h >= 5 && amount_minor <= {SMALL_AMOUNT}"
        case "velocity":
            count = max(3, int(pattern.facts["count_24h"]))
            return f"{entity['kind']}_count_24h >= {count}"
        case "new_device_or_country_high_amount":
            return (
                "(account_new_device == 1 || card_new_country == 1) && "
                f"amount_minor >= {HIGH_AMOUNT}"
            )
        case "merchant_confirmed_fraud":
            return f"merchant_id == {_literal(entity['id'])}"
        case "linked_entities":
            field = {"device": "device_id", "ip": "ip", "card": "card_token"}[entity["kind"]]
            return f"{field} == {_literal(entity['id'])}"
    return None


def propose(investigation_id: str, patterns: list[Pattern]) -> dict[str, Any] | None:
    """The rule for the strongest pattern that has one (review, never decline: a person
    confirms what an investigation suggests)."""
    for pattern in patterns:
        expression = expression_of(pattern)
        if expression is None:
            continue
        return {
            "id": f"inv_{pattern.name}_{investigation_id[-8:].lower()}",
            "name": f"{pattern.name.replace('_', ' ').capitalize()} (investigation)",
            "description": f"From investigation {investigation_id}: {pattern.explanation}",
            "expression": expression,
            "action": RuleAction.REVIEW.value,
            "reason_code": f"INV_{pattern.name.upper()}"[:64],
            "severity": "high" if pattern.strength >= 0.7 else "medium",
            "evidence_ids": pattern.evidence_ids,
        }
    return None


def engine_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "evidence_ids"}


async def preview(connection: AsyncConnection, rule: dict[str, Any]) -> dict[str, Any]:
    """The rule with the engine's verdict on it inside the active ruleset."""
    active = await rulesets.active_version(connection)
    found = problems([*active["rules"], engine_rule(rule)], await rulesets.list_names(connection))
    return {"rule": rule, "valid": not found, "problems": found, "backtest": None}


async def hand_off(
    connection: AsyncConnection, principal: Principal, investigation_id: str, rule: dict[str, Any]
) -> dict[str, Any]:
    """A ruleset draft: the active rules plus this one, authored by the caller; it needs
    another person's approval like any draft."""
    active = await rulesets.active_version(connection)
    return await rulesets.create_draft(
        connection,
        principal,
        rules=[*active["rules"], engine_rule(rule)],
        base_version=None,
        from_version=None,
        comment=f"rule {rule['id']} proposed by investigation {investigation_id}",
    )
