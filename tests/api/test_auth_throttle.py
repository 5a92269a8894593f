"""The failed-authentication throttle on its own, with a clock the test moves."""

from datetime import timedelta

import pytest

from riskops.auth.throttle import AuthThrottle
from riskops.core.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **overrides: int) -> AuthThrottle:
    return AuthThrottle(3, timedelta(seconds=60), timedelta(seconds=120), clock=clock, **overrides)


def test_the_last_allowed_failure_starts_a_lockout_that_ends() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(2):
        guard.failed("a")
        guard.check("a")  # still allowed
    guard.failed("a")
    with pytest.raises(TooManyRequests) as locked:
        guard.check("a")
    assert locked.value.headers == {"Retry-After": "120"}
    assert locked.value.details == {"retry_after_seconds": 120}
    guard.check("b")  # another client is not affected
    clock.now += 119.5
    with pytest.raises(TooManyRequests) as almost:
        guard.check("a")
    assert almost.value.headers["Retry-After"] == "1"  # rounded up, never 0
    clock.now += 1
    guard.check("a")  # the lockout is over, and the count starts again
    guard.failed("a")
    guard.check("a")


def test_failures_spread_beyond_the_window_never_lock_out() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(10):
        guard.failed("a")
        guard.failed("a")
        clock.now += 61  # a new window before the third failure
        guard.check("a")


def test_memory_stays_bounded_but_lockouts_survive_a_flood() -> None:
    clock = Clock()
    guard = throttle(clock, max_clients=100)
    for _ in range(3):
        guard.failed("attacker")
    for i in range(1_000):
        guard.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(guard._clients) <= 100
    with pytest.raises(TooManyRequests):
        guard.check("attacker")
