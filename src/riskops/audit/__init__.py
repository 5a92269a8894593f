"""The administrative audit log: who changed keys and models, what, when, from what to what."""
