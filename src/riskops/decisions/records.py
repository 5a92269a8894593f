"""Everything one decision writes, built from its assessment: the only place these shapes are made.

Rows are plain dicts for Core inserts and events plain dicts for the outbox, because this runs
for every payment; `decisions.schemas` holds the pydantic models the event contracts are
generated from, and a test holds what is built here to them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskops.core.ids import new_id
from riskops.core.payment import Payment
from riskops.decisions.assessment import Assessment
from riskops.decisions.policy import Outcome
from riskops.decisions.views import transaction_view
from riskops.decisions.writer import DecisionRows
from riskops.events.envelope import (
    ASSESSMENTS_TOPIC,
    RISK_ASSESSED,
    TRANSACTION_CREATED,
    TRANSACTIONS_TOPIC,
    cloud_event,
    outbox_row,
)
from riskops.features import FEATURE_DESCRIPTIONS
from riskops.observability import tracing

EVENT_SOURCE = "/riskops/decisions"
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    rows: DecisionRows  # what the writer stores in one transaction
    document: dict[str, Any]  # the API answer, also what both events carry


def decision_record(
    payment: Payment,
    assessment: Assessment,
    *,
    now: datetime,
    idempotency_key: str,
    request_hash: str,
    submitted_by: str,
    opens_account: bool,
) -> DecisionRecord:
    transaction = _transaction(payment, now)
    snapshot = {k: v for k, v in transaction.items() if k not in {"id", "created_at"}}
    snapshot["submitted_by"] = submitted_by
    snapshot["idempotency_key"] = idempotency_key
    transaction["idempotency_key"] = idempotency_key
    transaction["request_hash"] = request_hash
    decision = _decision(payment.transaction_id, assessment, now)
    audit = {
        "id": new_id(),
        "transaction_id": payment.transaction_id,
        "inputs_snapshot": snapshot,
        "rules_triggered": decision["rule_hits"],
        "latency_ms": assessment.latency_ms,
        "created_at": now,
    }
    document = transaction_view(transaction, decision)
    key = payment.account_id  # per-account order on the bus
    rows = DecisionRows(
        transaction=transaction,
        decision=decision,
        audit=audit,
        outbox=[
            outbox_row(TRANSACTIONS_TOPIC, key, transaction_created(document, now), now),
            outbox_row(ASSESSMENTS_TOPIC, key, risk_assessed(payment, document, now), now),
        ],
        ledger_entry=_debit(payment, now) if assessment.outcome is Outcome.APPROVE else None,
        new_account=(
            {"id": payment.account_id, "currency": payment.currency, "created_at": now}
            if opens_account
            else None
        ),
    )
    return DecisionRecord(rows, document)


def transaction_created(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`riskops.transaction.created.v1`: the transaction document without its decision."""
    return cloud_event(
        event_type=TRANSACTION_CREATED,
        source=EVENT_SOURCE,
        subject=document["id"],
        time=now,
        traceparent=tracing.current_traceparent(),
        data={k: v for k, v in document.items() if k != "decision"},
    )


def risk_assessed(payment: Payment, document: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`riskops.risk.assessed.v1`: the decision, with what analytics aggregates it by."""
    return cloud_event(
        event_type=RISK_ASSESSED,
        source=EVENT_SOURCE,
        subject=payment.transaction_id,
        time=now,
        traceparent=tracing.current_traceparent(),
        data={
            "transaction_id": payment.transaction_id,
            "account_id": payment.account_id,
            # So the analytics consumer needs no second event or query.
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "channel": payment.channel.value,
            "merchant_country": payment.merchant_country,
            **document["decision"],
        },
    )


def _transaction(payment: Payment, now: datetime) -> Row:
    return {
        "id": payment.transaction_id,
        "account_id": payment.account_id,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "card_token": payment.card_token,
        "card_bin": payment.card_bin,
        "card_last4": payment.card_last4,
        "merchant_id": payment.merchant_id,
        "merchant_category": payment.merchant_category,
        "merchant_country": payment.merchant_country,
        "channel": payment.channel.value,
        "device_id": payment.device_id,
        "ip": payment.ip,
        "user_id": payment.user_id,
        "occurred_at": payment.occurred_at,
        "created_at": now,
    }


def _decision(transaction_id: str, assessment: Assessment, now: datetime) -> Row:
    return {
        "transaction_id": transaction_id,
        "status": assessment.outcome.value,
        "basis": assessment.basis.value,
        "score": assessment.score,
        "score_source": assessment.score_source.value,
        "reason_codes": assessment.reason_codes,
        "rule_hits": [
            {
                "rule_id": hit.rule_id,
                "action": hit.action.value,
                "reason_code": hit.reason_code,
                "severity": hit.severity.value,
            }
            for hit in assessment.hits
        ],
        "shadow_hits": [
            {
                "rule_id": hit.rule_id,
                "action": hit.action.value,
                "reason_code": hit.reason_code,
                "severity": hit.severity.value,
            }
            for hit in assessment.shadow_hits
        ],
        "rule_errors": [
            {"rule_id": error.rule_id, "error": error.error_type.value, "message": error.message}
            for error in assessment.errors
        ],
        "explanations": [
            {
                "feature": c.feature,
                "value": c.value,
                "contribution": c.contribution,
                "description": FEATURE_DESCRIPTIONS.get(c.feature, c.feature),
            }
            for c in assessment.explanations
        ],
        "features": dict(assessment.features),
        "ruleset_version": assessment.ruleset_version,
        "model_name": assessment.model_name,
        "model_version": assessment.model_version,
        "latency_ms": assessment.latency_ms,
        "created_at": now,
    }


def _debit(payment: Payment, now: datetime) -> Row:
    """The ledger entry of an approved payment."""
    return {
        "id": new_id(),
        "account_id": payment.account_id,
        "transaction_id": payment.transaction_id,
        "amount_minor": -payment.amount_minor,
        "currency": payment.currency,
        "created_at": now,
    }
