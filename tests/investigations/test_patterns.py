"""Each pattern on crafted histories: just over its threshold it fires, citing its evidence;
just under (or on a history that cannot say) it does not."""

from riskops.investigations.tools import geo, patterns
from tests.investigations.crafted import context, earlier, payment, windows


def test_card_testing_fires_on_a_burst_of_small_payments_within_the_hour() -> None:
    burst = [earlier(m, amount_minor=100, merchant_id=f"m-{m}") for m in range(5, 55, 10)]
    ctx = context(histories={"card": burst})
    found = patterns.card_testing(ctx)
    assert found is not None and found.name == "card_testing"
    assert found.facts == {"small_payments": 5, "merchants": 5}
    assert found.evidence_ids == [ctx.refs["history:card"]] and 0 < found.strength <= 1


def test_card_testing_ignores_large_payments_old_ones_and_four_small_ones() -> None:
    assert (
        patterns.card_testing(
            context(histories={"card": [earlier(m, amount_minor=100) for m in (1, 2, 3, 4)]})
        )
        is None
    )
    big = [earlier(m, amount_minor=5_000) for m in range(1, 10)]
    assert patterns.card_testing(context(histories={"card": big})) is None
    old = [earlier(m, amount_minor=100) for m in range(61, 70)]
    assert patterns.card_testing(context(histories={"card": old})) is None


def test_velocity_is_measured_against_the_cards_own_baseline() -> None:
    spike = patterns.velocity(context(histories={"card": []}, summaries={"card": windows(6, 12)}))
    assert spike is not None and spike.facts["ratio"] >= patterns.VELOCITY_FACTOR
    # A card that always pays six times a day is not spiking at six.
    assert patterns.velocity(context(summaries={"card": windows(6, 6 * 30)})) is None
    assert patterns.velocity(context(summaries={"card": windows(2, 8)})) is None  # too few
    # A new card has no baseline: its first busy day is not a spike against itself.
    assert patterns.velocity(context(summaries={"card": windows(9, 9)})) is None


def test_a_new_device_with_a_high_amount_fires_and_a_known_one_does_not() -> None:
    history = {"card": [earlier(600, amount_minor=2_000), earlier(900, amount_minor=3_000)]}
    new_device = payment(amount_minor=60_000, device_id="dev-new")
    found = patterns.new_device_or_country(context(new_device, history))
    assert found is not None and found.facts["new_device"] and not found.facts["new_country"]
    new_both = payment(amount_minor=60_000, device_id="dev-new", merchant_country="BR")
    both = patterns.new_device_or_country(context(new_both, history))
    assert both is not None and both.strength > found.strength
    # Known device and country, or a small amount, or no history at all: nothing.
    assert patterns.new_device_or_country(context(payment(amount_minor=60_000), history)) is None
    small = payment(amount_minor=2_600, device_id="dev-new")
    assert patterns.new_device_or_country(context(small, history)) is None
    assert patterns.new_device_or_country(context(new_device, {"card": []})) is None


def test_a_merchant_whose_recent_payments_carry_confirmed_fraud() -> None:
    rows = [earlier(m, label=1 if m < 30 else None) for m in (10, 20, 40, 50)]
    ctx = context(histories={"merchant": rows})
    found = patterns.merchant_fraud(ctx)
    assert found is not None and found.facts == {"fraud": 2, "payments": 4, "share": 0.5}
    fraud_refs = {ctx.refs[f"fraud:{r['id']}"] for r in rows if r["label"] == 1}
    assert fraud_refs <= set(found.evidence_ids)
    one = [earlier(10, label=1), earlier(20, label=0), earlier(30)]
    assert patterns.merchant_fraud(context(histories={"merchant": one})) is None


def test_entities_linked_through_a_shared_device() -> None:
    shared = {"device": {"windows": {}, "linked": {"card": ["a", "b", "c", "d"]}}}
    ctx = context(summaries=shared)
    found = patterns.shared_entities(ctx)
    assert found is not None and found.entity == {"kind": "device", "id": "dev-1"}
    assert found.evidence_ids == [ctx.refs["links:device"]]
    two = {"device": {"windows": {}, "linked": {"card": ["a", "b"]}}}
    assert patterns.shared_entities(context(summaries=two)) is None


def test_detect_orders_patterns_strongest_first() -> None:
    burst = [earlier(m, amount_minor=100, merchant_id=f"m-{m}") for m in range(2, 40, 4)]
    ctx = context(histories={"card": burst}, summaries={"card": windows(10, 14)})
    found = patterns.detect(ctx)
    assert {"card_testing", "velocity"} <= {p.name for p in found}
    assert [p.strength for p in found] == sorted((p.strength for p in found), reverse=True)
    assert patterns.detect(context()) == []


def test_impossible_travel_between_card_present_payments_in_far_countries() -> None:
    # Card-present in Brazil three hours ago, now card-present in Germany: ~7,000 km at least.
    history = {"card": [earlier(180, merchant_country="BR", channel="pos")]}
    ctx = context(payment(channel="pos"), history)
    found = patterns.impossible_travel(ctx)
    assert found is not None and found.entity == {"kind": "card", "id": "tok-1"}
    assert found.facts["from_country"] == "BR" and found.facts["to_country"] == "DE"
    assert found.facts["speed_kmh"] > patterns.TRAVEL_SPEED_KMH
    assert found.facts["other_transaction_id"] == history["card"][0]["id"]
    assert found.evidence_ids == [ctx.refs["transaction"], ctx.refs["history:card"]]
    assert found.strength >= 0.7  # strong: the recommendation blocks the card


def test_travel_that_was_possible_or_cannot_be_judged_is_not_impossible() -> None:
    pos = payment(channel="pos")
    cases = {
        "a day and more is enough to fly": [earlier(30 * 60, merchant_country="BR", channel="pos")],
        "neighbours share a border": [earlier(10, merchant_country="FR", channel="pos")],
        "an online merchant's country is not where the card was": [
            earlier(60, merchant_country="BR", channel="ecom")
        ],
        "a country the table does not know": [earlier(60, merchant_country="ZZ", channel="atm")],
        "the same country": [earlier(5, channel="pos")],
    }
    for why, rows in cases.items():
        assert patterns.impossible_travel(context(pos, {"card": rows})) is None, why
    # The payment itself online: it says nothing about where the card is.
    far = {"card": [earlier(60, merchant_country="BR", channel="pos")]}
    assert patterns.impossible_travel(context(payment(channel="ecom"), far)) is None


def test_impossible_travel_of_one_account_across_its_cards() -> None:
    other_card = earlier(120, merchant_country="US", channel="atm", card_token="tok-2")
    ctx = context(payment(channel="atm"), {"card": [], "account": [other_card]})
    found = patterns.impossible_travel(ctx)
    assert found is not None and found.entity == {"kind": "account", "id": "acct-1"}
    assert found.evidence_ids == [ctx.refs["transaction"], ctx.refs["history:account"]]


def test_entities_linked_through_a_shared_card_ip_or_accounts_on_a_device() -> None:
    by_card = context(summaries={"card": {"windows": {}, "linked": {"account": ["a", "b", "c"]}}})
    found = patterns.shared_entities(by_card)
    assert found is not None and found.entity == {"kind": "card", "id": "tok-1"}
    assert found.facts == {"kind": "card", "accounts": 3}
    assert found.evidence_ids == [by_card.refs["links:card"]]
    by_ip = context(summaries={"ip": {"windows": {}, "linked": {"device": ["1", "2", "3", "4"]}}})
    found = patterns.shared_entities(by_ip)
    assert found is not None and found.entity == {"kind": "ip", "id": "10.0.0.1"}
    assert found.facts == {"kind": "ip", "devices": 4}
    accounts = {"device": {"windows": {}, "linked": {"account": ["a", "b", "c"], "card": ["x"]}}}
    found = patterns.shared_entities(context(summaries=accounts))
    assert found is not None and found.facts == {"kind": "device", "accounts": 3}
    # Two accounts on one card (a couple sharing it) or a card's several devices: nothing.
    pair = {"card": {"windows": {}, "linked": {"account": ["a", "b"], "device": ["1", "2", "3"]}}}
    assert patterns.shared_entities(context(summaries=pair)) is None


def test_the_least_distance_between_countries_is_a_lower_bound() -> None:
    assert geo.least_distance_km("DE", "FR") == 0.0  # neighbours: any border town is near
    assert geo.least_distance_km("de", "DE") == 0.0
    assert (
        5_000
        < (geo.least_distance_km("DE", "BR") or 0)
        < geo.great_circle_km(geo.COUNTRIES["DE"][:2], geo.COUNTRIES["BR"][:2])
    )
    assert geo.least_distance_km("DE", "ZZ") is None


def test_velocity_of_a_device_against_its_own_baseline() -> None:
    ctx = context(summaries={"card": windows(2, 20), "device": windows(12, 16)})
    found = patterns.velocity(ctx)
    assert found is not None and found.entity == {"kind": "device", "id": "dev-1"}
    assert found.evidence_ids == []  # no device history in this crafted context
    assert found.facts["count_24h"] == 12
    # A device as busy every day as today is not spiking.
    assert patterns.velocity(context(summaries={"device": windows(12, 12 * 30)})) is None
