"""Synthetic payment traffic with realistic fraud scenarios and delayed labels."""
