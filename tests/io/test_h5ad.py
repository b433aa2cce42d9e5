"""``.h5ad`` files: lossless round trips, validation on reading, atomic writes."""

from __future__ import annotations

import os

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import synthomics.io as sio
from synthomics.container import genotype_anndata, microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.h5ad import read_h5ad, write_h5ad
from synthomics.io.tree import attach_taxonomy_tree


def test_round_trip_keeps_values_metadata_and_tree(tmp_path, small_adata):
    attach_taxonomy_tree(small_adata)
    small_adata.uns["tree_match"] = {"n_matched": 3, "abundance_fraction_min": 0.5}
    path = sio.write(small_adata, tmp_path / "x.h5ad")
    back = sio.read(path)
    assert np.array_equal(back.X, small_adata.X)
    assert back.X.dtype == np.float64
    assert list(back.obs_names) == list(small_adata.obs_names)
    # anndata stores text columns as categoricals: compare values, not dtypes
    pd.testing.assert_frame_equal(
        back.obs, small_adata.obs, check_dtype=False, check_categorical=False
    )
    pd.testing.assert_frame_equal(
        back.var, small_adata.var, check_dtype=False, check_categorical=False
    )
    assert back.uns["tree"] == small_adata.uns["tree"]
    assert back.uns["tree_source"] == "taxonomy"
    assert back.uns["tree_match"]["n_matched"] == 3
    assert back.uns["units"] == "proportion"


def test_mixed_text_and_number_column_is_stored_as_text(tmp_path, small_adata):
    small_adata.obs["mixed"] = pd.Series(
        ["a", 1, None, 2.5], index=small_adata.obs_names, dtype=object
    )
    original = small_adata.obs["mixed"].copy()
    back = read_h5ad(write_h5ad(small_adata, tmp_path / "m.h5ad"))
    assert back.obs["mixed"].astype(object).tolist()[:2] == ["a", "1"]
    assert pd.isna(back.obs["mixed"].iloc[2])
    pd.testing.assert_series_equal(small_adata.obs["mixed"], original)  # input untouched


def test_genotype_files_pass_through(tmp_path):
    variants = pd.DataFrame(
        {"chrom": ["1"], "pos": [10], "id": ["rs1"], "ref": ["A"], "alt": ["G"]}
    )
    geno = genotype_anndata(np.array([[0], [2]]), ["i1", "i2"], variants)
    back = read_h5ad(write_h5ad(geno, tmp_path / "g.h5ad"))
    assert back.uns["omics"] == "genotype"
    np.testing.assert_array_equal(back.X, [[0], [2]])


def test_foreign_anndata_needs_omics(tmp_path):
    path = tmp_path / "foreign.h5ad"
    ad.AnnData(np.array([[1.0, 2.0], [3.0, 0.0]])).write_h5ad(path)
    with pytest.raises(InputError, match=r"uns\['omics'\] is None"):
        read_h5ad(path)
    adata = read_h5ad(path, omics="microbiome")
    assert adata.uns["units"] == "counts"  # detected


def test_microbiome_h5ad_is_validated_again(tmp_path):
    adata = microbiome_anndata(
        np.array([[1.0, 2.0], [0.0, 0.0]]), ["a", "b"], ["f", "g"], units="counts"
    )
    path = write_h5ad(adata, tmp_path / "z.h5ad")
    with pytest.warns(UserWarning, match="dropped 1 all-zero"):
        back = read_h5ad(path)
    assert list(back.obs_names) == ["a"]
    with pytest.raises(InputError, match="all-zero"):
        read_h5ad(path, all_zero="error")


def test_not_an_h5ad_and_missing_file(write_text, tmp_path):
    with pytest.raises(InputError, match=r"not a readable \.h5ad"):
        read_h5ad(write_text("x.h5ad", "plain text"))
    with pytest.raises(InputError, match="file not found"):
        read_h5ad(tmp_path / "none.h5ad")


def test_failed_write_leaves_no_file(tmp_path, small_adata, monkeypatch):
    def broken(self, filename, **kwargs):
        with open(filename, "wb") as handle:
            handle.write(b"\x89HDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(ad.AnnData, "write_h5ad", broken)
    with pytest.raises(OSError, match="disk full"):
        write_h5ad(small_adata, tmp_path / "x.h5ad")
    assert os.listdir(tmp_path) == []


def test_preprocessing_record_survives_h5ad(tmp_path):
    """anndata cannot store a list of dicts; write_h5ad keeps it as JSON text."""
    from synthomics.datasets import synthetic_microbiome
    from synthomics.io import read, write
    from synthomics.preprocessing.history import preprocessing_history
    from synthomics.preprocessing.microbiome import total_sum_scale

    scaled = total_sum_scale(synthetic_microbiome(20, 10, seed=1))
    write(scaled, tmp_path / "scaled.h5ad")
    back = read(tmp_path / "scaled.h5ad")
    assert preprocessing_history(back) == preprocessing_history(scaled)
    assert preprocessing_history(back)[0]["step"] == "total_sum_scale"
