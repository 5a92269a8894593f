"""The simulator: deterministic, within seed 002's data contract, with its fraud scenarios."""

import re
from collections import Counter
from datetime import UTC, datetime

from riskops.simulation.generator import COUNTRIES, DEVICES, MAX_AMOUNT_MINOR, Simulator

START = datetime(2026, 11, 21, 9, tzinfo=UTC)  # in the past: event times may not lead
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def run(seed: int, count: int = 4000) -> list[object]:
    simulator = Simulator(seed, START, rate=100)
    return [simulator.next() for _ in range(count)]


def test_the_same_seed_gives_the_same_payments_ids_included() -> None:
    one, two = run(7, 500), run(7, 500)
    assert [(p.event_id, p.request, p.label, p.label_delay) for p in one] == [  # type: ignore[attr-defined]
        (p.event_id, p.request, p.label, p.label_delay)
        for p in two  # type: ignore[attr-defined]
    ]
    assert [p.event_id for p in run(8, 500)] != [p.event_id for p in one]  # type: ignore[attr-defined]


def test_payments_follow_the_data_contract() -> None:
    payments = run(3)
    ids = [p.event_id for p in payments]  # type: ignore[attr-defined]
    assert len(set(ids)) == len(ids) and all(ULID.match(i) for i in ids)
    assert ids == sorted(ids)  # ULIDs follow event time
    for p in payments:
        request = p.request  # type: ignore[attr-defined]
        assert re.fullmatch(r"user-[0-9]+", p.user_id)  # type: ignore[attr-defined]
        assert request.user_id == p.user_id  # type: ignore[attr-defined]
        assert 0 < request.amount_minor <= MAX_AMOUNT_MINOR and request.currency == "USD"
        assert request.merchant_country in COUNTRIES
        assert p.device in DEVICES  # type: ignore[attr-defined]
        assert p.label in (0, 1) and p.label_delay > 0  # type: ignore[attr-defined]
    times = [p.request.occurred_at for p in payments]  # type: ignore[attr-defined]
    assert times == sorted(times) and times[0] == START


def test_fraud_scenarios_show_their_signatures() -> None:
    payments = run(5, 20_000)
    by = Counter(p.scenario for p in payments)  # type: ignore[attr-defined]
    assert set(by) == {
        "everyday",
        "card_testing",
        "account_takeover",
        "compromised_merchant",
        "amount_spike",
    }
    fraud_rate = sum(p.label for p in payments) / len(payments)  # type: ignore[attr-defined]
    assert 0.01 < fraud_rate < 0.15
    testing = [p for p in payments if p.scenario == "card_testing"]  # type: ignore[attr-defined]
    assert all(p.request.amount_minor <= 300 and p.label == 1 for p in testing)  # type: ignore[attr-defined]
    everyday = [p for p in payments if p.scenario == "everyday"]  # type: ignore[attr-defined]
    assert sum(p.label for p in everyday) / len(everyday) < fraud_rate  # type: ignore[attr-defined]
