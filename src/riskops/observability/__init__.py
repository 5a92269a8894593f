"""Metrics and runtime health of the process."""
