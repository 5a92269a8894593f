"""The case-queue series: gauges counted from the database match the queue the API lists, and
the flow counters move with openings, closings and labels."""

from datetime import timedelta
from typing import Any

import pytest

from riskops.auth.roles import Role
from riskops.cases import queue_metrics
from riskops.cases.metrics import AGE_BANDS, OLDER, PRIORITY_BANDS
from riskops.cases.schemas import CaseStatus
from riskops.core.outcome import Outcome
from riskops.db.types import utcnow
from tests.conftest import Api
from tests.deploy.test_metrics_names import exported, scrape
from tests.payments import new_key, payment

# Expected loss = max(score, 0.1) x amount in major units: 25 at most (low), between 500 and
# 5,000 (medium or high, by the score), 5,000 at least (high).
AMOUNTS = (2_500, 500_000, 5_000_000)
# A card each: review payments of one card would join a single case.
CARDS = ("4111111111111111", "5555555555554444", "4012888888881881")


def band(priority: float) -> str:
    return next(name for floor, name in PRIORITY_BANDS if priority >= floor)


async def cases_of_each_band(api: Api) -> list[dict[str, Any]]:
    """A case for each amount (opened by the consumer for a review, or by hand otherwise)."""
    paid = []
    for i, (amount, card) in enumerate(zip(AMOUNTS, CARDS, strict=True)):
        answer = await api.client.post(
            "/v1/transactions",
            json=payment(amount_minor=amount, card_number=card, account_id=f"acct-q{i}"),
            headers={**api.as_role(Role.SERVICE), "Idempotency-Key": new_key()},
        )
        assert answer.status_code == 201, answer.text
        paid.append(answer.json())
    await api.runtime.events.drain()
    for one in paid:
        if one["decision"]["status"] != Outcome.REVIEW:
            opened = await api.client.post(
                "/v1/cases",
                json={"transaction_id": one["id"], "reason": "looks odd"},
                headers=api.as_role(Role.ANALYST),
            )
            assert opened.status_code == 201, opened.text
    return await waiting(api)


async def waiting(api: Api) -> list[dict[str, Any]]:
    found = []
    for status in (CaseStatus.OPEN, CaseStatus.ASSIGNED):
        listed = await api.client.get(
            "/v1/cases", params={"status": status.value}, headers=api.as_role(Role.VIEWER)
        )
        assert listed.status_code == 200, listed.text
        found += listed.json()["items"]
    return found


async def test_the_queue_gauges_count_what_the_queue_lists(api: Api) -> None:
    _, before = exported(await scrape(api))
    cases = await cases_of_each_band(api)
    assert len(cases) == len(AMOUNTS)
    claimed, closed = cases[0], cases[1]
    for case_id, action, body in (
        (claimed["id"], "assign", {"assignee": "me"}),
        (closed["id"], "disposition", {"disposition": "fraud_confirmed", "reason": "confirmed"}),
    ):
        answer = await api.client.post(
            f"/v1/cases/{case_id}/{action}", json=body, headers=api.as_role(Role.ANALYST)
        )
        assert answer.status_code == 200, answer.text

    snapshot = await api.runtime.case_metrics.refresh()
    names, after = exported(await scrape(api))
    queue = await waiting(api)
    assert len(queue) == len(AMOUNTS) - 1
    for status in (CaseStatus.OPEN, CaseStatus.ASSIGNED):
        for _, name in PRIORITY_BANDS:
            expected = sum(
                1 for c in queue if c["status"] == status and band(c["priority"]) == name
            )
            key = f"riskops_cases_queue,priority={name},status={status.value}"
            assert after[key] == expected, key
    assert {"low", "high"} <= {band(c["priority"]) for c in cases}
    # Every waiting case opened a moment ago: all in the youngest age band.
    ages = {name: after[f"riskops_cases_queue_by_age,age={name}"] for name, _ in AGE_BANDS}
    assert ages == {AGE_BANDS[0][0]: len(queue), **{n: 0 for n, _ in AGE_BANDS[1:]}}
    assert after[f"riskops_cases_queue_by_age,age={OLDER}"] == 0
    assert 0 < after["riskops_cases_oldest_open_age_seconds"] < 600
    # The worker loop may have counted again since: never younger than our count.
    assert after["riskops_cases_oldest_open_age_seconds"] >= snapshot.oldest_age_seconds
    assert after["riskops_cases_overdue"] == 0
    assert after["riskops_cases_sla_seconds"] == api.runtime.settings.case_sla.total_seconds()

    def grew(key: str) -> float:
        return after.get(key, 0.0) - before.get(key, 0.0)

    opened = sum(grew(f"riskops_cases_opened_total,source={s}") for s in ("manual", "review"))
    assert opened == len(AMOUNTS)
    assert grew("riskops_cases_closed_total,disposition=fraud_confirmed") == 1
    # fraud_confirmed labels every payment of the closed case (one here).
    assert grew("riskops_labels_stored_total,source=analyst") == 1
    assert {"riskops_cases_joined_total", "riskops_cases_reopened_total"} <= names.keys()


@pytest.mark.settings(case_sla=timedelta(milliseconds=1))
async def test_cases_past_their_sla_are_counted_overdue(api: Api) -> None:
    cases = await cases_of_each_band(api)
    snapshot = await api.runtime.case_metrics.refresh()
    _, after = exported(await scrape(api))
    assert snapshot.overdue == after["riskops_cases_overdue"] == len(cases)
    assert after["riskops_cases_oldest_open_age_seconds"] > after["riskops_cases_sla_seconds"]


async def test_both_ways_of_counting_agree(api: Api) -> None:
    # Each engine uses one (queue_metrics.snapshot); either is plain SQL that runs on both.
    await cases_of_each_band(api)
    now = utcnow()
    async with api.runtime.engine.connect() as connection:
        one_pass = await queue_metrics._one_pass(connection, now)
        range_counts = await queue_metrics._range_counts(connection, now)
    assert one_pass == range_counts
    assert sum(one_pass.by_age.values()) == len(AMOUNTS)
