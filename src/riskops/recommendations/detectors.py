"""The scan's detectors: set-based reads over recent activity, each yielding candidates.

Labels count only once known (`labelled_at <= now`), so a replay with a simulated clock sees
what an analyst would have seen then. Near-threshold payments go through the investigation
tools themselves (context and patterns); the other detectors are single grouped queries,
because a context read per payment of a busy merchant would not fit in a minute.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select
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
KINDS = frozenset(k.value for k in EntityKind)


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
            if pattern.entity["kind"] not in KINDS:
                continue  # a pattern about something the queue cannot name: the panel shows it
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
    """Merchants (terminals) whose payments start carrying confirmed fraud: known-fraud
    payments of several cards (one card's frauds point at the card, several at the terminal),
    making a share of the merchant's labelled payments since the first of them."""
    since = now - policy.label_window
    known = and_(
        labels.c.transaction_id == transactions.c.id,
        labels.c.labelled_at <= now,
        labels.c.labelled_at > since,  # a label comes after its payment: bounds the scan
        transactions.c.occurred_at > since,
        transactions.c.occurred_at <= now,
    )
    frauds = await connection.execute(
        select(
            transactions.c.merchant_id,
            transactions.c.id,
            transactions.c.card_token,
            transactions.c.occurred_at,
            labels.c.labelled_at,
        )
        .select_from(transactions.join(labels, known))
        .where(labels.c.label == FRAUD)
        .order_by(transactions.c.occurred_at.desc(), transactions.c.id.desc())
    )
    by_merchant: dict[str, dict[str, tuple[str, datetime, datetime]]] = defaultdict(dict)
    for merchant, transaction_id, card, occurred_at, labelled_at in frauds.all():
        by_merchant[str(merchant)].setdefault(transaction_id, (card, occurred_at, labelled_at))
    eligible = {
        merchant: rows
        for merchant, rows in by_merchant.items()
        if len(rows) >= policy.merchant_fraud_min
        and len({card for card, _, _ in rows.values()}) >= policy.merchant_fraud_cards_min
    }
    if not eligible:
        return []
    labelled: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
    for merchant, transaction_id, occurred_at in await connection.execute(
        select(transactions.c.merchant_id, transactions.c.id, transactions.c.occurred_at)
        .select_from(transactions.join(labels, known))
        .where(transactions.c.merchant_id.in_(sorted(eligible)))
        .distinct()
    ):
        labelled[str(merchant)].append((transaction_id, occurred_at))
    found = []
    for merchant, rows in eligible.items():
        first = min(occurred_at for _, occurred_at, _ in rows.values())
        since_first = sum(1 for _, at in labelled[merchant] if at >= first)
        share = len(rows) / max(since_first, 1)
        if share < policy.merchant_fraud_share:
            continue
        cards = len({card for card, _, _ in rows.values()})
        found.append(
            Candidate(
                EntityKind.MERCHANT,
                merchant,
                "merchant_confirmed_fraud",
                min(1.0, 0.5 + share / 2 + 0.05 * (len(rows) - policy.merchant_fraud_min)),
                f"{len(rows)} payments of {cards} cards at the merchant are confirmed fraud: "
                f"{share:.0%} of its labelled payments since the first of them "
                f"(last {_days(policy.label_window)} days)",
                list(rows)[: policy.evidence_limit],  # newest payment first
                max(at for _, _, at in rows.values()),  # new labels on old payments are news
                {
                    "fraud": len(rows),
                    "cards": cards,
                    "labelled_since_first_fraud": since_first,
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
