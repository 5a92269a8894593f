"""Rulesets as immutable database versions, changed by maker-checker drafts with a backtest."""
