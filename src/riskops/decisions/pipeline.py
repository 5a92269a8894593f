"""The hot path: one payment in, one durable decision out.

Everything that can be computed is computed before the write (features, rules, model, policy);
then the transaction, decision, audit, ledger entry and outbox events are written in one
database transaction by the group-commit writer. No network call happens inside it.
"""

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
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
from riskops.decisions.assessment import assess
from riskops.decisions.cards import tokenise
from riskops.decisions.feed import DecisionFeed
from riskops.decisions.lookup import IdempotencyLookup, LookupKey, Stored
from riskops.decisions.policy import Thresholds
from riskops.decisions.records import decision_record
from riskops.decisions.requests import TransactionCreate
from riskops.decisions.scoring import Scorer
from riskops.decisions.writer import DecisionWriter
from riskops.features import OnlineStore, compute_features
from riskops.observability import tracing
from riskops.observability.metrics import DECISION_LATENCY, DECISION_SCORE, DECISIONS
from riskops.rules import RulesEngine


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

    def forget_accounts(self) -> None:
        """Drop the account-currency cache: the accounts were emptied (admin reset)."""
        self._currencies.clear()

    def use_scorer(self, scorer: Scorer | None) -> None:
        """Score with `scorer` from the next decision on; None: the rules alone."""
        self.scorer = scorer

    def use_rules(self, rules: RulesEngine) -> None:
        """Evaluate with `rules` from the next decision on; one in flight keeps the engine it
        read, so every decision is evaluated by exactly one ruleset version."""
        self.rules = rules

    async def submit(
        self,
        request: TransactionCreate,
        idempotency_key: str,
        principal: Principal,
        admit: Callable[[], None] | None = None,
    ) -> DecisionResult:
        """Decide `request`, or replay the answer stored under its idempotency key.

        `admit` runs once the request is known not to be a replay, before any work is spent
        on it; it raises to refuse (the rate limit), so a stored answer is always replayed."""
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
            result = await self._submit(
                request, idempotency_key, request_hash, principal, started, admit
            )
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
        admit: Callable[[], None] | None,
    ) -> DecisionResult:
        """ARCHITECTURE's decision path from step 2: idempotency, features, rules, model and
        policy (the assessment, outside any transaction), one durable write, the answer."""
        with tracing.stage("decision.idempotency_lookup"):
            found = await self._lookup.submit(LookupKey(request.account_id, idempotency_key))
        if found.stored is not None:
            document = await self._stored_document(found.stored)
            return self._replay(document, found.stored.request_hash, request_hash, idempotency_key)
        if admit is not None:
            admit()
        opens_account = self._claim_currency(request.account_id, request.currency, found.currency)
        now = datetime.now(UTC)
        payment = self._payment(request, now)
        with tracing.stage("decision.features"):
            features = await compute_features(self._store, payment)
        with tracing.stage("decision.assess"):  # rules, model and policy
            assessment = assess(
                payment,
                features,
                rules=self.rules,
                scorer=self.scorer,
                thresholds=self._thresholds,
                started=started,
            )
        record = decision_record(
            payment,
            assessment,
            now=now,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            submitted_by=principal.key_id,
            opens_account=opens_account,
        )
        with tracing.stage("decision.write"):  # one group-committed transaction
            written = await self._writer.submit(record.rows)
        if written:
            # Counted once durable: a replay or a lost race is not a new decision.
            DECISIONS.labels(assessment.outcome.value).inc()
            DECISION_LATENCY.observe(assessment.latency_ms / 1000)
            DECISION_SCORE.labels(assessment.score_source.value).observe(assessment.score)
            self.feed.publish(record.document)
            return DecisionResult(record.document, replayed=False)
        # Another process stored this key between our lookup and our write.
        found = await self._lookup.submit(LookupKey(request.account_id, idempotency_key))
        assert found.stored is not None, "the writer reported a clash on a key that is not stored"
        document = await self._stored_document(found.stored)
        return self._replay(document, found.stored.request_hash, request_hash, idempotency_key)

    def _payment(self, request: TransactionCreate, now: datetime) -> Payment:
        """The validated request as the pipeline sees it: the card number tokenised."""
        card = tokenise(request.card_number.get_secret_value(), self._secret)
        return Payment(
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
