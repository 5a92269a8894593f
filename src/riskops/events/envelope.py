"""CloudEvents 1.0 (structured JSON mode) envelopes for everything RiskOps publishes."""

from datetime import datetime
from typing import Any

import orjson

from riskops.core.ids import new_id

SPEC_VERSION = "1.0"

# Topics and event types: `riskops.<domain>.<past-tense-verb>.v<N>`.
TRANSACTIONS_TOPIC = "transactions.v1"
ASSESSMENTS_TOPIC = "risk.assessments.v1"
TRANSACTION_CREATED = "riskops.transaction.created.v1"
RISK_ASSESSED = "riskops.risk.assessed.v1"


def cloud_event(
    *,
    event_type: str,
    source: str,
    subject: str,
    time: datetime,
    data: dict[str, Any],
    traceparent: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": new_id(),
        "type": event_type,
        "source": source,
        "subject": subject,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    if traceparent:
        event["traceparent"] = traceparent
    return event


def outbox_row(topic: str, key: str, event: dict[str, Any], created_at: datetime) -> dict[str, Any]:
    """The outbox row that carries one event until the relay publishes it."""
    return {
        "id": event["id"],
        "topic": topic,
        "key": key,
        "event_type": event["type"],
        "payload": event,
        "created_at": created_at,
        "published_at": None,
    }


# Produced by upstream systems straight to the stream; scored by the `risk` consumer.
INBOUND_TOPIC = "transactions.inbound.v1"
TRANSACTION_SUBMITTED = "riskops.transaction.submitted.v1"
# Fraud outcomes that arrive later: chargebacks, analyst labels.
LABELS_TOPIC = "labels.v1"
TRANSACTION_LABELLED = "riskops.transaction.labelled.v1"
TOPICS = (TRANSACTIONS_TOPIC, ASSESSMENTS_TOPIC, INBOUND_TOPIC, LABELS_TOPIC)
CONTENT_TYPE = "application/cloudevents+json"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def headers_for(event: dict[str, Any]) -> dict[str, str]:
    """Kafka headers of a structured-mode CloudEvent: routing without parsing the body."""
    headers = {"content-type": CONTENT_TYPE, "ce_type": str(event.get("type", ""))}
    if event.get("traceparent"):
        headers["traceparent"] = str(event["traceparent"])
    return headers
