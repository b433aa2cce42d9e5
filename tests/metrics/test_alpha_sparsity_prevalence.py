"""Alpha diversity, sparsity and prevalence metrics against scikit-bio, SciPy and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp, pearsonr, wasserstein_distance
from skbio.diversity import alpha_diversity

from synthomics.errors import InputError
from synthomics.metrics import alpha, prevalence, sparsity


def test_shannon_simpson_richness_match_skbio(rng, make_counts):
    X = make_counts(12, 20, rng)
    P = X / X.sum(axis=1, keepdims=True)
    ids = [str(i) for i in range(12)]
    # scikit-bio 0.7: shannon uses the natural log by default (nats); simpson = 1 - sum p²
    np.testing.assert_allclose(alpha.shannon(P), alpha_diversity("shannon", X, ids), atol=1e-12)
    np.testing.assert_allclose(alpha.simpson(P), alpha_diversity("simpson", X, ids), atol=1e-12)
    np.testing.assert_allclose(
        alpha.observed_richness(P), alpha_diversity("observed_features", X, ids), atol=0
    )


def test_distribution_distances_are_scipy():
    a, b = np.array([1.0, 2.0, 3.0, 7.0]), np.array([2.0, 2.5, 9.0])
    w1, ks = alpha.distribution_distances(a, b)
    assert w1 == wasserstein_distance(a, b)
    assert ks == ks_2samp(a, b).statistic


def test_sparsity_by_hand():
    real = np.array([[0, 1, 2], [3, 0, 0]], float)  # 3 zeros of 6: 50 %
    synth = np.array([[0, 0, 1], [0, 0, 1]], float)  # 4 zeros of 6: 66.7 %
    assert sparsity.zero_fraction_gap(real, synth) == pytest.approx(100 / 6)
    # richness real [2, 1], synthetic [1, 1]: W1 = 0.5
    assert sparsity.richness_wasserstein(real, synth) == pytest.approx(0.5)


def test_prevalence_and_abundance_correlations(rng, make_counts):
    real, synth = make_counts(30, 10, rng), make_counts(25, 10, rng)
    expected = pearsonr((real > 0).mean(0), (synth > 0).mean(0)).statistic
    assert prevalence.prevalence_pearson(real, synth) == pytest.approx(expected, rel=1e-12)
    P, Q = real / real.sum(1, keepdims=True), synth / synth.sum(1, keepdims=True)
    Q[:, 0] = 0  # an absent taxon gets the shared pseudocount, not -inf
    Q /= Q.sum(1, keepdims=True)
    means = np.r_[P.mean(0), Q.mean(0)]
    eps = means[means > 0].min() / 2
    expected = pearsonr(np.log10(P.mean(0) + eps), np.log10(Q.mean(0) + eps)).statistic
    assert prevalence.log_mean_abundance_pearson(P, Q) == pytest.approx(expected, rel=1e-12)


def test_mismatched_taxa_fail_loudly():
    with pytest.raises(InputError):
        sparsity.zero_fraction_gap(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(InputError):
        prevalence.prevalence_pearson(np.ones((3, 4)), np.ones((3, 5)))
    with pytest.raises(InputError, match="constant"):
        prevalence.prevalence_pearson(np.ones((3, 4)), np.eye(3, 4))


def _two_communities(rng, n):
    """Presence of 12 taxa in two communities: taxa 0-5 go together, so do 6-11."""
    community = rng.random(n) < 0.5
    taxa = np.where(community[:, None], [0.8] * 6 + [0.1] * 6, [0.1] * 6 + [0.8] * 6)
    return (rng.random((n, 12)) < taxa).astype(float)


def test_presence_coherence_tells_co_occurrence_from_chance(rng):
    train, held_out, other = (_two_communities(rng, n) for n in (400, 200, 200))
    model = sparsity.PresenceConditionals.fit(train, n_taxa=12)
    # new samples of the same communities are as coherent as the held-out ones
    assert abs(model.coherence_gap(held_out, other)) < 0.5
    # the same prevalences drawn independently are far less coherent
    independent = (rng.random((200, 12)) < train.mean(axis=0)).astype(float)
    assert model.coherence_gap(held_out, independent) < -1.5
    # one score per sample, in nats (log probabilities: never positive)
    scores = model.score(held_out)
    assert scores.shape == (200,) and (scores <= 0).all()
    # a taxon present in every training sample gets a fixed probability, not a classifier
    train[:, 0] = 1.0
    assert isinstance(sparsity.PresenceConditionals.fit(train, n_taxa=12).models[0], float)
    with pytest.raises(InputError, match="taxa"):
        model.coherence_gap(held_out, independent[:, :5])
