"""Tests of synthomics.preprocessing.microbiome.

Expected values are hand-computed on the tiny table below, or come from scikit-bio
(``clr``, ``multi_replace``), from the hypergeometric moments of sampling without
replacement, or from an independent pandas re-implementation of the selection rule.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from skbio.stats.composition import clr as skbio_clr
from skbio.stats.composition import multi_replace

from synthomics.container import genotype_anndata, microbiome_anndata
from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.io.tree import tree_from_newick
from synthomics.preprocessing import (
    clr,
    clr_transform,
    filter_abundance,
    filter_prevalence,
    mean_relative_abundance,
    preprint_protocol,
    preprocessing_history,
    prevalence,
    rarefy,
    top_k_prevalent,
    total_sum_scale,
)

# samples x features a, b, c
COUNTS = np.array(
    [
        [1.0, 0.0, 3.0],
        [0.0, 0.0, 4.0],
        [2.0, 2.0, 0.0],
        [5.0, 0.0, 0.0],
    ]
)
TREE = "((a:1.0,b:2.0):1.0,c:1.0);"


@pytest.fixture
def table():
    return microbiome_anndata(
        COUNTS.copy(),
        ["s1", "s2", "s3", "s4"],
        ["a", "b", "c"],
        units="counts",
        obs=pd.DataFrame({"group": ["x", "x", "y", "y"]}, index=["s1", "s2", "s3", "s4"]),
        tree=TREE,
        tree_source="file",
    )


def _tips(adata):
    return sorted(t.name for t in tree_from_newick(adata.uns["tree"]).tips())


# ------------------------------------------------------------------ array functions


def test_prevalence_and_mean_relative_abundance_by_hand():
    # prevalence: a in s1, s3, s4; b in s3; c in s1, s2
    np.testing.assert_allclose(prevalence(COUNTS), [3 / 4, 1 / 4, 2 / 4])
    # relative rows: [1/4, 0, 3/4], [0, 0, 1], [1/2, 1/2, 0], [1, 0, 0]
    expected = np.array([1 / 4 + 0 + 1 / 2 + 1, 0 + 0 + 1 / 2 + 0, 3 / 4 + 1 + 0 + 0]) / 4
    np.testing.assert_allclose(mean_relative_abundance(COUNTS), expected)
    # units do not matter
    np.testing.assert_allclose(mean_relative_abundance(COUNTS * 7.5), expected)


def test_clr_transform_default_equals_skbio_multiplicative_replacement():
    expected = skbio_clr(multi_replace(COUNTS))
    np.testing.assert_allclose(clr_transform(COUNTS), expected, atol=1e-12)
    np.testing.assert_allclose(clr_transform(COUNTS).sum(axis=1), 0.0, atol=1e-12)


def test_clr_transform_pseudocount_equals_skbio_and_hand_computation():
    np.testing.assert_allclose(clr_transform(COUNTS, 1.0), skbio_clr(COUNTS + 1.0), atol=1e-12)
    # row 1 + 1 = [2, 1, 4]: log x - mean(log x), by hand
    logs = np.log([2.0, 1.0, 4.0])
    np.testing.assert_allclose(clr_transform(COUNTS, 1.0)[0], logs - logs.mean(), atol=1e-12)


def test_clr_transform_without_zeros_needs_no_replacement():
    X = np.array([[1.0, 2.0, 4.0]])
    logs = np.log([1.0, 2.0, 4.0])
    np.testing.assert_allclose(clr_transform(X), [logs - logs.mean()], atol=1e-12)


@pytest.mark.parametrize(
    ("X", "pseudocount"),
    [
        (np.array([[1.0, -1.0]]), None),  # negative
        (np.array([[0.0, 0.0], [1.0, 2.0]]), None),  # empty sample with replacement
        (np.array([[1.0, 2.0]]), 0.0),  # non-positive pseudocount
        (np.array([[1.0], [2.0]]), None),  # one feature
    ],
)
def test_clr_transform_rejects_bad_input(X, pseudocount):
    with pytest.raises(InputError):
        clr_transform(X, pseudocount)


# -------------------------------------------------------------- container functions


def test_total_sum_scale(table):
    out = total_sum_scale(table)
    np.testing.assert_allclose(out.X, COUNTS / COUNTS.sum(axis=1, keepdims=True))
    assert out.uns["units"] == "proportion"
    assert preprocessing_history(out)[-1]["step"] == "total_sum_scale"
    assert preprocessing_history(out)[-1]["units_before"] == "counts"
    # the input is untouched
    np.testing.assert_array_equal(table.X, COUNTS)
    assert "preprocessing" not in table.uns


def test_total_sum_scale_drops_empty_samples_with_warning(table):
    table.X[1] = 0.0
    with pytest.warns(UserWarning, match="s2"):
        out = total_sum_scale(table)
    assert list(out.obs_names) == ["s1", "s3", "s4"]
    assert preprocessing_history(out)[-1]["dropped_samples"] == ["s2"]
    np.testing.assert_allclose(out.X.sum(axis=1), 1.0)


def test_clr_adds_a_layer_and_keeps_x(table):
    out = clr(table, pseudocount=0.5)
    np.testing.assert_array_equal(out.X, COUNTS)
    np.testing.assert_allclose(out.layers["clr"], skbio_clr(COUNTS + 0.5), atol=1e-12)
    record = preprocessing_history(out)[-1]
    assert record == {"step": "clr", "layer": "clr", "zeros": "pseudocount", "pseudocount": 0.5}
    default = clr(table, layer="clr_mr")
    np.testing.assert_allclose(default.layers["clr_mr"], skbio_clr(multi_replace(COUNTS)))


def test_rarefy_sums_and_bounds(table):
    out = rarefy(table, depth=4, seed=1)
    np.testing.assert_array_equal(out.X.sum(axis=1), 4)
    assert np.all(out.X <= COUNTS)
    # s1 and s2 have exactly 4 reads: without replacement they come back unchanged
    # (scikit-bio's subsample_counts returns a copy when n equals the total)
    np.testing.assert_array_equal(out.X[:2], COUNTS[:2])


def test_rarefy_drops_shallow_samples_with_warning(table):
    with pytest.warns(UserWarning, match="fewer than 5 reads"):
        out = rarefy(table, depth=5, seed=0)
    assert list(out.obs_names) == ["s4"]
    assert preprocessing_history(out)[-1]["dropped_samples"] == ["s1", "s2", "s3"]
    assert out.n_vars == 3  # features are kept even when all zero


def test_rarefy_is_seeded(table):
    table.X[3] = [40, 30, 30]
    a = rarefy(table, depth=4, seed=7)
    b = rarefy(table, depth=4, seed=7)
    np.testing.assert_array_equal(a.X, b.X)
    draws = {tuple(rarefy(table, depth=4, seed=s).X[3]) for s in range(20)}
    assert len(draws) > 1


def test_rarefy_matches_hypergeometric_moments():
    # 2000 copies of one sample with 10 + 30 + 60 reads, rarefied to 20 reads: each
    # feature's count is hypergeometric with mean n*K/N and variance
    # n*(K/N)*(1-K/N)*(N-n)/(N-1) (sampling without replacement).
    row = np.array([10.0, 30.0, 60.0])
    n_rep, N, n = 2000, row.sum(), 20
    adata = microbiome_anndata(
        np.tile(row, (n_rep, 1)), [f"s{i}" for i in range(n_rep)], ["x", "y", "z"], units="counts"
    )
    X = rarefy(adata, depth=n, seed=3).X
    p = row / N
    mean = n * p
    var = n * p * (1 - p) * (N - n) / (N - 1)
    assert np.all(np.abs(X.mean(axis=0) - mean) <= 5 * np.sqrt(var / n_rep))
    np.testing.assert_allclose(X.var(axis=0), var, rtol=0.1)


@pytest.mark.parametrize("depth", [0, -3, 2.5, True])
def test_rarefy_rejects_bad_depth(table, depth):
    with pytest.raises(InputError):
        rarefy(table, depth=depth)


def test_rarefy_rejects_relative_or_fractional_tables(table):
    with pytest.raises(InputError, match="units 'proportion'"):
        rarefy(total_sum_scale(table), depth=1)
    table.X[0, 0] = 0.5
    with pytest.raises(InputError, match="non-integer"):
        rarefy(table, depth=1)


def test_filter_prevalence_prunes_tree(table):
    out = filter_prevalence(table, 0.5)  # prevalences 0.75, 0.25, 0.5
    assert list(out.var_names) == ["a", "c"]
    assert _tips(out) == ["a", "c"]
    # shear merges single-child nodes: the path a-c keeps its length 1 + 1 + 1
    tree = tree_from_newick(out.uns["tree"])
    assert tree.find("a").distance(tree.find("c")) == pytest.approx(3.0)
    record = preprocessing_history(out)[-1]
    assert record["step"] == "filter_prevalence"
    assert (record["n_features_before"], record["n_features_after"]) == (3, 2)


def test_filter_prevalence_keeps_everything_at_zero(table):
    out = filter_prevalence(table, 0.0)
    assert out.n_vars == 3
    assert out.uns["tree"] == TREE


def test_filter_abundance(table):
    # mean relative abundances 0.4375, 0.125, 0.4375 (hand-computed above)
    out = filter_abundance(table, 0.2)
    assert list(out.var_names) == ["a", "c"]
    assert list(filter_abundance(table, 0.125).var_names) == ["a", "b", "c"]


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_filters_reject_fractions_outside_unit_interval(table, value):
    with pytest.raises(InputError):
        filter_prevalence(table, value)
    with pytest.raises(InputError):
        filter_abundance(table, value)


def test_top_k_prevalent_ties_by_abundance_then_name():
    # prevalence: p=1, q=1, r=1, s=0.5; mean relative abundance: q > p = r
    X = np.array([[2.0, 4.0, 2.0, 0.0], [2.0, 4.0, 2.0, 1.0]])
    adata = microbiome_anndata(X, ["s1", "s2"], ["r", "q", "p", "s"], units="counts")
    assert list(top_k_prevalent(adata, 1).var_names) == ["q"]
    # p and r tie on prevalence and abundance: the name decides, p first
    assert list(top_k_prevalent(adata, 2).var_names) == ["q", "p"]
    assert list(top_k_prevalent(adata, 3).var_names) == ["r", "q", "p"]  # input order kept
    assert top_k_prevalent(adata, 10).n_vars == 4


def test_tree_dropped_with_warning_when_no_kept_feature_is_on_it():
    adata = microbiome_anndata(
        np.array([[0.0, 0.0, 5.0], [1.0, 0.0, 5.0]]),
        ["s1", "s2"],
        ["a", "b", "c"],
        units="counts",
        tree="(a:1,b:1);",
        tree_source="file",
    )
    adata.var["on_tree"] = [True, True, False]
    with pytest.warns(UserWarning, match="no tree tip"):
        out = filter_prevalence(adata, 1.0)
    assert list(out.var_names) == ["c"]
    assert "tree" not in out.uns and "tree_source" not in out.uns
    assert not out.var["on_tree"].any()


def test_preprint_protocol_matches_independent_selection():
    adata = synthetic_microbiome(n_samples=80, n_taxa=120, seed=4, dropout=0.7)
    adata.X[:, :5] = 0.0  # some features never present
    adata.X[0, :5] = 1.0  # ... except in one sample: prevalence 1/80 >= 1 %
    kept = preprint_protocol(adata, min_prevalence=0.05, min_mean_abundance=1e-3, k=30)

    # independent implementation with pandas
    X = adata.X
    rel = X / X.sum(axis=1, keepdims=True)
    stats = pd.DataFrame(
        {"prev": (X > 0).mean(axis=0), "mean": rel.mean(axis=0), "name": adata.var_names},
        index=adata.var_names,
    )
    eligible = stats[(stats.prev >= 0.05) & (stats["mean"] >= 1e-3)]
    top = eligible.sort_values(["prev", "mean", "name"], ascending=[False, False, True]).head(30)
    expected = [f for f in adata.var_names if f in set(top.index)]
    assert list(kept.var_names) == expected
    assert _tips(kept) == sorted(expected)
    record = preprocessing_history(kept)[-1]
    assert record["step"] == "preprint_protocol"
    assert record["n_after_prevalence"] == int((stats.prev >= 0.05).sum())
    assert record["n_after_abundance"] == len(eligible)
    assert record["n_features_after"] == 30


def test_preprint_protocol_defaults_keep_rare_but_present_features():
    adata = synthetic_microbiome(n_samples=200, n_taxa=40, seed=2)
    kept = preprint_protocol(adata)  # 1 %, 1e-5, 500
    prev = prevalence(adata.X)
    mean = mean_relative_abundance(adata.X)
    assert list(kept.var_names) == list(adata.var_names[(prev >= 0.01) & (mean >= 1e-5)])


def test_tree_match_report_follows_the_filter(table):
    table.var["on_tree"] = True
    table.uns["tree_match"] = {"n_features": 3, "n_matched": 3, "abundance_fraction_mean": 1.0}
    out = filter_prevalence(table, 0.5)
    assert out.uns["tree_match"] == {"n_features": 2, "n_matched": 2}


def test_history_accumulates_in_order(table):
    out = total_sum_scale(filter_prevalence(table, 0.5))
    assert [r["step"] for r in preprocessing_history(out)] == [
        "filter_prevalence",
        "total_sum_scale",
    ]


def test_genotypes_are_refused():
    variants = pd.DataFrame(
        {"chrom": ["1"], "pos": [10], "id": ["rs1"], "ref": ["A"], "alt": ["G"]}
    )
    geno = genotype_anndata(np.array([[0], [1]]), ["i1", "i2"], variants)
    with pytest.raises(InputError, match="microbiome"):
        total_sum_scale(geno)


def test_tree_distances_between_kept_tips_are_preserved():
    adata = synthetic_microbiome(n_samples=30, n_taxa=25, seed=9)
    full = tree_from_newick(adata.uns["tree"])
    kept = top_k_prevalent(adata, 8)
    pruned = tree_from_newick(kept.uns["tree"])
    names = list(kept.var_names)
    for x, y in itertools.pairwise(names):
        expected = full.find(x).distance(full.find(y))
        assert pruned.find(x).distance(pruned.find(y)) == pytest.approx(expected)
