"""Ledger reads for every caller (JSON API and console)."""

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from riskops.core.errors import NotFound
from riskops.ledger import repository


class DecisionCounts(Protocol):
    """An account's decisions by outcome: `transactions`, `approved`, `review`, `declined`.

    The decisions package answers it; the composition root passes it in, so the ledger
    never imports the decisions it sits beside.
    """

    async def __call__(self, connection: AsyncConnection, account_id: str) -> Mapping[str, int]: ...


class BalanceService:
    def __init__(self, decision_counts: DecisionCounts) -> None:
        self._decision_counts = decision_counts

    async def balance(self, connection: AsyncConnection, account_id: str) -> dict[str, Any]:
        found = await repository.balance(connection, account_id)
        if found is None:
            raise NotFound(f"account {account_id} does not exist", {"account_id": account_id})
        currency, balance_minor = found
        return {
            "account_id": account_id,
            "currency": currency,
            "balance_minor": balance_minor,
            **await self._decision_counts(connection, account_id),
        }
