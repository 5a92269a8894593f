"""Rate limits per caller: token buckets on their own, then on payments and the console."""

import time

import httpx
import pytest

from riskops.auth.rate_limits import RateLimited, TokenBuckets
from riskops.auth.roles import Role
from tests.conftest import Api
from tests.payments import new_key, payment
from tests.web.console import sign_in


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets("payments", rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        buckets.take("a")
    with pytest.raises(RateLimited) as refused:
        buckets.take("a")
    assert refused.value.headers == {"Retry-After": "1"}  # rounded up, never 0
    buckets.take("b")  # another caller has its own bucket
    clock.now += 0.5  # one token back at 2 per second
    buckets.take("a")
    with pytest.raises(RateLimited):
        buckets.take("a")
    clock.now += 60  # refills to the burst, no further
    for _ in range(3):
        buckets.take("a")
    with pytest.raises(RateLimited):
        buckets.take("a")


def test_slow_rates_ask_for_longer_waits_and_zero_is_off() -> None:
    clock = Clock()
    slow = TokenBuckets("console requests", rate=0.1, burst=1, clock=clock)
    slow.take("a")
    with pytest.raises(RateLimited) as refused:
        slow.take("a")
    assert refused.value.headers == {"Retry-After": "10"}
    off = TokenBuckets("payments", rate=0, burst=1, clock=clock)
    for _ in range(100):
        off.take("a")


def test_many_callers_do_not_grow_the_table_without_bound() -> None:
    clock = Clock()
    buckets = TokenBuckets("payments", rate=1.0, burst=5, max_callers=10, clock=clock)
    for caller in range(10):
        buckets.take(str(caller))
    buckets.take("busy")  # full table: callers back at a full bucket are forgotten, not lost
    assert len(buckets._buckets) <= 10


def refused_as_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "rate_limited"
    assert set(body) == {"code", "message", "details"}
    assert body["details"]["retry_after_seconds"] == int(response.headers["Retry-After"])


@pytest.mark.settings(rate_limit_transactions=0.01, rate_limit_transactions_burst=2)
async def test_payments_over_the_limit_get_429_but_replays_and_other_keys_pass(api: Api) -> None:
    service = {**api.as_role(Role.SERVICE)}
    sent = []
    for _ in range(2):
        body, key = payment(account_id=f"acct-{new_key()}"), new_key()
        response = await api.client.post(
            "/v1/transactions", json=body, headers={**service, "Idempotency-Key": key}
        )
        assert response.status_code == 201
        sent.append((body, key, response.json()))
    over = await api.client.post(
        "/v1/transactions", json=payment(), headers={**service, "Idempotency-Key": new_key()}
    )
    refused_as_rate_limited(over)
    assert over.headers["Retry-After"] == "100"  # one token at 0.01 per second
    # The stored answers are replayed whatever the bucket holds.
    for body, key, answer in sent:
        replay = await api.client.post(
            "/v1/transactions", json=body, headers={**service, "Idempotency-Key": key}
        )
        assert replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == answer
    # A refused request stored nothing: retried later it is decided, not replayed; and
    # another key has its own bucket.
    other = await api.client.post(
        "/v1/transactions",
        json=payment(),
        headers={**api.as_role(Role.ANALYST), "Idempotency-Key": new_key()},
    )
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    # Reads are not limited.
    assert (await api.client.get("/v1/stats", headers=service)).status_code == 200


@pytest.mark.settings(rate_limit_console=0.01, rate_limit_console_burst=5)
async def test_console_requests_over_the_limit_get_429(api: Api) -> None:
    await sign_in(api.client, api.keys[Role.ANALYST])  # its one signed-in page takes a token
    for _ in range(4):
        assert (await api.client.get("/")).status_code == 200
    refused_as_rate_limited(await api.client.get("/"))
    # Another user signs in on another client and is served.
    transport = api.client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://riskops.test") as other:
        await sign_in(other, api.keys[Role.VIEWER])
        assert (await other.get("/")).status_code == 200
    # The API is not the console: the same key's API calls are not counted here.
    assert (await api.client.get("/v1/stats", headers=api.as_role(Role.ANALYST))).status_code == 200


async def test_the_check_costs_little_per_request() -> None:
    """In-process cost of the limiter on a payment: one dict lookup and a little arithmetic."""
    buckets = TokenBuckets("payments", rate=1e9, burst=10**9)
    rounds = 200_000
    started = time.perf_counter()
    for _ in range(rounds):
        buckets.take("caller")
    per_call = (time.perf_counter() - started) / rounds
    assert per_call < 20e-6, f"{per_call * 1e6:.2f} µs per check"
