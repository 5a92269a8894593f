"""Rows to API documents. Fresh decisions and idempotent replays both go through here."""

from collections.abc import Mapping
from typing import Any

from riskops.decisions.scoring import RULES_ONLY_NOTE


def decision_view(decision: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": decision["status"],
        "basis": decision["basis"],
        "score": decision["score"],
        "score_source": decision["score_source"],
        "reason_codes": decision["reason_codes"],
        "rule_hits": decision["rule_hits"],
        "rule_errors": decision["rule_errors"],
        "explanations": decision["explanations"],
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
        "inputs_snapshot": audit["inputs_snapshot"],
        "rules_triggered": audit["rules_triggered"],
        "latency_ms": audit["latency_ms"],
        "created_at": audit["created_at"],
    }
