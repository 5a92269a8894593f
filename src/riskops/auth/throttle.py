"""Failed-authentication throttling per client: after too many failures, 429 for a while.

Counts live in the process (a dict lookup on the hot path, no I/O). Several API processes
each keep their own counts, so one client gets at most `max_failures` per process per window.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from riskops.core.errors import TooManyRequests


@dataclass(slots=True)
class _Client:
    window_start: float
    failures: int = 0
    locked_until: float = 0.0


class AuthThrottle:
    def __init__(
        self,
        max_failures: int,
        window: timedelta,
        lockout: timedelta,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window.total_seconds()
        self.lockout = lockout.total_seconds()
        self.max_clients = max_clients
        self._clock = clock
        self._clients: dict[str, _Client] = {}

    def check(self, client: str) -> None:
        """Raise 429 (with Retry-After) while `client` is locked out."""
        state = self._clients.get(client)
        if state is None or not state.locked_until:
            return
        wait = state.locked_until - self._clock()
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"too many failed authentication attempts from this client; "
                f"retry in {retry_after} s",
                retry_after,
            )

    def failed(self, client: str) -> None:
        """Count one failed authentication; the last one allowed starts the lockout."""
        now = self._clock()
        state = self._clients.get(client)
        if state is None:
            self._make_room(now)
            state = self._clients[client] = _Client(window_start=now)
        elif now - state.window_start > self.window or 0 < state.locked_until <= now:
            state.window_start, state.failures, state.locked_until = now, 0, 0.0
        state.failures += 1
        if state.failures >= self.max_failures:
            state.locked_until = now + self.lockout

    def _make_room(self, now: float) -> None:
        if len(self._clients) < self.max_clients:
            return
        horizon = max(self.window, self.lockout)
        self._clients = {
            client: state
            for client, state in self._clients.items()
            if state.locked_until > now or now - state.window_start <= horizon
        }
        if len(self._clients) >= self.max_clients:  # a flood of addresses: keep the lockouts
            self._clients = {c: s for c, s in self._clients.items() if s.locked_until > now}
