"""Precision, recall, density and coverage (k = 3): each formula on a case worked by hand, then
the limits every reader expects (one set against itself, two far-apart sets, one distribution)."""

from __future__ import annotations

import numpy as np
import pytest

from wgan_kit.evaluation.manifold import knn_radii, manifold_scores

# Worked by hand, in 1-D, with k = 3 and open balls (distance < radius):
#   real        -100    0    10    20    30
#   its radius   120   30    20    20    30    (distance to its 3rd nearest real neighbour)
#   generated     25   26    27    28    90
#   its radius     3    2     2     3    64    (distance to its 3rd nearest generated neighbour)
REAL = np.array([-100.0, 0, 10, 20, 30])[:, None]
GENERATED = np.array([25.0, 26, 27, 28, 90])[:, None]


def test_knn_radii_reach_the_third_nearest_neighbour_of_the_same_set():
    assert knn_radii(REAL).tolist() == [120, 30, 20, 20, 30]
    assert knn_radii(GENERATED).tolist() == [3, 2, 2, 3, 64]
    with pytest.raises(ValueError, match="more than 3 samples"):
        knn_radii(REAL[:3])


def test_each_formula_on_the_case_worked_by_hand():
    result = manifold_scores(REAL, GENERATED)
    # precision: 25…28 lie in the ball of 0 (radius 30); 90 is 60 from 30, outside every ball.
    assert result.precision == pytest.approx(4 / 5)
    # recall: only 30 lies in a generated ball (28's: 2 < 3); 90's (radius 64) misses 20 by 6.
    assert result.recall == pytest.approx(1 / 5)
    # density: 25…28 each lie in 4 real balls (0, 10, 20, 30; not -100's: 125 ≥ 120), 90 in
    # none: 16 / (k·M) = 16 / 15 — above 1 though precision is below it: samples crowd.
    assert result.density == pytest.approx(16 / 15)
    # coverage: every real ball but -100's (its nearest generated sample is 125 away) holds one.
    assert result.coverage == pytest.approx(4 / 5)


def test_a_set_against_itself_scores_exactly_one_on_all_four():
    """Open balls: each holds its centre and its k − 1 nearest neighbours, so density is
    k / k = 1 exactly when no two distances tie (continuous samples)."""
    points = np.random.default_rng(0).normal(size=(500, 8))
    result = manifold_scores(points, points[::-1])
    assert (result.precision, result.recall, result.coverage) == (1.0, 1.0, 1.0)
    assert result.density == pytest.approx(1.0, abs=1e-12)


def test_far_apart_sets_score_zero_on_all_four():
    rng = np.random.default_rng(1)
    result = manifold_scores(rng.normal(size=(300, 4)), rng.normal(size=(200, 4)) + 100)
    assert (result.precision, result.recall, result.density, result.coverage) == (0, 0, 0, 0)


def test_two_samples_of_one_distribution_score_what_the_papers_expect():
    """Density is 1 in expectation (Naeem et al. 2020, Lemma 1) and coverage 1 − 2⁻ᵏ = 0.875 for
    N = M; with 2,000 points a side in the plane, the spread over seeds is about ±0.02 for both
    (seeds 0–4 gave density 0.98…1.03, coverage 0.87…0.89), so ±0.06 is three spreads. Precision
    and recall sit just below 1 (0.976…0.986): a few samples of one set fall outside the other's
    manifold at its edges."""
    rng = np.random.default_rng(2)
    result = manifold_scores(rng.normal(size=(2000, 2)), rng.normal(size=(2000, 2)))
    assert result.density == pytest.approx(1.0, abs=0.06)
    assert result.coverage == pytest.approx(0.875, abs=0.06)
    assert 0.95 < result.precision < 1 and 0.95 < result.recall < 1


def test_chunks_of_rows_change_nothing():
    rng = np.random.default_rng(3)
    real, generated = rng.normal(size=(101, 5)), rng.normal(size=(77, 5)) + 0.5
    assert manifold_scores(real, generated, chunk=7) == manifold_scores(real, generated)
    assert np.array_equal(knn_radii(real, chunk=10), knn_radii(real))
