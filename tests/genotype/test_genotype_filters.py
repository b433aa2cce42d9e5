"""Genotype preprocessing: frequencies against scikit-allel, filters and imputation by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.container import genotype_anndata
from synthomics.errors import InputError
from synthomics.preprocessing.genotype import (
    allele_frequencies,
    filter_maf,
    filter_missingness,
    impute_mode,
    minor_allele_frequencies,
    missing_fraction,
    to_dosage,
)


def _variants(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chrom": "1",
            "pos": np.arange(1, n + 1),
            "id": [f"v{j}" for j in range(n)],
            "ref": "A",
            "alt": "G",
        }
    )


def _haplotype_pairs(rng: np.random.Generator, n_ind: int, n_var: int) -> np.ndarray:
    """Individuals x variants x 2 alleles with per-variant frequencies and 10% missing."""
    p = rng.uniform(0.02, 0.9, size=n_var)
    g = (rng.random((n_ind, n_var, 2)) < p[None, :, None]).astype(np.int8)
    g[rng.random((n_ind, n_var, 2)) < 0.1] = -1
    return g


def _both_layouts(g: np.ndarray):
    n_ind, n_var, _ = g.shape
    ids = [f"i{i}" for i in range(n_ind)]
    dosage = np.where((g < 0).any(axis=2), -1, g.sum(axis=2))
    dosage_ad = genotype_anndata(dosage, ids, _variants(n_var))
    rows = [f"{i}_{h}" for i in ids for h in "AB"]
    obs = pd.DataFrame(
        {"individual": np.repeat(ids, 2), "haplotype": np.tile([0, 1], n_ind)}, index=rows
    )
    haplotype_ad = genotype_anndata(
        g.transpose(0, 2, 1).reshape(2 * n_ind, n_var),
        rows,
        _variants(n_var),
        phased=True,
        layout="haplotype",
        obs=obs,
    )
    return dosage_ad, haplotype_ad


def test_allele_frequencies_match_scikit_allel():
    allel = pytest.importorskip("allel")
    g = _haplotype_pairs(np.random.default_rng(11), 25, 40)
    dosage_ad, haplotype_ad = _both_layouts(g)
    # scikit-allel's GenotypeArray is variants x samples x ploidy
    counts = allel.GenotypeArray(g.transpose(1, 0, 2)).count_alleles(max_allele=1)
    # haplotype layout: every called allele counts, as scikit-allel does
    np.testing.assert_allclose(allele_frequencies(haplotype_ad), counts.to_frequencies()[:, 1])
    # dosage layout: a call with one missing allele is a missing dosage, so compare with
    # scikit-allel after masking those half-missing calls
    half = (g < 0).any(axis=2)
    masked = np.where(half[..., None], -1, g)
    counts = allel.GenotypeArray(masked.transpose(1, 0, 2)).count_alleles(max_allele=1)
    np.testing.assert_allclose(allele_frequencies(dosage_ad), counts.to_frequencies()[:, 1])


def test_frequency_of_an_all_missing_variant_is_nan():
    adata = genotype_anndata(np.array([[0, -1], [2, -1]]), ["a", "b"], _variants(2))
    p = allele_frequencies(adata)
    assert p.iloc[0] == 0.5 and np.isnan(p.iloc[1])
    assert list(p.index) == ["v0", "v1"]


def test_filter_maf_by_hand():
    # ALT frequencies: v0 = 0/6, v1 = 1/6, v2 = 5/6 (MAF 1/6), v3 = 3/6, v4 = 1/4 (one missing)
    X = np.array([[0, 1, 2, 1, 1], [0, 0, 2, 1, 0], [0, 0, 1, 1, -1]])
    adata = genotype_anndata(X, ["a", "b", "c"], _variants(5))
    np.testing.assert_allclose(minor_allele_frequencies(adata), [0, 1 / 6, 1 / 6, 0.5, 0.25])
    kept = filter_maf(adata, min_maf=0.2)
    assert list(kept.var_names) == ["v3", "v4"]
    assert kept.uns["preprocessing"][-1] == {
        "step": "filter_maf",
        "min_maf": 0.2,
        "n_variants_before": 5,
        "n_variants_after": 2,
    }
    assert list(filter_maf(adata, min_maf=0.0).var_names) == ["v0", "v1", "v2", "v3", "v4"]
    assert adata.n_vars == 5  # the input is not changed
    with pytest.raises(InputError, match="min_maf"):
        filter_maf(adata, min_maf=0.7)


def test_filter_missingness_variants_and_individuals():
    X = np.array([[0, -1, -1], [1, -1, 0], [2, 0, -1], [0, 0, 0]])
    adata = genotype_anndata(X, ["a", "b", "c", "d"], _variants(3))
    # missing per variant: 0, 2/4, 2/4; per individual: 2/3, 1/3, 1/3, 0
    np.testing.assert_allclose(missing_fraction(adata), [0, 0.5, 0.5])
    assert list(filter_missingness(adata, 0.5).var_names) == ["v0", "v1", "v2"]
    assert list(filter_missingness(adata, 0.25).var_names) == ["v0"]
    kept = filter_missingness(adata, 0.4, axis="individuals")
    assert list(kept.obs_names) == ["b", "c", "d"]


def test_filter_missingness_keeps_haplotype_pairs_together():
    g = np.zeros((3, 4, 2), dtype=np.int8)
    g[0, :, 1] = -1  # individual i0: 4 of 8 alleles missing
    g[1, 0, 0] = -1  # individual i1: 1 of 8
    _, haplotypes = _both_layouts(g)
    np.testing.assert_allclose(missing_fraction(haplotypes, axis="individuals"), [0.5, 0.125, 0.0])
    kept = filter_missingness(haplotypes, 0.2, axis="individuals")
    assert list(kept.obs_names) == ["i1_A", "i1_B", "i2_A", "i2_B"]


def test_impute_mode_by_hand():
    X = np.array([[0, 2, -1], [2, 2, -1], [2, -1, -1], [-1, 1, -1]])
    adata = genotype_anndata(X, ["a", "b", "c", "d"], _variants(3))
    imputed = impute_mode(adata)
    # modes: v0 -> 2 (two 2s), v1 -> 2, v2 all missing -> 0
    np.testing.assert_array_equal(imputed.X, [[0, 2, 0], [2, 2, 0], [2, 2, 0], [2, 1, 0]])
    assert imputed.uns["preprocessing"][-1] == {"step": "impute_mode", "n_imputed": 6}
    assert (adata.X == -1).sum() == 6  # the input keeps its missing calls
    tie = genotype_anndata(np.array([[0], [1], [-1]]), ["a", "b", "c"], _variants(1))
    assert impute_mode(tie).X[2, 0] == 0  # ties go to the smaller value


def test_impute_mode_haplotype_layout():
    g = np.array([[[1, 1]], [[1, -1]], [[0, 1]]], dtype=np.int8)
    _, haplotypes = _both_layouts(g)
    np.testing.assert_array_equal(impute_mode(haplotypes).X[:, 0], [1, 1, 1, 1, 0, 1])


def test_to_dosage():
    g = _haplotype_pairs(np.random.default_rng(2), 6, 9)
    dosage, haplotypes = _both_layouts(g)
    haplotypes.obs["population"] = ["P"] * 6 + ["Q"] * 6
    haplotypes.obs["allele_note"] = [str(i) for i in range(12)]  # varies within individuals
    summed = to_dosage(haplotypes)
    np.testing.assert_array_equal(summed.X, dosage.X)
    assert list(summed.obs_names) == list(dosage.obs_names)
    assert summed.obs["population"].tolist() == ["P"] * 3 + ["Q"] * 3
    assert "allele_note" not in summed.obs.columns
    assert summed.uns["layout"] == "dosage" and summed.uns["ploidy"] == 2


def test_rejects_microbiome_tables():
    adata = genotype_anndata(np.zeros((2, 2)), ["a", "b"], _variants(2))
    adata.uns["omics"] = "microbiome"
    with pytest.raises(InputError, match="genotype container"):
        allele_frequencies(adata)
