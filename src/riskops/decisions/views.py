"""Rows to API documents. Fresh decisions and idempotent replays both go through here."""

from collections.abc import Mapping
from typing import Any

from riskops.decisions.scoring import RULES_ONLY_NOTE


def canonical(value: Any) -> Any:
    """JSON column values with keys in sorted order at every depth.

    PostgreSQL's JSONB keeps its own key order, not the writer's: without this a replay read
    back from the database (another process, a restart) would differ from the first answer.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


def decision_view(decision: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": decision["status"],
        "basis": decision["basis"],
        "score": decision["score"],
        "score_source": decision["score_source"],
        "reason_codes": decision["reason_codes"],
        "rule_hits": canonical(decision["rule_hits"]),
        "rule_errors": canonical(decision["rule_errors"]),
        "shadow_hits": canonical(decision.get("shadow_hits") or []),
        "explanations": canonical(decision["explanations"]),
        "ruleset_version": decision["ruleset_version"],
        "model_name": decision["model_name"],
        "model_version": decision["model_version"],
        "note": RULES_ONLY_NOTE if decision["model_version"] is None else None,
        "latency_ms": decision["latency_ms"],
        "decided_at": decision["created_at"],
    }


def transaction_view(transaction: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": transaction["id"],
        "account_id": transaction["account_id"],
        "amount_minor": transaction["amount_minor"],
        "currency": transaction["currency"],
        "card": {
            "token": transaction["card_token"],
            "bin": transaction["card_bin"],
            "last4": transaction["card_last4"],
        },
        "merchant_id": transaction["merchant_id"],
        "merchant_category": transaction["merchant_category"],
        "merchant_country": transaction["merchant_country"],
        "channel": transaction["channel"],
        "device_id": transaction["device_id"],
        "ip": transaction["ip"],
        "user_id": transaction["user_id"],
        "occurred_at": transaction["occurred_at"],
        "created_at": transaction["created_at"],
        "decision": decision_view(decision),
    }


def audit_view(audit: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": audit["id"],
        "transaction_id": audit["transaction_id"],
        "inputs_snapshot": canonical(audit["inputs_snapshot"]),
        "rules_triggered": canonical(audit["rules_triggered"]),
        "latency_ms": audit["latency_ms"],
        "created_at": audit["created_at"],
    }
