"""Ledger reads for every caller (JSON API and console)."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound
from riskops.ledger import repository


async def balance(connection: AsyncConnection, account_id: str) -> dict[str, Any]:
    found = await repository.balance(connection, account_id)
    if found is None:
        raise NotFound(f"account {account_id} does not exist", {"account_id": account_id})
    return found
