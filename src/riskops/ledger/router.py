"""HTTP for the ledger: account balances."""

from fastapi import APIRouter

from riskops.api.deps import ReadConnection, Reader, RuntimeDep
from riskops.api.responses import ERRORS
from riskops.ledger.balances import AccountBalance

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.get("/accounts/{account_id}/balance", response_model=AccountBalance, responses=ERRORS)
async def get_balance(
    account_id: str, connection: ReadConnection, runtime: RuntimeDep, _: Reader
) -> AccountBalance:
    """The account's ledger balance (approved payments debit it) and its decision counts."""
    return AccountBalance(**await runtime.balances.balance(connection, account_id))
