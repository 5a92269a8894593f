"""One JSON Schema per event type: the contract consumers validate and docs/events/ publishes.

The schemas are built here, in code, so the API model of an inbound payment has one source;
`riskops events schemas` writes them to docs/events/ and a test keeps the two identical.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from riskops.decisions.requests import TransactionCreate
from riskops.events.envelope import (
    RISK_ASSESSED,
    TRANSACTION_CREATED,
    TRANSACTION_LABELLED,
    TRANSACTION_SUBMITTED,
)
from riskops.events.validation import compile_schema

Schema = dict[str, Any]
ULID_PATTERN = "^[0-9A-HJKMNP-TV-Z]{26}$"
TRACEPARENT_PATTERN = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
LABEL_SOURCES = ["chargeback", "analyst", "simulation", "backfill"]
OUTCOMES = ["approve", "review", "decline"]
CHANNELS = ["pos", "ecom", "atm", "moto"]

_STR = {"type": "string", "minLength": 1}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$"}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}


def _envelope(event_type: str, title: str, data: Schema) -> Schema:
    defs = data.pop("$defs", None)
    schema: Schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://riskops.dev/events/{event_type}.json",
        "title": title,
        "description": f"CloudEvents 1.0 structured-mode JSON envelope of `{event_type}`.",
        "type": "object",
        "required": ["specversion", "id", "type", "source", "time", "subject", "data"],
        "additionalProperties": False,
        "properties": {
            "specversion": {"const": "1.0"},
            "id": {"type": "string", "pattern": ULID_PATTERN},
            "type": {"const": event_type},
            "source": _STR,
            "subject": _STR,
            "time": _TIME,
            "datacontenttype": {"const": "application/json"},
            "traceparent": {"type": "string", "pattern": TRACEPARENT_PATTERN},
            "data": data,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _transaction_created() -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "account_id",
            "amount_minor",
            "currency",
            "card",
            "merchant_id",
            "merchant_category",
            "merchant_country",
            "channel",
            "device_id",
            "ip",
            "user_id",
            "occurred_at",
            "created_at",
        ],
        "properties": {
            "id": {"type": "string", "pattern": ULID_PATTERN},
            "account_id": _STR,
            "amount_minor": {"type": "integer", "exclusiveMinimum": 0},
            "currency": _CURRENCY,
            "card": {
                "type": "object",
                "additionalProperties": False,
                "required": ["token", "bin", "last4"],
                "properties": {
                    "token": _STR,
                    "bin": {"type": "string", "pattern": "^[0-9]{6,8}$"},
                    "last4": {"type": "string", "pattern": "^[0-9]{4}$"},
                },
            },
            "merchant_id": _STR,
            "merchant_category": {"type": "string", "pattern": "^[0-9]{4}$"},
            "merchant_country": _COUNTRY,
            "channel": {"enum": CHANNELS},
            "device_id": _NULLABLE_STR,
            "ip": _NULLABLE_STR,
            "user_id": _NULLABLE_STR,
            "occurred_at": _TIME,
            "created_at": _TIME,
        },
    }


def _risk_assessed() -> Schema:
    array = {"type": "array", "items": {"type": "object"}}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "transaction_id",
            "account_id",
            "amount_minor",
            "currency",
            "channel",
            "merchant_country",
            "status",
            "basis",
            "score",
            "score_source",
            "reason_codes",
            "rule_hits",
            "rule_errors",
            "explanations",
            "ruleset_version",
            "model_name",
            "model_version",
            "note",
            "latency_ms",
            "decided_at",
        ],
        "properties": {
            "transaction_id": {"type": "string", "pattern": ULID_PATTERN},
            "account_id": _STR,
            "amount_minor": {"type": "integer", "exclusiveMinimum": 0},
            "currency": _CURRENCY,
            "channel": {"enum": CHANNELS},
            "merchant_country": _COUNTRY,
            "status": {"enum": OUTCOMES},
            "basis": _STR,
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "score_source": {"enum": ["rules", "model"]},
            "reason_codes": {"type": "array", "items": {"type": "string"}},
            "rule_hits": array,
            "rule_errors": array,
            "explanations": array,
            "ruleset_version": _STR,
            "model_name": _NULLABLE_STR,
            "model_version": _NULLABLE_STR,
            "note": _NULLABLE_STR,
            "latency_ms": {"type": "number", "minimum": 0},
            "decided_at": _TIME,
        },
    }


def _transaction_submitted() -> Schema:
    # Exactly the body of POST /v1/transactions: one model, two doors.
    schema = TransactionCreate.model_json_schema()
    schema.pop("title", None)
    return schema


def _transaction_labelled() -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["label", "source", "labelled_at"],
        "description": "Names the transaction by its id, or by account and idempotency key "
        "(stream-submitted payments: the key is the submitting event's id).",
        "anyOf": [
            {"required": ["transaction_id"], "properties": {"transaction_id": _STR}},
            {
                "required": ["account_id", "idempotency_key"],
                "properties": {"account_id": _STR, "idempotency_key": _STR},
            },
        ],
        "properties": {
            "transaction_id": _NULLABLE_STR,
            "account_id": _NULLABLE_STR,
            "idempotency_key": _NULLABLE_STR,
            "label": {"enum": [0, 1], "description": "1 fraud, 0 genuine"},
            "source": {"enum": LABEL_SOURCES},
            "labelled_at": _TIME,
        },
    }


def event_schemas() -> dict[str, Schema]:
    return {
        TRANSACTION_CREATED: _envelope(
            TRANSACTION_CREATED, "TransactionCreated", _transaction_created()
        ),
        RISK_ASSESSED: _envelope(RISK_ASSESSED, "RiskAssessed", _risk_assessed()),
        TRANSACTION_SUBMITTED: _envelope(
            TRANSACTION_SUBMITTED, "TransactionSubmitted", _transaction_submitted()
        ),
        TRANSACTION_LABELLED: _envelope(
            TRANSACTION_LABELLED, "TransactionLabelled", _transaction_labelled()
        ),
    }


@cache
def validators() -> dict[str, Callable[[Any], str | None]]:
    """Per event type: returns None for a valid event, else the first violation."""
    return {name: compile_schema(schema) for name, schema in event_schemas().items()}


def schema_file(event_type: str) -> str:
    return f"{event_type.removeprefix('riskops.')}.json"


def write_schemas(folder: Path) -> list[Path]:
    """Write one file per event type; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, schema in event_schemas().items():
        path = folder / schema_file(event_type)
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n")
        written.append(path)
    return written
