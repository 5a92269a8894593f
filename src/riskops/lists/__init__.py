"""Named lists (blocked cards, trusted merchants, ...): stored, audited, polled into rules."""
