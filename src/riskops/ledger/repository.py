"""Ledger reads: an account's balance and its decision counts."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.decisions.models import Decision
from riskops.decisions.repository import status_counts
from riskops.ledger.models import Account, LedgerEntry, Transaction

accounts = table_of(Account)
entries = table_of(LedgerEntry)
transactions = table_of(Transaction)
decisions = table_of(Decision)


async def balance(connection: AsyncConnection, account_id: str) -> dict[str, Any] | None:
    currency = await connection.scalar(
        select(accounts.c.currency).where(accounts.c.id == account_id)
    )
    if currency is None:
        return None
    total = await connection.scalar(
        select(func.coalesce(func.sum(entries.c.amount_minor), 0)).where(
            entries.c.account_id == account_id
        )
    )
    counts = (
        await connection.execute(
            select(*status_counts())
            .select_from(
                transactions.join(decisions, decisions.c.transaction_id == transactions.c.id)
            )
            .where(transactions.c.account_id == account_id)
        )
    ).one()
    return {
        "account_id": account_id,
        "currency": currency,
        "balance_minor": int(total or 0),
        "transactions": int(counts[0] or 0),
        "approved": int(counts[1] or 0),
        "review": int(counts[2] or 0),
        "declined": int(counts[3] or 0),
    }
