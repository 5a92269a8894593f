"""The scan on crafted histories: each candidate kind found just over its threshold and not
just under it, on SQLite and PostgreSQL; one open entry per entity and pattern; rejections
remembered."""

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from riskops.auth.roles import Role
from riskops.db.types import utcnow
from riskops.entities.service import EntityKind
from riskops.recommendations.scan import scan
from tests.conftest import Api
from tests.recommendations.history import (
    POLICY,
    SETTINGS,
    candidates,
    card,
    label,
    of,
    paid,
    scanned,
    score,
)

pytestmark = pytest.mark.settings(**SETTINGS)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def test_a_merchant_whose_payments_carry_known_fraud_is_a_candidate(api: Api) -> None:
    bad = [
        await paid(api, DAY * (3 - i), merchant_id="m-bad", card_number=card(i)) for i in range(3)
    ]
    for payment in bad[:2]:
        await label(api, payment["id"], HOUR)
    found = of(await candidates(api), "merchant_confirmed_fraud")
    assert [(c.kind, c.entity_id) for c in found] == [(EntityKind.MERCHANT, "m-bad")]
    assert set(found[0].transaction_ids) == {bad[0]["id"], bad[1]["id"]}
    assert found[0].facts["fraud"] == 2 and found[0].facts["cards"] == 2
    assert found[0].facts["labelled_since_first_fraud"] == 2


async def test_one_fraud_one_card_a_small_share_or_unknown_labels_are_not_enough(api: Api) -> None:
    one = [
        await paid(api, DAY * (3 - i), merchant_id="m-once", card_number=card(i)) for i in range(3)
    ]
    await label(api, one[0]["id"], HOUR)
    late = [
        await paid(api, DAY * (3 - i), merchant_id="m-late", card_number=card(10 + i))
        for i in range(3)
    ]
    for payment in late[:2]:
        await label(api, payment["id"], -HOUR)  # becomes known in an hour: not yet
    # Mostly genuine: two frauds among many labelled genuine payments is below the share.
    mixed = [
        await paid(api, DAY * 2 + HOUR * i, merchant_id="m-mixed", card_number=card(20 + i))
        for i in range(8)
    ]
    for i, payment in enumerate(mixed):  # the two oldest are fraud, six genuine since
        await label(api, payment["id"], HOUR, fraud=i >= 6)
    # Two frauds of one card: the card is stolen, the shop need not be compromised.
    for i in range(2):
        one_card = await paid(api, DAY * (2 - i), merchant_id="m-one-card", card_number=card(30))
        await label(api, one_card["id"], HOUR)
    assert of(await candidates(api), "merchant_confirmed_fraud") == []
    # An hour later the late labels are known: the scan's clock decides what it sees.
    later = of(await candidates(api, utcnow() + 2 * HOUR), "merchant_confirmed_fraud")
    assert [c.entity_id for c in later] == ["m-late"]


async def test_small_payments_of_several_cards_behind_one_device_are_a_ring(api: Api) -> None:
    for i in range(5):
        await paid(api, timedelta(minutes=50 - i), card_number=card(i % 3), device_id="dev-ring",
                   amount_minor=100 + i, merchant_id=f"m-{i}")  # fmt: skip
    rings = of(await candidates(api), "card_testing_ring")
    assert [(c.kind, c.entity_id) for c in rings] == [(EntityKind.DEVICE, "dev-ring")]
    assert rings[0].facts == {"cards": 3, "small_payments": 5}


async def test_one_card_or_normal_amounts_are_no_ring(api: Api) -> None:
    for i in range(6):  # one card probing: the investigation's card_testing, not a ring
        await paid(api, timedelta(minutes=50 - i), device_id="dev-one", amount_minor=100 + i)
    for i in range(6):  # several cards, ordinary amounts: a shared family tablet
        await paid(api, timedelta(minutes=40 - i), card_number=card(i), device_id="dev-family",
                   amount_minor=4_000)  # fmt: skip
    for i in range(4):  # two cards only
        await paid(api, timedelta(minutes=30 - i), card_number=card(i % 2), device_id="dev-two",
                   amount_minor=200)  # fmt: skip
    assert of(await candidates(api), "card_testing_ring") == []


async def _baseline(api: Api, account: str, device: str = "dev-home") -> None:
    for day in (5, 6, 8, 10):
        await paid(api, DAY * day, account_id=account, card_number=card(7), device_id=device,
                   amount_minor=2_500)  # fmt: skip


async def test_spending_far_above_the_accounts_own_baseline_is_a_takeover_sign(api: Api) -> None:
    await _baseline(api, "acct-ato")
    spikes = [
        await paid(
            api,
            HOUR * h,
            account_id="acct-ato",
            card_number=card(7),
            device_id="dev-home",
            amount_minor=9_000,
        )
        for h in (5, 2)
    ]
    await label(api, spikes[0]["id"], timedelta(minutes=30))
    found = of(await candidates(api), "account_takeover")
    assert [(c.kind, c.entity_id) for c in found] == [(EntityKind.ACCOUNT, "acct-ato")]
    assert found[0].facts["spikes"] == 2 and found[0].facts["confirmed_fraud"] == 1
    assert found[0].transaction_ids[0] == spikes[1]["id"]  # newest first


async def test_a_high_payment_from_a_new_device_is_a_takeover_sign(api: Api) -> None:
    await _baseline(api, "acct-new-device")
    await paid(api, HOUR, account_id="acct-new-device", card_number=card(7),
               device_id="dev-stranger", amount_minor=9_000)  # fmt: skip
    found = of(await candidates(api), "account_takeover")
    assert [c.entity_id for c in found] == ["acct-new-device"]
    assert found[0].facts["new_device_high"] == 1 and found[0].facts["spikes"] == 1


async def test_ordinary_spending_one_spike_or_no_baseline_is_no_takeover(api: Api) -> None:
    await _baseline(api, "acct-calm")
    await paid(api, HOUR, account_id="acct-calm", card_number=card(7), device_id="dev-home",
               amount_minor=3_000)  # fmt: skip
    await _baseline(api, "acct-one-spike")
    await paid(api, HOUR, account_id="acct-one-spike", card_number=card(7),
               device_id="dev-home", amount_minor=9_000)  # fmt: skip
    for h in (3, 2, 1):  # a new account spending big: nothing to compare with
        await paid(api, HOUR * h, account_id="acct-fresh", card_number=card(8),
                   device_id="dev-fresh", amount_minor=60_000)  # fmt: skip
    assert of(await candidates(api), "account_takeover") == []


async def test_a_near_threshold_payment_whose_patterns_fire_is_a_candidate(api: Api) -> None:
    for i in range(6):  # the pattern counts five small payments before the last one
        last = await paid(api, timedelta(minutes=30 - i), amount_minor=100 + i,
                          merchant_id=f"m-probe-{i}")  # fmt: skip
    await score(api, last["id"], POLICY.review_threshold - 0.05)
    found = [c for c in await candidates(api) if c.facts.get("near_threshold")]
    assert ("card_testing", EntityKind.CARD) in {(c.pattern, c.kind) for c in found}
    assert all(c.transaction_ids[0] == last["id"] for c in found)


async def test_far_from_the_threshold_or_without_patterns_is_no_candidate(api: Api) -> None:
    for i in range(6):  # the pattern counts five small payments before the last one
        last = await paid(api, timedelta(minutes=30 - i), amount_minor=100 + i,
                          merchant_id=f"m-probe-{i}")  # fmt: skip
    await score(api, last["id"], 0.1)  # far below
    calm = await paid(api, timedelta(minutes=10), card_number=card(3), account_id="acct-2",
                      device_id="dev-2")  # fmt: skip
    await score(api, calm["id"], POLICY.review_threshold - 0.02)  # near, but nothing fires
    assert [c for c in await candidates(api) if c.facts.get("near_threshold")] == []


async def _merchant_with_fraud(api: Api, merchant: str = "m-bad") -> list[str]:
    ids = []
    for i in range(3):
        payment = await paid(api, DAY * (3 - i), merchant_id=merchant, card_number=card(i))
        ids.append(payment["id"])
    for transaction_id in ids[:2]:
        await label(api, transaction_id, HOUR)
    return ids


async def test_a_second_scan_refreshes_the_open_entry_instead_of_duplicating(api: Api) -> None:
    await _merchant_with_fraud(api)
    first = await scanned(api)
    assert len(first.created) == 1
    second = await scanned(api)
    assert second.created == [] and second.refreshed == 1
    listing = await api.client.get("/v1/recommendations", headers=api.as_role(Role.VIEWER))
    items = listing.json()["items"]
    assert [(i["entity"]["id"], i["pattern"], i["scans"]) for i in items] == [
        ("m-bad", "merchant_confirmed_fraud", 2)
    ]


async def test_a_rejection_lowers_the_priority_of_the_same_pattern_later(api: Api) -> None:
    ids = await _merchant_with_fraud(api)
    entry_id = (await scanned(api)).created[0]
    before = (
        await api.client.get(f"/v1/recommendations/{entry_id}", headers=api.as_role(Role.VIEWER))
    ).json()
    rejected = await api.client.post(
        f"/v1/recommendations/{entry_id}/reject",
        json={"reason": "a known test terminal"},
        headers=api.as_role(Role.ANALYST),
    )
    assert rejected.status_code == 200, rejected.text
    # Nothing new since the rejection: the scan does not raise it again.
    again = await scanned(api)
    assert again.created == [] and again.skipped == 1
    # A new fraud label arrives: a new entry, at half the priority, the rejection kept.
    await label(api, ids[2], timedelta(seconds=-1))
    later = await scanned(api, utcnow() + timedelta(minutes=1))
    assert len(later.created) == 1
    fresh = (
        await api.client.get(
            f"/v1/recommendations/{later.created[0]}", headers=api.as_role(Role.VIEWER)
        )
    ).json()
    assert fresh["rejections_before"] == 1
    assert fresh["priority"] == pytest.approx(100 * fresh["strength"] * 0.5, abs=0.01)
    assert fresh["priority"] < before["priority"]
    kept = (
        await api.client.get(f"/v1/recommendations/{entry_id}", headers=api.as_role(Role.VIEWER))
    ).json()
    assert kept["status"] == "rejected" and kept["reason"] == "a known test terminal"


async def test_two_scans_at_once_still_leave_one_open_entry(api: Api) -> None:
    await _merchant_with_fraud(api)
    first, second = await asyncio.gather(scanned(api), scanned(api))
    assert len(first.created) + len(second.created) == 1  # the unique open key decides
    listing = await api.client.get("/v1/recommendations", headers=api.as_role(Role.VIEWER))
    assert len(listing.json()["items"]) == 1


async def test_a_failing_detector_is_recorded_and_the_others_still_write(api: Api) -> None:
    await _merchant_with_fraud(api)
    for i in range(5):
        await paid(api, timedelta(minutes=50 - i), card_number=card(40 + i % 3),
                   device_id="dev-ring", amount_minor=100)  # fmt: skip
    # A label window reaching before year 1 cannot be computed: that detector fails.
    broken = replace(POLICY, label_window=timedelta(days=800_000))
    result = await scan(api.runtime.engine, broken)
    assert set(result.failures) == {"merchant_fraud"}
    assert "OverflowError" in result.failures["merchant_fraud"]
    listing = await api.client.get("/v1/recommendations", headers=api.as_role(Role.VIEWER))
    assert [i["pattern"] for i in listing.json()["items"]] == ["card_testing_ring"]
