"""The hot path: one payment in, one durable decision out.

Everything that can be computed is computed before the write (features, rules, model, policy);
then the transaction, decision, audit, ledger entry and outbox events are written in one
database transaction by the group-commit writer. No network call happens inside it.
"""

import asyncio
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from riskops.auth.service import Principal
from riskops.core.errors import Conflict, Unprocessable
from riskops.core.ids import new_id
from riskops.core.payment import Payment
from riskops.decisions import repository
from riskops.decisions.cards import tokenise
from riskops.decisions.feed import DecisionFeed
from riskops.decisions.lookup import IdempotencyLookup, LookupKey, Stored
from riskops.decisions.policy import Outcome, Thresholds, decide
from riskops.decisions.requests import TransactionCreate
from riskops.decisions.scoring import Scorer, rules_only_score
from riskops.decisions.views import transaction_view
from riskops.decisions.writer import DecisionRows, DecisionWriter
from riskops.events.envelope import (
    ASSESSMENTS_TOPIC,
    RISK_ASSESSED,
    TRANSACTION_CREATED,
    TRANSACTIONS_TOPIC,
    cloud_event,
    outbox_row,
)
from riskops.features import FEATURE_DESCRIPTIONS, OnlineStore, compute_features
from riskops.rules import RulesEngine, transaction_variables

EVENT_SOURCE = "/riskops/decisions"
TOP_EXPLANATIONS = 5


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class CurrencyMismatch(Unprocessable):
    code = "currency_mismatch"


@dataclass(frozen=True, slots=True)
class DecisionResult:
    document: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, slots=True)
class _Claim:
    request_hash: str
    done: asyncio.Future[dict[str, Any]]


class DecisionPipeline:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        lookup: IdempotencyLookup,
        writer: DecisionWriter,
        store: OnlineStore,
        rules: RulesEngine,
        thresholds: Thresholds,
        token_secret: bytes,
        scorer: Scorer | None = None,
    ) -> None:
        self._engine = engine
        self._lookup = lookup
        self._writer = writer
        self._store = store
        self.rules = rules
        self.scorer = scorer
        self._thresholds = thresholds
        self._secret = token_secret
        self._currencies: dict[str, str] = {}  # account currencies never change once set
        self._inflight: dict[tuple[str, str], _Claim] = {}
        self.feed = DecisionFeed()  # the console's live view; a no-op without subscribers

    def use_scorer(self, scorer: Scorer | None) -> None:
        """Score with `scorer` from the next decision on; None: the rules alone."""
        self.scorer = scorer

    async def submit(
        self, request: TransactionCreate, idempotency_key: str, principal: Principal
    ) -> DecisionResult:
        started = time.perf_counter()
        scope = (request.account_id, idempotency_key)
        request_hash = self._request_hash(request)
        # Concurrent retries in this process wait for the first attempt instead of racing it.
        while (claim := self._inflight.get(scope)) is not None:
            try:
                document = await asyncio.shield(claim.done)
            except Exception:  # noqa: S112 - the first attempt failed: this one may proceed
                continue
            return self._replay(document, claim.request_hash, request_hash, idempotency_key)
        claim = _Claim(request_hash, asyncio.get_running_loop().create_future())
        self._inflight[scope] = claim
        try:
            result = await self._submit(request, idempotency_key, request_hash, principal, started)
            claim.done.set_result(result.document)
            return result
        except BaseException as error:
            claim.done.set_exception(error)
            claim.done.exception()  # mark retrieved: waiters decide what to do with it
            raise
        finally:
            del self._inflight[scope]

    async def _submit(
        self,
        request: TransactionCreate,
        idempotency_key: str,
        request_hash: str,
        principal: Principal,
        started: float,
    ) -> DecisionResult:
        found = await self._lookup.submit(LookupKey(request.account_id, idempotency_key))
        if found.stored is not None:
            document = await self._stored_document(found.stored)
            return self._replay(document, found.stored.request_hash, request_hash, idempotency_key)
        new_account = self._claim_currency(request.account_id, request.currency, found.currency)

        now = datetime.now(UTC)
        card = tokenise(request.card_number.get_secret_value(), self._secret)
        payment = Payment(
            transaction_id=new_id(),
            account_id=request.account_id,
            card_token=card.token,
            card_bin=card.bin,
            card_last4=card.last4,
            amount_minor=request.amount_minor,
            currency=request.currency,
            merchant_id=request.merchant_id,
            merchant_category=request.merchant_category,
            merchant_country=request.merchant_country,
            channel=request.channel,
            occurred_at=request.occurred_at or now,
            device_id=request.device_id,
            ip=str(request.ip) if request.ip is not None else None,
            user_id=request.user_id,
        )
        rows = self._evaluate(payment, await compute_features(self._store, payment), started, now)
        rows.transaction["idempotency_key"] = idempotency_key
        rows.transaction["request_hash"] = request_hash
        rows.audit["inputs_snapshot"]["submitted_by"] = principal.key_id
        rows.audit["inputs_snapshot"]["idempotency_key"] = idempotency_key
        if new_account:
            rows.new_account = {
                "id": payment.account_id,
                "currency": payment.currency,
                "created_at": now,
            }
        if await self._writer.submit(rows):
            document = transaction_view(rows.transaction, rows.decision)
            self.feed.publish(document)
            return DecisionResult(document, replayed=False)
        # Another process stored this key between our lookup and our write.
        found = await self._lookup.submit(LookupKey(request.account_id, idempotency_key))
        assert found.stored is not None, "the writer reported a clash on a key that is not stored"
        document = await self._stored_document(found.stored)
        return self._replay(document, found.stored.request_hash, request_hash, idempotency_key)

    def _evaluate(
        self, payment: Payment, features: Mapping[str, float | int], started: float, now: datetime
    ) -> DecisionRows:
        variables: dict[str, object] = {**features, **transaction_variables(payment)}
        evaluation = self.rules.evaluate(variables)
        hits = [
            {
                "rule_id": hit.rule_id,
                "action": hit.action.value,
                "reason_code": hit.reason_code,
                "severity": hit.severity.value,
            }
            for hit in evaluation.hits
        ]
        errors = [
            {"rule_id": err.rule_id, "error": err.error_type, "message": err.message}
            for err in evaluation.errors
        ]
        explanations: list[dict[str, Any]] = []
        if self.scorer is None:
            score = rules_only_score(hit.severity.weight for hit in evaluation.hits)
            model_name = model_version = None
            score_source = "rules"
        else:
            model_score = self.scorer.score(
                features, card=payment.card_token, subject=payment.transaction_id
            )
            score, model_name, model_version = (
                model_score.score,
                model_score.model_name,
                model_score.model_version,
            )
            score_source = "model"
            top = sorted(model_score.contributions, key=lambda c: -abs(c.contribution))
            explanations = [
                {
                    "feature": c.feature,
                    "value": c.value,
                    "contribution": c.contribution,
                    "description": FEATURE_DESCRIPTIONS.get(c.feature, c.feature),
                }
                for c in top[:TOP_EXPLANATIONS]
            ]
        outcome, basis = decide([h["action"] for h in hits], score, self._thresholds)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)

        txn_id = payment.transaction_id
        transaction = {
            "id": txn_id,
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
        decision = {
            "transaction_id": txn_id,
            "status": outcome.value,
            "basis": basis.value,
            "score": score,
            "score_source": score_source,
            "reason_codes": list(dict.fromkeys(h["reason_code"] for h in hits)),
            "rule_hits": hits,
            "rule_errors": errors,
            "explanations": explanations,
            "features": dict(features),
            "ruleset_version": self.rules.ruleset.version,
            "model_name": model_name,
            "model_version": model_version,
            "latency_ms": latency_ms,
            "created_at": now,
        }
        snapshot = {k: v for k, v in transaction.items() if k not in {"id", "created_at"}}
        audit = {
            "id": new_id(),
            "transaction_id": txn_id,
            "inputs_snapshot": snapshot,
            "rules_triggered": hits,
            "latency_ms": latency_ms,
            "created_at": now,
        }
        document = transaction_view(transaction, decision)
        created = cloud_event(
            event_type=TRANSACTION_CREATED,
            source=EVENT_SOURCE,
            subject=txn_id,
            time=now,
            data={k: v for k, v in document.items() if k != "decision"},
        )
        assessed = cloud_event(
            event_type=RISK_ASSESSED,
            source=EVENT_SOURCE,
            subject=txn_id,
            time=now,
            data={
                "transaction_id": txn_id,
                "account_id": payment.account_id,
                # What analytics aggregates by, so its consumer needs no second event or query.
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "channel": payment.channel.value,
                "merchant_country": payment.merchant_country,
                **document["decision"],
            },
        )
        entry = None
        if outcome is Outcome.APPROVE:
            entry = {
                "id": new_id(),
                "account_id": payment.account_id,
                "transaction_id": txn_id,
                "amount_minor": -payment.amount_minor,
                "currency": payment.currency,
                "created_at": now,
            }
        return DecisionRows(
            transaction=transaction,
            decision=decision,
            audit=audit,
            ledger_entry=entry,
            outbox=[
                outbox_row(TRANSACTIONS_TOPIC, payment.account_id, created, now),
                outbox_row(ASSESSMENTS_TOPIC, payment.account_id, assessed, now),
            ],
        )

    def _request_hash(self, request: TransactionCreate) -> str:
        # Only what the caller sent counts (a defaulted occurred_at must not differ on retry).
        # Keyed, because the body holds the card number.
        body = request.model_dump(mode="json", exclude_unset=True)
        body["card_number"] = request.card_number.get_secret_value()
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        return hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()

    async def _stored_document(self, stored: Stored) -> dict[str, Any]:
        async with self._engine.connect() as connection:
            document = await repository.get_transaction(connection, stored.transaction_id)
        assert document is not None, "an idempotency hit points at a missing transaction"
        return document

    def _claim_currency(self, account_id: str, currency: str, stored: str | None) -> bool:
        """Check the currency against the account's; True if the account row must be written.

        A payment whose account is not stored yet always carries the account row (inserts skip
        existing ones), so it never depends on a concurrent opener's batch landing first.
        """
        known = stored or self._currencies.get(account_id)
        if known is None:
            # No await between the check and the claim, so concurrent openers see each other.
            self._currencies[account_id] = currency
            return True
        if known != currency:
            raise CurrencyMismatch(
                f"account {account_id} holds {known}; a payment in {currency} cannot post to it",
                {"field": "currency", "account_currency": known, "given": currency},
            )
        if len(self._currencies) > 100_000:
            self._currencies.clear()
        self._currencies[account_id] = known
        return stored is None

    @staticmethod
    def _replay(
        document: dict[str, Any], stored_hash: str, request_hash: str, idempotency_key: str
    ) -> DecisionResult:
        if not hmac.compare_digest(stored_hash, request_hash):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request body",
                {"idempotency_key": idempotency_key, "transaction_id": document["id"]},
            )
        return DecisionResult(document, replayed=True)
