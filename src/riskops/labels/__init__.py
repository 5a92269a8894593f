"""Fraud outcomes (chargebacks, analyst labels) that arrive after the decision."""
