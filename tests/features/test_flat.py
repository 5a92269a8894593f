"""The decision path's vector, read straight off a flat reply, is the definitions' vector."""

import random
from datetime import timedelta

import pytest

from riskops.features import FEATURE_NAMES, build_feature_vector
from riskops.features.flat import FLAT_LENGTH, decode_aggregates, vector_from_values
from tests.features.payments import T0, make_payment

WINDOW_VALUES = 4 * 5 * 4  # kinds x windows x (count, sum, distinct merchants, countries)


def flat_reply(rng: random.Random, *, device: bool) -> list[int]:
    """A reply in the shared layout; zeros are common so empty windows and ratios show up."""
    windows = [rng.choice([0, 0, 1, 2, rng.randrange(1_000_000)]) for _ in range(WINDOW_VALUES)]
    if not device:
        windows[40:60] = [0] * 20
    flags = [int(device), rng.randrange(2), rng.randrange(2), rng.randrange(2) * int(device)]
    # Frauds can exceed payments (a label outlives its expired payment): the rate is capped.
    delayed = [rng.choice([0, 1, 3, 50]) for _ in range(6)]
    values = windows + flags + delayed
    assert len(values) == FLAT_LENGTH
    return values


@pytest.mark.parametrize("seed", range(5))
def test_equals_build_feature_vector_on_random_replies(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        payment = make_payment(
            at=T0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 14)),
            amount=rng.choice([0, 1, 250, 99_999]),
            device=rng.choice(["dev-1", None]),
        )
        values = flat_reply(rng, device=payment.device_id is not None)
        got = vector_from_values(payment, values)
        expected = build_feature_vector(payment, decode_aggregates(values, replayed=False))
        assert tuple(got) == FEATURE_NAMES
        assert list(got.items()) == list(expected.items())
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_a_reply_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="values in a store reply"):
        vector_from_values(make_payment(), [0] * (FLAT_LENGTH - 1))
