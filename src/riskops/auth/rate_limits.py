"""Rate limits per principal: a token bucket each, kept in the process (no I/O per request).

A bucket refills at `rate` tokens per second up to `burst`; a request takes one token or is
refused with 429 and the seconds until one is back. Several API processes each keep their own
buckets, so a caller gets at most `rate` per process.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from riskops.core.errors import TooManyRequests


class RateLimited(TooManyRequests):
    code = "rate_limited"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    def __init__(
        self,
        what: str,
        rate: float,
        burst: int,
        *,
        max_callers: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what  # named in the refusal: "payments", "console requests"
        self.rate = rate
        self.burst = float(burst)
        self.max_callers = max_callers
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, caller: str) -> None:
        """Take one token of `caller`'s bucket, or raise 429 with the wait until the next."""
        if self.rate <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self.max_callers:
                self._forget_full(now)
            self._buckets[caller] = _Bucket(self.burst - 1, now)
            return
        tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if tokens >= 1:
            bucket.tokens = tokens - 1
            return
        bucket.tokens = tokens
        retry_after = max(1, math.ceil((1 - tokens) / self.rate))
        raise RateLimited(
            f"too many {self.what} from this caller (at most {self.rate:g} per second, "
            f"bursts of {self.burst:g}); retry in {retry_after} s",
            retry_after,
        )

    def _forget_full(self, now: float) -> None:
        # A full bucket is what a new caller starts with: forgetting it changes nothing.
        self._buckets = {
            caller: bucket
            for caller, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate < self.burst
        }
        if len(self._buckets) >= self.max_callers:
            self._buckets.clear()
