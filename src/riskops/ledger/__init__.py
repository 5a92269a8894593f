"""Accounts, transactions, idempotency and balances."""
