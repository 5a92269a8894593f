"""PSI against values computed by hand."""

import math

import numpy as np
import pytest

from riskops.ml.drift import EPSILON, Reference, psi, psi_report, reference_of


def test_reference_bins_are_the_training_deciles() -> None:
    reference = reference_of(np.arange(100, dtype=np.float64))
    assert reference.edges == pytest.approx([9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1])
    assert reference.proportions == pytest.approx([0.1] * 10)


def test_same_distribution_has_zero_psi() -> None:
    reference = reference_of(np.arange(1000, dtype=np.float64))
    assert psi(reference, np.arange(1000, dtype=np.float64)) == pytest.approx(0.0, abs=1e-12)


def test_psi_matches_the_hand_computed_sum() -> None:
    reference = Reference(edges=(1.0,), proportions=(0.5, 0.5))
    # Actual: 80% below 1, 20% at or above: (0.8-0.5)ln(0.8/0.5) + (0.2-0.5)ln(0.2/0.5).
    values = np.array([0.0] * 8 + [2.0] * 2)
    expected = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert psi(reference, values) == pytest.approx(expected)
    assert expected == pytest.approx(0.4158883, abs=1e-6)


def test_an_empty_bin_is_floored_not_infinite() -> None:
    reference = Reference(edges=(1.0,), proportions=(0.5, 0.5))
    values = np.zeros(10)  # every value in the first bin, none in the second
    expected = 0.5 * math.log(1 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    assert psi(reference, values) == pytest.approx(expected)


def test_a_flag_gets_two_bins_and_a_shift_shows() -> None:
    reference = reference_of(np.array([0.0] * 90 + [1.0] * 10))
    assert len(reference.edges) == 1  # one edge between 0 and 1: two bins
    assert reference.proportions == pytest.approx((0.9, 0.1))
    shifted = np.array([0.0] * 50 + [1.0] * 50)
    expected = (0.5 - 0.9) * math.log(0.5 / 0.9) + (0.5 - 0.1) * math.log(0.5 / 0.1)
    assert psi_report({"flag": reference}, {"flag": shifted}) == {"flag": round(expected, 6)}


def test_psi_needs_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        psi(Reference((1.0,), (0.5, 0.5)), np.array([np.nan]))
