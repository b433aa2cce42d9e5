"""UniFrac and Faith PD against scikit-bio (expected values computed by scikit-bio 0.7)."""

from __future__ import annotations

import numpy as np
import pytest
from skbio.diversity import alpha_diversity, beta_diversity

from synthomics.errors import InputError
from synthomics.io.tree import tree_to_newick
from synthomics.metrics.alpha import faith_pd
from synthomics.metrics.unifrac import (
    tree_incidence,
    unweighted_unifrac,
    weighted_unifrac,
)

TAXA = [f"t{i}" for i in range(30)]


@pytest.fixture
def case(rng, make_tree, make_counts):
    tree = make_tree(TAXA, rng, root_length=0.7, extra_tips=5)
    X = make_counts(14, len(TAXA), rng)
    return tree, X, [f"s{i}" for i in range(len(X))]


@pytest.mark.parametrize("normalized", [False, True])
def test_weighted_unifrac_matches_skbio(case, normalized):
    tree, X, ids = case
    expected = beta_diversity(
        "weighted_unifrac", X, ids, taxa=TAXA, tree=tree, normalized=normalized
    ).data
    observed = weighted_unifrac(X, tree_incidence(tree, TAXA), normalized=normalized)
    np.testing.assert_allclose(observed, expected, atol=1e-9, rtol=0)


def test_unweighted_unifrac_matches_skbio(case):
    tree, X, ids = case
    expected = beta_diversity("unweighted_unifrac", X, ids, taxa=TAXA, tree=tree).data
    observed = unweighted_unifrac(X, tree_incidence(tree, TAXA))
    np.testing.assert_allclose(observed, expected, atol=1e-9, rtol=0)


def test_root_length_counts_as_in_skbio(rng, make_tree, make_counts):
    # the root's own branch enters the unweighted denominator and Faith PD in scikit-bio
    X = make_counts(6, len(TAXA), rng)
    ids = [f"s{i}" for i in range(6)]
    for root_length in (None, 5.0):
        tree = make_tree(TAXA, np.random.default_rng(1), root_length=root_length)
        inc = tree_incidence(tree, TAXA)
        expected = beta_diversity("unweighted_unifrac", X, ids, taxa=TAXA, tree=tree).data
        np.testing.assert_allclose(unweighted_unifrac(X, inc), expected, atol=1e-9)
        pd_expected = alpha_diversity("faith_pd", X, ids, taxa=TAXA, tree=tree).to_numpy()
        P = X / X.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(faith_pd(P, inc), pd_expected, atol=1e-9)


def test_cross_block_equals_full_matrix(case):
    tree, X, ids = case
    inc = tree_incidence(tree, TAXA)
    full = beta_diversity("weighted_unifrac", X, ids, taxa=TAXA, tree=tree).data
    cross = weighted_unifrac(X[:5], inc, X[5:])
    np.testing.assert_allclose(cross, full[:5, 5:], atol=1e-9)
    full_u = beta_diversity("unweighted_unifrac", X, ids, taxa=TAXA, tree=tree).data
    np.testing.assert_allclose(unweighted_unifrac(X[:5], inc, X[5:]), full_u[:5, 5:], atol=1e-9)


def test_empty_sample_matches_skbio(case):
    tree, X, ids = case
    X = X.copy()
    X[3] = 0
    inc = tree_incidence(tree, TAXA)
    for metric, fn in (
        ("weighted_unifrac", weighted_unifrac),
        ("unweighted_unifrac", unweighted_unifrac),
    ):
        expected = beta_diversity(metric, X, ids, taxa=TAXA, tree=tree).data
        np.testing.assert_allclose(fn(X, inc), expected, atol=1e-9)


def test_taxa_subset_of_tips_and_newick_input(case):
    tree, X, ids = case
    taxa = TAXA[::2]
    Xs = X[:, ::2]
    keep = Xs.sum(axis=1) > 0
    Xs, ids = Xs[keep], [i for i, k in zip(ids, keep, strict=True) if k]
    expected = beta_diversity("weighted_unifrac", Xs, ids, taxa=taxa, tree=tree).data
    inc = tree_incidence(tree_to_newick(tree), taxa)  # Newick text is accepted too
    np.testing.assert_allclose(weighted_unifrac(Xs, inc), expected, atol=1e-9)


def test_taxon_missing_from_tree_is_an_input_error(case):
    tree, _, _ = case
    with pytest.raises(InputError, match="not tips of the tree"):
        tree_incidence(tree, [*TAXA, "unknown_taxon"])
