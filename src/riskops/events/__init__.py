"""Events: CloudEvents envelopes and the transactional outbox."""
