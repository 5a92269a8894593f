"""Accounts, ledger entries and balances (transactions belong to `decisions`)."""
