"""Replaying two rulesets over stored decisions: what the candidate would have done instead.

Pure computation on rows already read. Each decision is evaluated with the decision path's own
pieces (`transaction_variables`, `RulesEngine.evaluate`, `rules_only_score`, `decide`), so a
replay of the version that decided live gives the live outcome back.

Rules present in both rulesets with identical content give identical hits, so they are
evaluated once for both (one shared engine): most of a draft is unchanged, which halves the
work. A decision that the active version itself made live already holds that version's hits
(the decision path recorded them), so its active side is read rather than re-evaluated and
only the draft's new or changed rules run: replay equals live by construction, and a typical
draft costs one or two rule evaluations per decision. Feature vectors are parsed only when a
rule that must run reads a feature. Shadow rules are measured, never counted towards an outcome.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from riskops.core.outcome import Outcome
from riskops.core.payment import Channel, Payment
from riskops.decisions.policy import Thresholds, decide
from riskops.decisions.scoring import rules_only_score
from riskops.rules import (
    RuleAction,
    RulesEngine,
    Severity,
    transaction_variable_names,
    transaction_variables,
)
from riskops.rules.lists import ListSnapshot
from riskops.rulesets.content import RuleDict
from riskops.rulesets.validation import build_ruleset

OUTCOMES = tuple(outcome.value for outcome in Outcome)
TOP_HITS = 20


@dataclass(frozen=True, slots=True)
class StoredDecision:
    transaction_id: str
    payment: Payment
    features: Mapping[str, Any] | str  # a mapping, or its JSON text (parsed only if needed)
    score: float
    score_source: str  # "model" keeps its stored score; "rules" is recomputed from the hits
    label: int | None  # latest known label: 1 fraud, 0 genuine
    ruleset_version: str = ""  # the version that decided it live
    rule_hits: Sequence[Mapping[str, Any]] = ()  # the hits that version recorded


@dataclass
class _Tally:
    hits: int = 0
    labelled_hits: int = 0
    fraud_hits: int = 0


@dataclass
class Replay:
    """Accumulates figures chunk by chunk (the job reports progress between chunks)."""

    active_rules: list[RuleDict]
    candidate_rules: list[RuleDict]
    thresholds: Thresholds
    # The active version's number: its own live decisions' recorded hits are used as they are.
    active_version: int | None = None
    lists: ListSnapshot | None = None  # the lists as they are now (None: the shipped, empty)
    total: int = 0
    labelled: int = 0
    frauds: int = 0
    outcome_changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    amount_changed: Counter[str] = field(default_factory=Counter)
    per_rule: dict[tuple[str, str], _Tally] = field(default_factory=dict)
    totals: dict[str, _Tally] = field(default_factory=dict)
    top: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        active = {rule["id"]: rule for rule in self.active_rules}
        candidate = {rule["id"]: rule for rule in self.candidate_rules}
        shared = [rule for rule_id, rule in candidate.items() if active.get(rule_id) == rule]
        shared_ids = {rule["id"] for rule in shared}
        self._shared = _engine(shared, self.lists)
        self._active_only = _engine(
            [r for r in self.active_rules if r["id"] not in shared_ids], self.lists
        )
        self._candidate_only = _engine(
            [r for r in self.candidate_rules if r["id"] not in shared_ids], self.lists
        )
        self._active = active
        self._active_ids = set(active)
        self._new_ids = {r["id"] for r in self.candidate_rules if r["id"] not in shared_ids}
        self._candidate_ids = set(candidate)
        self._mode = {
            **{("active", r["id"]): r["mode"] for r in self.active_rules},
            **{("candidate", r["id"]): r["mode"] for r in self.candidate_rules},
        }
        self.totals = {"active": _Tally(), "candidate": _Tally()}
        self._shared_ids = shared_ids
        # Today's engine records no hits of shadow rules: with one in the active version, its
        # live records are incomplete and every decision is evaluated.
        trusted = self.active_version is not None and all(
            rule["mode"] == "active" for rule in self.active_rules
        )
        self._trusted_version = str(self.active_version) if trusted else None
        plain = set(transaction_variable_names())
        self._candidate_needs_features = bool(
            self._candidate_only is not None and self._candidate_only.variables - plain
        )

    def add(self, decisions: Iterable[StoredDecision]) -> None:
        for decision in decisions:
            self._add(decision)

    def _add(self, decision: StoredDecision) -> None:
        if self._trusted_version is not None and decision.ruleset_version == self._trusted_version:
            live = [_stored_hit(hit) for hit in decision.rule_hits]
            if self._candidate_needs_features:
                variables = _variables(decision)
            else:
                variables = transaction_variables(decision.payment)
            sides = {
                "active": live,
                "candidate": [h for h in live if h[0] in self._shared_ids]
                + _hits(self._candidate_only, variables),
            }
        else:
            variables = _variables(decision)
            shared = _hits(self._shared, variables)
            sides = {
                "active": shared + _hits(self._active_only, variables),
                "candidate": shared + _hits(self._candidate_only, variables),
            }
        self.total += 1
        label = decision.label
        if label is not None:
            self.labelled += 1
            self.frauds += label
        outcomes = {}
        for side, hits in sides.items():
            counted = [h for h in hits if self._mode[(side, h[0])] == "active"]
            for rule_id, _, _ in hits:
                _count(self.per_rule.setdefault((side, rule_id), _Tally()), label)
            if counted:
                _count(self.totals[side], label)
            outcomes[side] = _outcome(decision, counted, self.thresholds)
        before, after = outcomes["active"], outcomes["candidate"]
        self.outcome_changes[(before, after)] += 1
        payment = decision.payment
        if before != after:
            self.amount_changed[payment.currency] += payment.amount_minor
        # What an approver must look at: payments the draft's new or changed rules hit, or
        # whose outcome it changes (a removed rule); not what the unchanged rules already do.
        touched = [h[0] for h in sides["candidate"] if h[0] in self._new_ids]
        if touched or before != after:
            self._keep_top(decision, [h[0] for h in sides["candidate"]], before, after)

    def _keep_top(
        self, decision: StoredDecision, rule_ids: list[str], before: str, after: str
    ) -> None:
        payment = decision.payment
        if len(self.top) >= TOP_HITS and payment.amount_minor <= self.top[-1]["amount_minor"]:
            return
        self.top.append(
            {
                "transaction_id": decision.transaction_id,
                "occurred_at": payment.occurred_at.isoformat(),
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "merchant_id": payment.merchant_id,
                "rules": rule_ids,
                "active_outcome": before,
                "candidate_outcome": after,
                "label": decision.label,
            }
        )
        self.top.sort(key=lambda hit: -hit["amount_minor"])
        del self.top[TOP_HITS:]

    def _status(self, rule: RuleDict) -> str:
        old = self._active.get(rule["id"])
        if old is None:
            return "added"
        return "unchanged" if old == rule else "changed"

    def result(self) -> dict[str, Any]:
        def figures(tally: _Tally) -> dict[str, Any]:
            return {
                "hits": tally.hits,
                "hit_rate": tally.hits / self.total if self.total else 0.0,
                "labelled_hits": tally.labelled_hits,
                "fraud_hits": tally.fraud_hits,
                "precision": tally.fraud_hits / tally.labelled_hits
                if tally.labelled_hits
                else None,
                "recall": tally.fraud_hits / self.frauds if self.frauds else None,
            }

        rules = []
        for rule in self.candidate_rules:
            rules.append(
                {
                    "id": rule["id"],
                    "mode": rule["mode"],
                    "status": self._status(rule),
                    "candidate": figures(self.per_rule.get(("candidate", rule["id"]), _Tally())),
                    "active": figures(self.per_rule.get(("active", rule["id"]), _Tally()))
                    if rule["id"] in self._active_ids
                    else None,
                }
            )
        for rule in self.active_rules:
            if rule["id"] not in self._candidate_ids:
                rules.append(
                    {
                        "id": rule["id"],
                        "mode": rule["mode"],
                        "status": "removed",
                        "candidate": None,
                        "active": figures(self.per_rule.get(("active", rule["id"]), _Tally())),
                    }
                )
        return {
            "decisions": self.total,
            "labelled": self.labelled,
            "frauds": self.frauds,
            "total": {side: figures(tally) for side, tally in self.totals.items()},
            "rules": rules,
            "outcome_changes": {
                before: {after: self.outcome_changes[(before, after)] for after in OUTCOMES}
                for before in OUTCOMES
            },
            "changed_decisions": sum(
                n for (before, after), n in self.outcome_changes.items() if before != after
            ),
            "amount_affected_minor": dict(self.amount_changed),
            "top_hits": self.top,
        }


def _engine(rules: list[RuleDict], lists: ListSnapshot | None) -> RulesEngine | None:
    # Every rule evaluated, shadow ones included: their figures are the point of a shadow.
    if not rules:
        return None
    ruleset = build_ruleset("replay", [{**rule, "mode": "active"} for rule in rules])
    return RulesEngine(ruleset, lists)


_Hit = tuple[str, RuleAction, Severity]


def _hits(engine: RulesEngine | None, variables: Mapping[str, object]) -> list[_Hit]:
    if engine is None:
        return []
    return [(h.rule_id, h.action, h.severity) for h in engine.evaluate(variables).hits]


def _variables(decision: StoredDecision) -> dict[str, object]:
    features = decision.features
    if isinstance(features, str):
        features = orjson.loads(features)
    return {**features, **transaction_variables(decision.payment)}


_STORED: dict[tuple[str, str, str], _Hit] = {}


def _stored_hit(hit: Mapping[str, Any]) -> _Hit:
    """A recorded hit as the replay's tuple (interned: a handful of distinct values)."""
    key = (hit["rule_id"], hit["action"], hit["severity"])
    found = _STORED.get(key)
    if found is None:
        found = _STORED[key] = (key[0], RuleAction(key[1]), Severity(key[2]))
    return found


def _count(tally: _Tally, label: int | None) -> None:
    tally.hits += 1
    if label is not None:
        tally.labelled_hits += 1
        tally.fraud_hits += label


def _outcome(decision: StoredDecision, hits: list[_Hit], thresholds: Thresholds) -> str:
    if decision.score_source == "rules":
        score = rules_only_score(severity.weight for _, _, severity in hits)
    else:
        score = decision.score
    outcome, _ = decide([action for _, action, _ in hits], score, thresholds)
    return outcome.value


def stored_payment(row: Mapping[str, Any]) -> Payment:
    """The payment a stored transaction row describes (as the pipeline built it)."""
    occurred_at: datetime = row["occurred_at"]
    return Payment(
        transaction_id=row["id"],
        account_id=row["account_id"],
        card_token=row["card_token"],
        card_bin=row["card_bin"],
        card_last4=row["card_last4"],
        amount_minor=row["amount_minor"],
        currency=row["currency"],
        merchant_id=row["merchant_id"],
        merchant_category=row["merchant_category"],
        merchant_country=row["merchant_country"],
        channel=Channel(row["channel"]),
        occurred_at=occurred_at,
        device_id=row["device_id"],
        ip=row["ip"],
        user_id=row["user_id"],
    )
