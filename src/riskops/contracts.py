"""One JSON Schema per event type: the contract consumers validate and docs/events/ publishes.

An event's data is generated from the pydantic model that defines it (the API's own shapes,
so each has one source); `riskops events schemas` writes them to docs/events/ and a test keeps
the two identical.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from riskops.core.ids import ULID_PATTERN
from riskops.decisions.requests import TransactionCreate
from riskops.decisions.schemas import RiskAssessedData, TransactionCreatedData
from riskops.events.envelope import (
    RISK_ASSESSED,
    TRANSACTION_CREATED,
    TRANSACTION_LABELLED,
    TRANSACTION_SUBMITTED,
)
from riskops.events.validation import compile_schema

Schema = dict[str, Any]
TRACEPARENT_PATTERN = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
LABEL_SOURCES = ["chargeback", "analyst", "simulation", "backfill"]

_STR = {"type": "string", "minLength": 1}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}


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


def _data(model: type[BaseModel]) -> Schema:
    schema = model.model_json_schema()
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
            TRANSACTION_CREATED, "TransactionCreated", _data(TransactionCreatedData)
        ),
        RISK_ASSESSED: _envelope(RISK_ASSESSED, "RiskAssessed", _data(RiskAssessedData)),
        # Exactly the body of POST /v1/transactions: one model, two doors.
        TRANSACTION_SUBMITTED: _envelope(
            TRANSACTION_SUBMITTED, "TransactionSubmitted", _data(TransactionCreate)
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
