"""HTTP for the ledger: account balances."""

from fastapi import APIRouter

from riskops.api.deps import ReadConnection, Reader
from riskops.api.responses import ERRORS
from riskops.ledger import service
from riskops.ledger.schemas import AccountBalance

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get("/accounts/{account_id}/balance", response_model=AccountBalance, responses=ERRORS)
async def get_balance(account_id: str, connection: ReadConnection, _: Reader) -> AccountBalance:
    """The account's ledger balance (approved payments debit it) and its decision counts."""
    return AccountBalance(**await service.balance(connection, account_id))
