"""A draft's backtest: read stored decisions in a window chunk by chunk, replay, keep the result.

Reading is keyset-paged on (occurred_at, id) so memory stays flat whatever the window; the
replay of each chunk runs in a thread so the API's event loop keeps answering meanwhile.
"""

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from riskops.core.payment import Channel, Payment
from riskops.db import transaction
from riskops.db.base import table_of
from riskops.decisions.models import Decision, Transaction
from riskops.decisions.policy import Thresholds
from riskops.jobs.runner import Progress
from riskops.labels.models import Label
from riskops.lists import service as lists_service
from riskops.rulesets import repository
from riskops.rulesets.replay import Replay, StoredDecision

CHUNK = 5000
transactions = table_of(Transaction)
decisions = table_of(Decision)
labels = table_of(Label)


async def count(connection: AsyncConnection, start: datetime, end: datetime) -> int:
    query = select(func.count()).select_from(transactions).where(_window(start, end))
    return int((await connection.execute(query)).scalar() or 0)


async def run_backtest(
    engine: AsyncEngine,
    draft_id: str,
    start: datetime,
    end: datetime,
    thresholds: Thresholds,
    progress: Progress,
) -> dict[str, Any]:
    async with engine.connect() as connection:
        draft = await repository.get_draft(connection, draft_id)
        active = await repository.active_version(connection)
        total = await count(connection, start, end)
        lists = await lists_service.snapshot(connection)
    if draft is None or active is None:
        raise LookupError(f"draft {draft_id} or the active version vanished")
    replay = Replay(active["rules"], draft["rules"], thresholds, active["version"], lists=lists)
    async with engine.connect() as connection:
        chunk = await _chunk(connection, start, end, None)
        while chunk:
            # The next chunk is read while this one replays in a thread: reading waits on
            # the database, replaying on the CPU, so the two overlap.
            after = (chunk[-1].payment.occurred_at, chunk[-1].transaction_id)
            replaying = asyncio.create_task(asyncio.to_thread(replay.add, chunk))
            upcoming = await _chunk(connection, start, end, after)
            await replaying
            await progress(replay.total / total if total else 1.0)
            chunk = upcoming
    result = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "active_version": active["version"],
        "draft_id": draft_id,
        **replay.result(),
    }
    async with transaction(engine) as connection:
        await repository.save_backtest(connection, draft_id, result)
    return result


def _window(start: datetime, end: datetime) -> Any:
    return and_(transactions.c.occurred_at >= start, transactions.c.occurred_at < end)


async def _chunk(
    connection: AsyncConnection, start: datetime, end: datetime, after: tuple[datetime, str] | None
) -> list[StoredDecision]:
    conditions = [_window(start, end)]
    if after is not None:
        at, last = after
        conditions.append(
            or_(
                transactions.c.occurred_at > at,
                and_(transactions.c.occurred_at == at, transactions.c.id > last),
            )
        )
    t = transactions.c
    query = (
        select(
            # Only what the replay reads, as plain tuples: building rows is most of the
            # reading cost at 100,000 decisions.
            t.id,
            t.account_id,
            t.card_token,
            t.card_bin,
            t.card_last4,
            t.amount_minor,
            t.currency,
            t.merchant_id,
            t.merchant_category,
            t.merchant_country,
            t.channel,
            t.occurred_at,
            t.device_id,
            t.ip,
            t.user_id,
            # As text: parsed only for decisions whose replay reads a feature.
            cast(decisions.c.features, Text),
            decisions.c.score,
            decisions.c.score_source,
            decisions.c.ruleset_version,
            decisions.c.rule_hits,
        )
        .join(decisions, decisions.c.transaction_id == t.id)
        .where(*conditions)
        .order_by(t.occurred_at, t.id)
        .limit(CHUNK)
    )
    rows = (await connection.execute(query)).all()
    known = await _labels(connection, [row[0] for row in rows])
    channels = {channel.value: channel for channel in Channel}
    return [
        StoredDecision(
            transaction_id=row[0],
            payment=Payment(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                row[9],
                channels[row[10]],
                row[11],
                row[12],
                row[13],
                row[14],
            ),
            features=row[15],
            score=row[16],
            score_source=row[17],
            label=known.get(row[0]),
            ruleset_version=row[18],
            rule_hits=row[19],
        )
        for row in rows
    ]


async def _labels(connection: AsyncConnection, ids: list[str]) -> dict[str, int]:
    """The latest label of each transaction (a chargeback may overturn an analyst's call)."""
    if not ids:
        return {}
    query = (
        select(labels.c.transaction_id, labels.c.label)
        .where(labels.c.transaction_id.in_(ids))
        .order_by(labels.c.labelled_at, labels.c.id)
    )
    return {row[0]: int(row[1]) for row in await connection.execute(query)}
