"""Privacy metrics on hand-computed cases (1-D points, where distances are |x - y|)."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.metrics.privacy import (
    adversarial_accuracy,
    dcr,
    hellinger_features,
    membership_inference_auc,
    privacy_loss,
)


def col(*values):
    return np.asarray(values, dtype=float)[:, None]


def brute_force_aa(real, synthetic):
    """Yale et al. (2020) AA_TS written out with loops, as in the paper."""

    def nearest(x, pool, skip=None):
        return min(abs(x - y) for j, y in enumerate(pool) if j != skip)

    r, s = real.ravel(), synthetic.ravel()
    real_side = np.mean([nearest(x, s) > nearest(x, r, i) for i, x in enumerate(r)])
    synth_side = np.mean([nearest(x, r) > nearest(x, s, i) for i, x in enumerate(s)])
    return 0.5 * (real_side + synth_side)


def test_aats_hand_computed():
    # real 0, 1, 3; synthetic 0.5, 5, 6.
    # real side: d_RS = .5, .5, 2 vs d_RR = 1, 1, 2 -> none strictly larger (tie at 3): 0
    # synthetic side: d_SR = .5, 2, 3 vs d_SS = 4.5, 1, 1 -> 2 of 3
    assert adversarial_accuracy(col(0, 1, 3), col(0.5, 5, 6)) == pytest.approx(1 / 3)


def test_aats_matches_brute_force(rng):
    real, synthetic = rng.normal(size=(25, 1)), rng.normal(0.3, 1.5, size=(25, 1))
    assert adversarial_accuracy(real, synthetic) == pytest.approx(brute_force_aa(real, synthetic))


def test_copies_give_zero_accuracy_and_full_privacy_loss():
    train, holdout = col(0, 1, 2, 3), col(0.5, 1.5, 2.5, 3.6)
    aa_test, aa_train, loss = privacy_loss(train, holdout, train.copy())
    assert aa_train == 0.0  # every synthetic point sits on a training point
    assert aa_test == pytest.approx(brute_force_aa(holdout, train))
    assert loss == pytest.approx(aa_test - aa_train)


def test_unequal_sizes_are_input_errors():
    with pytest.raises(InputError, match="equal size"):
        adversarial_accuracy(col(0, 1, 2), col(0, 1))


def test_dcr_hand_computed():
    # DCR synthetic: 0, 0.2, 4 (median 0.2); held out: 0.5, 1, 2 (median 1)
    result = dcr(col(0, 0.2, 5), col(0, 1), col(0.5, 2, 3))
    assert result.dcr_ratio == pytest.approx(0.2)
    # 5th percentile of held-out DCRs (linear interpolation) = 0.55 -> 0 and 0.2 below
    assert result.dcr_close_share == pytest.approx(2 / 3)
    assert result.exact_copies == pytest.approx(1 / 3)
    assert result.near_copies == pytest.approx(2 / 3)  # 1st percentile = 0.51


def test_membership_inference_hand_computed():
    # members 0, 1 are at 0 and 0.8 from the synthetic points; non-members at .3, 1.8, 2
    # member closer than non-member in 5 of 6 pairs
    auc = membership_inference_auc(col(0, 1), col(0.5, 2, 3), col(0, 0.2, 5))
    assert auc == pytest.approx(5 / 6)


def test_hellinger_features():
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    expected = np.sqrt(((np.sqrt(p) - np.sqrt(q)) ** 2).sum())
    fp, fq = hellinger_features(p[None]), hellinger_features(q[None])
    assert np.linalg.norm(fp - fq) == pytest.approx(expected)
