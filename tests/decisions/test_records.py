"""One assessment in, the rows and both events out: built fast, and held to the contracts."""

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from riskops.contracts import schema_file, validators
from riskops.core.ids import new_id
from riskops.core.payment import Channel, Payment
from riskops.decisions.assessment import Assessment, assess
from riskops.decisions.policy import Basis, Outcome, Thresholds
from riskops.decisions.records import decision_record
from riskops.decisions.schemas import RiskAssessedData, TransactionCreatedData, TransactionOut
from riskops.decisions.scoring import Contribution, ModelScore, ScoreSource
from riskops.events.envelope import RISK_ASSESSED, TRANSACTION_CREATED
from riskops.rules import RuleAction, RuleErrorType, RulesEngine, Severity
from tests.rules.support import rule, ruleset

DOCS = Path(__file__).parents[2] / "docs" / "events"
THRESHOLDS = Thresholds(review=0.5, decline=0.85)
NOW = datetime(2026, 11, 22, 3, 0, 0, 123456, tzinfo=UTC)
RULES = RulesEngine(
    ruleset(
        rule("large", "amount_minor >= 10000", severity=Severity.HIGH),
        rule(
            "trusted",
            'merchant_id == "m-trusted"',
            action=RuleAction.APPROVE_OVERRIDE,
            severity=Severity.LOW,
        ),
        rule("busy_card", "card_count_1h > 3"),  # its feature is never supplied: an error
        rule("everyone", "true", action=RuleAction.TAG, severity=Severity.LOW),
    )
)


class Champion:
    """A served model at a fixed score, with more contributions than a decision keeps."""

    def __init__(self, score: float) -> None:
        self._score = score

    def score(self, features: Mapping[str, float | int], *, card: str, subject: str) -> ModelScore:
        pushes = [Contribution(f"f{i}", float(i), (-1) ** i * i / 10) for i in range(8)]
        return ModelScore(self._score, "fraud-gbm", "7", pushes)


def payment(**changes: Any) -> Payment:
    base = Payment(
        transaction_id=new_id(),
        account_id="acct-1",
        card_token="tok_abc",
        card_bin="411111",
        card_last4="1111",
        amount_minor=12_500,
        currency="EUR",
        merchant_id="m-1",
        merchant_category="5411",
        merchant_country="DE",
        channel=Channel.ECOM,
        occurred_at=datetime(2026, 11, 22, 2, 59, tzinfo=UTC),
        device_id="dev-1",
        ip="203.0.113.9",
        user_id=None,
    )
    return replace(base, **changes)


def assessed(paid: Payment, champion: float | None) -> Assessment:
    scorer = Champion(champion) if champion is not None else None
    return assess(
        paid,
        {"card_count_5m": 1},
        rules=RULES,
        scorer=scorer,
        thresholds=THRESHOLDS,
        started=time.perf_counter(),
    )


def record(paid: Payment, assessment: Assessment, opens_account: bool = False) -> Any:
    return decision_record(
        paid,
        assessment,
        now=NOW,
        idempotency_key="key-1",
        request_hash="hash-1",
        submitted_by="key_service",
        opens_account=opens_account,
    )


def as_json(value: Any) -> Any:
    """What the outbox, the bus and the API carry: the dicts as JSON."""
    return orjson.loads(orjson.dumps(value))


def test_a_review_rule_cannot_lower_the_champions_decline() -> None:
    # Defect 0 end to end: scored 0.998, a review rule hit; the payment is declined by score.
    assessment = assessed(payment(), champion=0.998)
    assert [hit.rule_id for hit in assessment.hits] == ["large", "everyone"]
    assert (assessment.outcome, assessment.basis) == (Outcome.DECLINE, Basis.SCORE)
    assert assessment.score_source is ScoreSource.MODEL
    assert [c.feature for c in assessment.explanations] == ["f7", "f6", "f5", "f4", "f3"]
    assert [e.rule_id for e in assessment.errors] == ["busy_card"]
    assert assessment.errors[0].error_type is RuleErrorType.MISSING_VARIABLE
    rows = record(payment(), assessment).rows
    assert rows.decision["status"] == "decline" and rows.decision["basis"] == "score"
    assert rows.ledger_entry is None


def test_an_allow_list_rule_approves_against_the_score_and_says_so() -> None:
    paid = payment(merchant_id="m-trusted", amount_minor=900)
    assessment = assessed(paid, champion=0.95)
    assert (assessment.outcome, assessment.basis) == (Outcome.APPROVE, Basis.OVERRIDE)
    rows = record(paid, assessment).rows
    assert rows.decision["basis"] == "override"
    assert rows.ledger_entry is not None and rows.ledger_entry["amount_minor"] == -900


def test_rows_carry_the_assessment_and_who_submitted_it() -> None:
    paid = payment(amount_minor=900)
    assessment = assessed(paid, champion=None)
    assert assessment.score_source is ScoreSource.RULES and assessment.explanations == ()
    built = record(paid, assessment, opens_account=True)
    rows = built.rows
    assert rows.transaction["id"] == rows.decision["transaction_id"] == paid.transaction_id
    assert rows.transaction["idempotency_key"] == "key-1"
    assert rows.transaction["request_hash"] == "hash-1"
    assert rows.decision["reason_codes"] == ["EVERYONE"]
    assert rows.decision["rule_errors"] == [
        {
            "rule_id": "busy_card",
            "error": "missing_variable",
            "message": "card_count_1h: not supplied",
        }
    ]
    assert rows.decision["features"] == {"card_count_5m": 1}
    assert rows.audit["inputs_snapshot"]["submitted_by"] == "key_service"
    assert rows.audit["inputs_snapshot"]["idempotency_key"] == "key-1"
    assert "request_hash" not in rows.audit["inputs_snapshot"]
    assert rows.audit["rules_triggered"] == rows.decision["rule_hits"]
    assert rows.new_account == {"id": "acct-1", "currency": "EUR", "created_at": NOW}
    assert rows.ledger_entry is not None  # approved
    assert [row["key"] for row in rows.outbox] == ["acct-1", "acct-1"]
    assert built.document["decision"]["status"] == "approve"


def committed(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(orjson.loads((DOCS / schema_file(event_type)).read_bytes()))


@pytest.mark.parametrize(
    ("changes", "champion"),
    [
        ({}, None),
        ({}, 0.998),
        ({"merchant_id": "m-trusted", "amount_minor": 900}, 0.95),
        ({"channel": Channel.POS, "device_id": None, "ip": None, "user_id": "u-1"}, 0.2),
    ],
    ids=["rules-only", "model-decline", "override", "card-present"],
)
def test_built_events_and_answers_match_the_generated_contracts(
    changes: dict[str, Any], champion: float | None
) -> None:
    paid = payment(**changes)
    built = record(paid, assessed(paid, champion))
    events = {row["event_type"]: as_json(row["payload"]) for row in built.rows.outbox}
    assert set(events) == {TRANSACTION_CREATED, RISK_ASSESSED}
    for event_type, event in events.items():
        assert validators()[event_type](event) is None  # what consumers run
        errors = [error.message for error in committed(event_type).iter_errors(event)]
        assert errors == []  # the published docs/events/ copy, by the reference validator
    TransactionCreatedData.model_validate(events[TRANSACTION_CREATED]["data"])
    assessment = RiskAssessedData.model_validate(events[RISK_ASSESSED]["data"])
    assert assessment.transaction_id == paid.transaction_id
    answer = TransactionOut.model_validate(as_json(built.document))
    assert answer.decision.status == assessment.status
