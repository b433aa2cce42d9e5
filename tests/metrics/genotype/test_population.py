"""Allele frequencies, heterozygosity and the real-fitted PCA against scikit-allel."""

from __future__ import annotations

import allel
import numpy as np

from synthomics.metrics.genotype.population import (
    RealPCA,
    allele_frequency_pearson,
    alt_allele_frequencies,
    heterozygosity,
    heterozygosity_wasserstein,
)


def _allel_genotypes(G: np.ndarray) -> allel.GenotypeArray:
    """Dosages (-1 missing) as scikit-allel diploid calls: 0 -> 0/0, 1 -> 0/1, 2 -> 1/1."""
    calls = np.array([[0, 0], [0, 1], [1, 1]])[np.clip(G, 0, 2)]
    calls[G < 0] = -1
    return allel.GenotypeArray(np.ascontiguousarray(calls.transpose(1, 0, 2)))


def test_allele_frequencies_match_scikit_allel_with_missing_calls():
    G = np.random.default_rng(1).integers(-1, 3, size=(25, 9))
    expected = _allel_genotypes(G).count_alleles(max_allele=1).to_frequencies()[:, 1]
    np.testing.assert_allclose(alt_allele_frequencies(G), expected)


def test_heterozygosity_matches_scikit_allel():
    G = np.random.default_rng(2).integers(-1, 3, size=(25, 40))
    g = _allel_genotypes(G)
    expected = g.count_het(axis=0) / g.count_called(axis=0)
    np.testing.assert_allclose(heterozygosity(G), expected)


def test_allele_frequency_r_and_heterozygosity_w1_by_hand():
    real = np.array([[0, 2, 1], [0, 2, 1], [2, 0, 1]])
    synthetic = np.array([[0, 2, 2], [1, 1, 0], [2, 0, 1]])
    p = np.array([2, 4, 3]) / 6
    # synthetic frequencies are all 3/6: constant, so r is undefined
    assert np.isnan(allele_frequency_pearson(real, synthetic))
    q2 = synthetic.copy()
    q2[0, 0] = 2
    expected = np.corrcoef(p, np.array([5, 3, 3]) / 6)[0, 1]
    assert np.isclose(allele_frequency_pearson(real, q2), expected)
    # heterozygosity: real 1/3 each; synthetic 0, 2/3, 1/3 -> W1 = (1/3 + 1/3 + 0) / 3
    assert np.isclose(heterozygosity_wasserstein(real, synthetic), 2 / 9)


def test_pca_matches_scikit_allel_patterson_up_to_sign(simulated):
    G = np.asarray(simulated.X).astype(np.int64)
    keep = G.std(axis=0) > 0  # allel divides by zero on monomorphic variants
    G = G[:, keep]
    coords_allel, model = allel.pca(G.T.astype("f8"), n_components=2, scaler="patterson")
    pca = RealPCA.fit(G, 2)
    ours = pca.transform(G)
    for k in range(2):
        sign = np.sign(np.dot(ours[:, k], coords_allel[:, k]))
        np.testing.assert_allclose(sign * ours[:, k], coords_allel[:, k], atol=1e-6)
    np.testing.assert_allclose(pca.explained, model.explained_variance_ratio_, rtol=1e-6)
    # projection of other individuals: the same as allel's transform
    other = G[::3]
    projected = model.transform(other.T.astype("f8"))
    ours_other = pca.transform(other)
    for k in range(2):
        sign = np.sign(np.dot(ours[:, k], coords_allel[:, k]))
        np.testing.assert_allclose(sign * ours_other[:, k], projected[:, k], atol=1e-6)


def test_pca_separates_african_from_non_african_individuals(simulated):
    coords = RealPCA.fit(np.asarray(simulated.X), 2).transform(np.asarray(simulated.X))
    pop = simulated.obs["population"].astype(str).to_numpy()
    centres = np.array([coords[pop == p].mean(axis=0) for p in ("YRI", "CEU", "CHB")])
    spread = max(coords[pop == p].std(axis=0).max() for p in ("YRI", "CEU", "CHB"))
    gaps = [np.linalg.norm(centres[i] - centres[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    # 300 variants split YRI from CEU/CHB on PC1 (CEU and CHB are closer to each other)
    assert min(gaps[0], gaps[1]) > spread > gaps[2] / 10
