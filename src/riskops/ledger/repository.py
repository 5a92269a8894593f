"""Ledger reads: an account's currency and the sum of its entries."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.db.base import table_of
from riskops.ledger.models import Account, LedgerEntry

accounts = table_of(Account)
entries = table_of(LedgerEntry)


async def balance(connection: AsyncConnection, account_id: str) -> tuple[str, int] | None:
    """(currency, balance in minor units), or None if the account does not exist."""
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
    return currency, int(total or 0)
