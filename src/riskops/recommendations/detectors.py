"""The scan's detectors: set-based reads over recent activity, each yielding candidates.

Labels count only once known (`labelled_at <= now`), so a replay with a simulated clock sees
what an analyst would have seen then. Near-threshold payments go through the investigation
tools themselves (context and patterns); the other detectors are single grouped queries,
because a context read per payment of a busy merchant would not fit in a minute.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.cases.models import CaseTransaction
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.entities.service import EntityKind
from riskops.investigations.tools import context as context_tool
from riskops.investigations.tools import patterns as pattern_tool
from riskops.labels.models import Label
from riskops.recommendations.candidates import Candidate, ScanPolicy

transactions = table_of(Transaction)
decisions = table_of(Decision)
labels = table_of(Label)
case_transactions = table_of(CaseTransaction)
FRAUD = 1


async def near_threshold(
    connection: AsyncConnection, policy: ScanPolicy, now: datetime
) -> list[Candidate]:
    """Payments scored just under the review or decline threshold, not in a case, whose
    investigation patterns fire: the model almost caught them, the patterns say why."""
    near = [
        decisions.c.score.between(threshold - policy.near_margin, threshold - 1e-9)
        for threshold in (policy.review_threshold, policy.decline_threshold)
    ]
    in_case = exists().where(case_transactions.c.transaction_id == transactions.c.id)
    rows = await connection.execute(
        select(transactions.c.id, decisions.c.score)
        .select_from(transactions.join(decisions, decisions.c.transaction_id == transactions.c.id))
        .where(
            transactions.c.occurred_at > now - policy.near_window,
            transactions.c.occurred_at <= now,
            near[0] | near[1],
            ~in_case,
        )
        .order_by(decisions.c.score.desc(), transactions.c.id)
        .limit(policy.near_limit)
    )
    found: list[Candidate] = []
    for transaction_id, score in rows.all():
        context = await context_tool.gather(connection, context_tool.ContextInput(transaction_id))
        for pattern in pattern_tool.detect(context):
            history = context.histories.get(pattern.entity["kind"], [])
            found.append(
                Candidate(
                    EntityKind(pattern.entity["kind"]),
                    pattern.entity["id"],
                    pattern.name,
                    pattern.strength,
                    f"scored {score:.2f}, near a threshold: {pattern.explanation}",
                    [transaction_id, *(r["id"] for r in history)][: policy.evidence_limit],
                    context.at,
                    {**pattern.facts, "score": round(float(score), 4), "near_threshold": True},
                )
            )
    return found


async def merchant_fraud(
    connection: AsyncConnection, policy: ScanPolicy, now: datetime
) -> list[Candidate]:
    """Merchants (terminals) whose recent payments carry confirmed fraud: at least
    `merchant_fraud_min` known-fraud payments, and a share of the labelled ones."""
    since = now - policy.label_window
    known = and_(
        labels.c.transaction_id == transactions.c.id,
        labels.c.labelled_at <= now,
        transactions.c.occurred_at > since,
        transactions.c.occurred_at <= now,
    )
    frauds = (
        await connection.execute(
            select(transactions.c.merchant_id, transactions.c.id, labels.c.labelled_at)
            .select_from(transactions.join(labels, known))
            .where(labels.c.label == FRAUD)
            .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
        )
    ).all()
    # (payment, when its fraud became known), newest payment first
    by_merchant: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for merchant, transaction_id, labelled_at in frauds:
        if transaction_id not in {t for t, _ in by_merchant[merchant]}:
            by_merchant[merchant].append((transaction_id, labelled_at))
    eligible = [m for m, rows in by_merchant.items() if len(rows) >= policy.merchant_fraud_min]
    if not eligible:
        return []
    labelled = {
        str(merchant): int(count)
        for merchant, count in await connection.execute(
            select(transactions.c.merchant_id, func.count(distinct(transactions.c.id)))
            .select_from(transactions.join(labels, known))
            .where(transactions.c.merchant_id.in_(eligible))
            .group_by(transactions.c.merchant_id)
        )
    }
    totals = {
        str(merchant): int(count)
        for merchant, count in await connection.execute(
            select(transactions.c.merchant_id, func.count())
            .where(
                transactions.c.merchant_id.in_(eligible),
                transactions.c.occurred_at > since,
                transactions.c.occurred_at <= now,
            )
            .group_by(transactions.c.merchant_id)
        )
    }
    found = []
    days = policy.label_window.days
    for merchant in eligible:
        rows = by_merchant[merchant]
        share = len(rows) / max(int(labelled.get(merchant, 0)), 1)
        if share < policy.merchant_fraud_share:
            continue
        found.append(
            Candidate(
                EntityKind.MERCHANT,
                merchant,
                "merchant_confirmed_fraud",
                min(1.0, 0.5 + share / 2 + 0.05 * (len(rows) - policy.merchant_fraud_min)),
                f"{len(rows)} of the merchant's {labelled.get(merchant, 0)} labelled payments "
                f"in the last {days} days are confirmed fraud "
                f"({totals.get(merchant, 0)} payments in all)",
                [t for t, _ in rows][: policy.evidence_limit],
                max(at for _, at in rows),  # new labels on old payments are new evidence
                {
                    "fraud": len(rows),
                    "labelled": int(labelled.get(merchant, 0)),
                    "payments": int(totals.get(merchant, 0)),
                    "share": round(share, 3),
                },
            )
        )
    return found


async def card_testing_rings(
    connection: AsyncConnection, policy: ScanPolicy, now: datetime
) -> list[Candidate]:
    """Devices and IPs behind small payments of several cards: one tester, many cards."""
    found = []
    for kind, column in (
        (EntityKind.DEVICE, transactions.c.device_id),
        (EntityKind.IP, transactions.c.ip),
    ):
        rows = (
            await connection.execute(
                select(
                    column, transactions.c.id, transactions.c.card_token, transactions.c.occurred_at
                )
                .where(
                    column.is_not(None),
                    transactions.c.occurred_at > now - policy.ring_window,
                    transactions.c.occurred_at <= now,
                    transactions.c.amount_minor <= policy.small_amount,
                )
                .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
            )
        ).all()
        grouped: dict[str, list[Any]] = defaultdict(list)
        for value, transaction_id, card, occurred_at in rows:
            grouped[str(value)].append((transaction_id, card, occurred_at))
        for value, payments in grouped.items():
            cards = {card for _, card, _ in payments}
            if len(cards) < policy.ring_cards_min or len(payments) < policy.ring_payments_min:
                continue
            found.append(
                Candidate(
                    kind,
                    value,
                    "card_testing_ring",
                    min(1.0, 0.4 + len(cards) / (3 * policy.ring_cards_min)),
                    f"{len(payments)} small payments (at most "
                    f"{policy.small_amount / 100:.2f}) of {len(cards)} different cards behind "
                    f"the {kind.value} in the last {_hours(policy.ring_window)} h",
                    [t for t, _, _ in payments][: policy.evidence_limit],
                    payments[0][2],
                    {"cards": len(cards), "small_payments": len(payments)},
                )
            )
    return found


async def account_takeover(
    connection: AsyncConnection, policy: ScanPolicy, now: datetime
) -> list[Candidate]:
    """Accounts spending far above their own baseline, or high from a device they never used
    before; confirmed fraud on their recent payments makes it stronger."""
    start = now - policy.takeover_window
    recent = (
        select(transactions.c.account_id)
        .where(transactions.c.occurred_at > start, transactions.c.occurred_at <= now)
        .distinct()
        .subquery()
    )
    baseline = (
        await connection.execute(
            select(
                transactions.c.account_id,
                func.avg(transactions.c.amount_minor),
                func.count(),
            )
            .where(
                transactions.c.account_id.in_(select(recent.c.account_id)),
                transactions.c.occurred_at > start - policy.baseline_window,
                transactions.c.occurred_at <= start,
            )
            .group_by(transactions.c.account_id)
            .having(func.count() >= policy.baseline_min)
        )
    ).all()
    means = {account: float(mean) for account, mean, _ in baseline}
    if not means:
        return []
    earlier = transactions.alias("earlier")
    new_device = ~exists().where(
        earlier.c.account_id == transactions.c.account_id,
        earlier.c.device_id == transactions.c.device_id,
        earlier.c.occurred_at <= start,
    )
    rows = (
        await connection.execute(
            select(
                transactions.c.account_id,
                transactions.c.id,
                transactions.c.amount_minor,
                transactions.c.occurred_at,
                transactions.c.device_id.is_not(None) & new_device,
            )
            .where(transactions.c.occurred_at > start, transactions.c.occurred_at <= now)
            .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
        )
    ).all()
    signs: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for account, transaction_id, amount, occurred_at, is_new_device in rows:
        mean = means.get(account)
        if mean is None:
            continue
        high = amount >= policy.spike_factor * mean
        if high:
            signs[account]["spikes"].append((transaction_id, occurred_at, amount / max(mean, 1)))
        if is_new_device and (high or amount >= policy.high_amount):
            signs[account]["new_device"].append((transaction_id, occurred_at, amount))
    suspects = {
        a for a, s in signs.items() if len(s["spikes"]) >= policy.spikes_min or s["new_device"]
    }
    confirmed = await _confirmed_fraud(connection, suspects, policy, now)
    found = []
    for account in sorted(suspects):
        spikes, new_device_rows = signs[account]["spikes"], signs[account]["new_device"]
        fraud = confirmed.get(account, [])
        evidence = sorted(
            {(t, at) for t, at, _ in (*spikes, *new_device_rows)}, key=lambda r: r[1], reverse=True
        )
        what = []
        if spikes:
            what.append(
                f"{len(spikes)} payment(s) at {policy.spike_factor:g}x or more of its "
                f"{_days(policy.baseline_window)}-day mean ({means[account] / 100:,.2f})"
            )
        if new_device_rows:
            what.append(f"{len(new_device_rows)} high payment(s) from a device new to it")
        if fraud:
            what.append(f"{len(fraud)} recent payment(s) confirmed fraud")
        strength = 0.45 + 0.1 * min(len(spikes), 3) + 0.2 * bool(new_device_rows)
        found.append(
            Candidate(
                EntityKind.ACCOUNT,
                account,
                "account_takeover",
                min(1.0, strength + 0.2 * bool(fraud)),
                f"In the last {_hours(policy.takeover_window)} h: " + "; ".join(what),
                [t for t, _ in evidence][: policy.evidence_limit] + fraud[:5],
                evidence[0][1],
                {
                    "spikes": len(spikes),
                    "new_device_high": len(new_device_rows),
                    "confirmed_fraud": len(fraud),
                    "baseline_mean_minor": round(means[account]),
                    "max_ratio": round(max((r for _, _, r in spikes), default=0.0), 2),
                },
            )
        )
    return found


async def _confirmed_fraud(
    connection: AsyncConnection, accounts: set[str], policy: ScanPolicy, now: datetime
) -> dict[str, list[str]]:
    if not accounts:
        return {}
    rows = await connection.execute(
        select(transactions.c.account_id, transactions.c.id)
        .select_from(transactions.join(labels, labels.c.transaction_id == transactions.c.id))
        .where(
            transactions.c.account_id.in_(sorted(accounts)),
            transactions.c.occurred_at > now - policy.label_window,
            labels.c.label == FRAUD,
            labels.c.labelled_at <= now,
        )
        .distinct()
    )
    found: dict[str, list[str]] = defaultdict(list)
    for account, transaction_id in rows.all():
        found[account].append(transaction_id)
    return found


def _hours(span: Any) -> int:
    return int(span.total_seconds() // 3600)


def _days(span: Any) -> int:
    return int(span.total_seconds() // 86400)


DETECTORS = (near_threshold, merchant_fraud, card_testing_rings, account_takeover)
