"""The decision pipeline, policy, decision records and their audit."""
