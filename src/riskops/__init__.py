"""RiskOps: real-time transaction risk decisions, ledger, events and models."""

__version__ = "0.1.0"
