"""API shape of an account's balance."""

from pydantic import BaseModel, Field


class AccountBalance(BaseModel):
    account_id: str
    currency: str
    balance_minor: int = Field(description="Sum of ledger entries: approved payments debit it")
    transactions: int
    approved: int
    review: int
    declined: int
