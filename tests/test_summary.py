"""Tests of synthomics.summary.

Expected values are computed by hand on tiny containers (see the comments), and the
minor allele frequencies are checked against scikit-allel.
"""

from __future__ import annotations

import io
import json

import allel
import anndata as ad
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from synthomics.container import genotype_anndata, microbiome_anndata
from synthomics.errors import InputError
from synthomics.preprocessing import minor_allele_frequencies
from synthomics.summary import maf_spectrum, summarize

COUNTS = np.array(
    [
        [1.0, 0.0, 3.0],
        [0.0, 0.0, 4.0],
        [2.0, 2.0, 0.0],
        [5.0, 0.0, 0.0],
    ]
)


@pytest.fixture
def microbiome():
    taxonomy = pd.DataFrame(
        {
            "kingdom": ["Bacteria", "Bacteria", "Bacteria"],
            "genus": ["Prevotella", "Prevotella", np.nan],
        },
        index=["a", "b", "c"],
    )
    obs = pd.DataFrame(
        {"disease": ["IBD", "control", "control", np.nan], "age": [30.0, 41.0, 52.0, 63.0]},
        index=["s1", "s2", "s3", "s4"],
    )
    return microbiome_anndata(
        COUNTS.copy(),
        ["s1", "s2", "s3", "s4"],
        ["a", "b", "c"],
        units="counts",
        taxonomy=taxonomy,
        obs=obs,
        tree="((a:1,b:1):1,x:1);",  # x is not a feature
        tree_source="file",
        source="toy.tsv",
    )


def test_microbiome_summary_by_hand(microbiome):
    s = summarize(microbiome)
    assert s.title == "toy.tsv"
    assert s["samples"] == 4
    assert s["features"] == 3
    assert s["units"] == "counts"
    assert s["sparsity"] == pytest.approx(6 / 12)  # six zero cells
    assert s["library size"] == {"min": 4.0, "median": 4.0, "max": 5.0}  # sums 4, 4, 4, 5
    assert s["ranks"] == {"kingdom": 1, "genus": 1}
    assert s["tree"] == {"tips": 3, "features on tree": 2, "features": 3, "source": "file"}
    # share of a + b per sample: 1/4, 0/4, 4/4, 5/5
    assert s["abundance on tree"] == pytest.approx({"mean": 2.25 / 4, "min": 0.0})
    assert s["obs: disease"] == {"levels": 2, "control": 2, "IBD": 1, "missing": 1}
    assert s["obs: age"] == {"levels": 4, "30.0": 1, "41.0": 1, "52.0": 1, "63.0": 1}


def test_relative_tables_report_row_sums(microbiome):
    microbiome.X = COUNTS / COUNTS.sum(axis=1, keepdims=True)
    microbiome.uns["units"] = "proportion"
    del microbiome.uns["tree"]
    s = summarize(microbiome)
    assert "library size" not in s
    assert s["row sums"] == pytest.approx({"min": 1.0, "median": 1.0, "max": 1.0})
    assert s["tree"] == "none"
    assert "abundance on tree" not in s


def test_numeric_obs_columns_with_many_values_get_a_range():
    n = 20
    adata = microbiome_anndata(
        np.ones((n, 2)),
        [f"s{i}" for i in range(n)],
        ["a", "b"],
        units="counts",
        obs=pd.DataFrame({"bmi": np.arange(n, dtype=float)}, index=[f"s{i}" for i in range(n)]),
    )
    value = summarize(adata)["obs: bmi"]
    assert value == {"type": "numeric", "min": 0.0, "median": 9.5, "max": 19.0}


def test_preprocessing_steps_are_listed(microbiome):
    from synthomics.preprocessing import filter_prevalence, total_sum_scale

    s = summarize(total_sum_scale(filter_prevalence(microbiome, 0.5)))
    assert s["preprocessing"] == ["filter_prevalence", "total_sum_scale"]
    assert s["features"] == 2


def _variants(n):
    return pd.DataFrame(
        {
            "chrom": ["1"] * (n - 1) + ["2"],
            "pos": np.arange(1, n + 1) * 100,
            "id": [f"rs{i}" for i in range(n)],
            "ref": ["A"] * n,
            "alt": ["G"] * n,
        }
    )


# individuals x variants; -1 = missing
DOSAGES = np.array(
    [
        [0, 2, 0, -1, 1],
        [0, 2, 1, -1, 0],
        [0, 1, 0, -1, 0],
        [0, 2, -1, -1, 0],
    ]
)


@pytest.fixture
def genotypes():
    obs = pd.DataFrame({"population": ["A", "A", "B", "B"]}, index=["i1", "i2", "i3", "i4"])
    adata = genotype_anndata(DOSAGES, ["i1", "i2", "i3", "i4"], _variants(5), obs=obs)
    adata.uns["label_column"] = "population"
    return adata


def test_maf_by_hand_and_against_scikit_allel(genotypes):
    # variant 0: 0/8 alt -> 0; variant 1: 7/8 alt -> MAF 1/8; variant 2: 1/6 (one missing);
    # variant 3: no call -> NaN; variant 4: 1/8
    expected = np.array([0.0, 1 / 8, 1 / 6, np.nan, 1 / 8])
    np.testing.assert_allclose(minor_allele_frequencies(genotypes).to_numpy(), expected)
    # scikit-allel: genotype calls from dosages (0 -> 0/0, 1 -> 0/1, 2 -> 1/1, -1 -> ./.)
    calls = {0: [0, 0], 1: [0, 1], 2: [1, 1], -1: [-1, -1]}
    g = allel.GenotypeArray(np.array([[calls[v] for v in row] for row in DOSAGES.T]))
    freqs = g.count_alleles().to_frequencies()
    with np.errstate(invalid="ignore"):
        allel_maf = np.minimum(freqs[:, 0], freqs[:, 1])
    called = ~np.isnan(expected)
    np.testing.assert_allclose(
        minor_allele_frequencies(genotypes).to_numpy()[called], allel_maf[called]
    )


def test_maf_spectrum_bins():
    spectrum = maf_spectrum(np.array([0.0, 0.005, 0.01, 0.049, 0.05, 0.1, 0.15, 0.2, 0.5, np.nan]))
    assert spectrum == {
        "monomorphic": 1,
        "0-0.01": 1,
        "0.01-0.05": 2,
        "0.05-0.1": 1,
        "0.1-0.2": 2,
        "0.2-0.5": 2,
        "all missing": 1,
    }


def test_genotype_summary_by_hand(genotypes):
    s = summarize(genotypes)
    assert s["individuals"] == 4
    assert s["variants"] == 5
    assert (s["layout"], s["ploidy"], s["phased"]) == ("dosage", 2, False)
    assert s["missingness"] == pytest.approx(5 / 20)  # 4 in variant 3, 1 in variant 2
    # MAFs 0, 1/8, 1/6, NaN, 1/8
    assert s["MAF spectrum"] == {
        "monomorphic": 1,
        "0-0.01": 0,
        "0.01-0.05": 0,
        "0.05-0.1": 0,
        "0.1-0.2": 3,
        "0.2-0.5": 0,
        "all missing": 1,
    }
    assert s["chromosomes"] == {"1": 4, "2": 1}
    assert s["label column"] == "population"
    assert s["obs: population"] == {"levels": 2, "A": 2, "B": 2}


def test_haplotype_layout_counts_individuals():
    X = np.array([[0, 1], [1, 1], [0, 0], [0, 1]])
    obs = pd.DataFrame(
        {"individual": ["i1", "i1", "i2", "i2"], "haplotype": [0, 1, 0, 1]},
        index=["i1_A", "i1_B", "i2_A", "i2_B"],
    )
    adata = genotype_anndata(
        X, list(obs.index), _variants(2), layout="haplotype", phased=True, obs=obs
    )
    s = summarize(adata)
    assert s["individuals"] == 2
    assert s["haplotypes"] == 4
    # alt allele frequencies 1/4 and 3/4 -> MAF 0.25 both
    np.testing.assert_allclose(minor_allele_frequencies(adata).to_numpy(), [0.25, 0.25])
    assert "obs: individual" not in s


def test_summary_serialises_and_prints(genotypes, microbiome):
    for adata in (genotypes, microbiome):
        s = summarize(adata, title="x")
        data = json.loads(json.dumps(s.as_dict()))
        assert data["title"] == "x"
        assert data["omics"] == adata.uns["omics"]
        assert list(data["fields"]) == [k for k, _ in s]
        out = io.StringIO()
        Console(file=out, width=120).print(s.to_table())
        assert "sparsity" in out.getvalue() or "MAF spectrum" in out.getvalue()
        assert str(s).startswith("x\n")


def test_unknown_omics_is_an_input_error():
    with pytest.raises(InputError, match="omics"):
        summarize(ad.AnnData(np.ones((2, 2))))


def test_table_collapses_many_obs_columns():
    n = 3
    obs = pd.DataFrame({f"c{i}": ["x"] * n for i in range(5)}, index=[f"s{i}" for i in range(n)])
    adata = microbiome_anndata(
        np.ones((n, 2)), list(obs.index), ["a", "b"], units="counts", obs=obs
    )
    s = summarize(adata)
    out = io.StringIO()
    Console(file=out, width=200).print(s.to_table(max_obs_columns=2))
    text = out.getvalue()
    assert "obs: c1" in text and "obs: c2" not in text
    assert "obs: 3 more" in text and "c2, c3, c4" in text
