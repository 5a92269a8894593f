"""HTTP for the ledger: account balances."""

from fastapi import APIRouter

from riskops.api.deps import ReadConnection, Reader
from riskops.api.responses import ERRORS
from riskops.core.errors import NotFound
from riskops.ledger import repository
from riskops.ledger.schemas import AccountBalance

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get("/accounts/{account_id}/balance", response_model=AccountBalance, responses=ERRORS)
async def get_balance(account_id: str, connection: ReadConnection, _: Reader) -> AccountBalance:
    """The account's ledger balance (approved payments debit it) and its decision counts."""
    found = await repository.balance(connection, account_id)
    if found is None:
        raise NotFound(f"account {account_id} does not exist", {"account_id": account_id})
    return AccountBalance(**found)
