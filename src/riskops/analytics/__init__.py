"""Analytics: incremental aggregates behind /v1/stats, fed by the risk assessment events."""
