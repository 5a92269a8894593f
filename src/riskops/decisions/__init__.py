"""Transactions and their decisions: the pipeline, policy, records, audit, routes and reads."""
