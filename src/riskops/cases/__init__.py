"""The review queue: cases opened for payments that need a human, worked and disposed."""
