"""Each pattern on crafted histories: just over its threshold it fires, citing its evidence;
just under (or on a history that cannot say) it does not."""

from riskops.investigations.tools import patterns
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
