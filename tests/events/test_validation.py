"""The compiled contract validator agrees with the reference jsonschema validator."""

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from riskops.contracts import event_schemas, validators
from riskops.db.types import utcnow
from riskops.events.envelope import RISK_ASSESSED, TRANSACTION_CREATED
from riskops.events.validation import SchemaError, compile_schema
from riskops.simulation.generator import Simulator
from riskops.simulation.service import label_event, submitted_event

ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, 2, "", "x", "DE", [], [1], {}, {"a": 1}, 10**13]


def samples() -> Iterator[dict[str, Any]]:
    simulator = Simulator(seed=9, start=utcnow(), rate=1000)
    for index in range(40):
        simulated = simulator.next()
        yield submitted_event(simulated)
        yield label_event(simulated, None if index % 2 else "01JTESTTRANSACTION00000000", utcnow())


def assessed() -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "type": RISK_ASSESSED,
        "source": "/riskops/decisions", "subject": "01JAAAAAAAAAAAAAAAAAAAAAAA",
        "time": "2026-11-22T03:00:00Z", "datacontenttype": "application/json",
        "data": {
            "transaction_id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "account_id": "a", "amount_minor": 100,
            "currency": "USD", "channel": "pos", "merchant_country": "DE", "status": "approve",
            "basis": "score", "score": 0.1, "score_source": "rules", "reason_codes": ["A"],
            "rule_hits": [
                {"rule_id": "x", "action": "review", "reason_code": "A", "severity": "low"}
            ],
            "rule_errors": [
                {"rule_id": "y", "error": "missing_variable", "message": "not supplied"}
            ],
            "explanations": [
                {"feature": "f", "value": 1.0, "contribution": 0.2, "description": "an f"}
            ],
            "ruleset_version": "1.0.0", "model_name": None, "model_version": None, "note": "n",
            "latency_ms": 1.2, "decided_at": "2026-11-22T03:00:00+00:00",
        },
    }  # fmt: skip


def mutations(document: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    """Each field (two levels deep) replaced by odd values, removed, and one extra added."""
    for key in list(document):
        for value in ODD_VALUES:
            yield {**document, key: value}
        yield {k: v for k, v in document.items() if k != key}
    yield {**document, "extra": 1}
    data = document.get("data")
    if isinstance(data, dict):
        for key in list(data):
            for value in rng.sample(ODD_VALUES, 6):
                changed = copy.deepcopy(document)
                changed["data"][key] = value
                yield changed
            changed = copy.deepcopy(document)
            del changed["data"][key]
            yield changed


def test_compiled_validators_agree_with_jsonschema() -> None:
    rng = random.Random(4)
    schemas = event_schemas()
    compared = rejected = 0
    for document in [*samples(), assessed()]:
        reference = Draft202012Validator(schemas[document["type"]])
        compiled = validators()[document["type"]]
        assert compiled(document) is None and reference.is_valid(document)
        for mutated in mutations(document, rng):
            expected = reference.is_valid(mutated)
            assert (compiled(mutated) is None) == expected, mutated
            compared += 1
            rejected += not expected
    assert compared > 5000 and rejected > compared // 2  # the mutations really probe the rules


def test_created_events_and_unsupported_keywords() -> None:
    schema = event_schemas()[TRANSACTION_CREATED]
    assert compile_schema(schema)({"type": TRANSACTION_CREATED}) is not None
    with pytest.raises(SchemaError):
        compile_schema({"type": "object", "patternProperties": {}})
    with pytest.raises(SchemaError):
        compile_schema({"$ref": "https://example.com/x.json"})
