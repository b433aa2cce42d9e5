"""Every real microbiome dataset reads with the shapes its SOURCE.md gives, and round-trips.

Expected numbers are quoted from ``/work/shared/data/microbiome/*/SOURCE.md``, which were
computed there independently of synthomics (R exports, biom-format, shell tools).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthomics.io as sio
from synthomics.io.microbiome import read_microbiome
from synthomics.io.tree import uns_tree

pytestmark = pytest.mark.shared


def _read(path: Path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # all-zero drops are checked below
        return read_microbiome(path, **options)


def assert_same(back, original, *, obs=True):
    """No value changed: X bit for bit, ids, taxonomy and sample metadata."""
    assert np.array_equal(back.X, original.X)
    assert list(back.obs_names) == list(original.obs_names)
    assert list(back.var_names) == list(original.var_names)
    assert back.uns["units"] == original.uns["units"]
    for column in [c for c in original.var.columns if c != "on_tree"]:
        pd.testing.assert_series_equal(
            back.var[column].astype(object), original.var[column].astype(object)
        )
    if obs:
        pd.testing.assert_frame_equal(
            back.obs[original.obs.columns], original.obs, check_dtype=False, check_categorical=False
        )


def round_trip(adata, tmp: Path, kinds=("biom", "tsv", "h5ad")):
    for kind in kinds:
        if kind == "tsv":
            taxonomy = tmp / "tax.tsv" if "lineage" in adata.var.columns else None
            table = sio.write(adata, tmp / "t.tsv", taxonomy=taxonomy, metadata=tmp / "meta.tsv")
            back = _read(table, metadata=tmp / "meta.tsv", taxonomy=taxonomy)
        else:
            back = _read(sio.write(adata, tmp / f"t.{kind}"))
        assert_same(back, adata)


# ---------------------------------------------------------------- nielsen_ibd


@pytest.fixture(scope="module")
def nielsen(shared_data):
    d = shared_data / "microbiome" / "nielsen_ibd"
    return _read(d / "abundance.tsv.gz", metadata=d / "sample_metadata.tsv", tree=d / "tree.nwk")


def test_nielsen_shape_units_and_metadata(nielsen):
    assert nielsen.shape == (396, 719)
    assert nielsen.uns["units"] == "percent"
    sums = nielsen.X.sum(axis=1)
    assert sums.min() >= 97.75 and sums.max() <= 100.0 + 1e-3  # "row sums 97.75-100.0"
    assert (nielsen.X == 0).mean() == pytest.approx(0.85, abs=0.005)  # "85% ... zero"
    assert (nielsen.X > 0).any(axis=0).all()  # "every feature is non-zero somewhere"
    assert nielsen.obs["disease"].value_counts().to_dict() == {"control": 248, "IBD": 148}
    assert nielsen.uns["metadata_join"]["samples_without_metadata"] == 0


def test_nielsen_tree_matches_460_features(nielsen):
    report = nielsen.uns["tree_match"]
    assert report["n_matched"] == 460  # "460 / 719 match exactly" after removing |GCF_
    assert report["matched_accession"] == 460
    assert report["n_tips"] == 4088
    assert report["n_tips_pruned"] == 4088 - 460
    assert report["abundance_fraction_mean"] == pytest.approx(0.878, abs=5e-4)
    assert report["abundance_fraction_min"] == pytest.approx(0.554, abs=5e-4)
    unmatched = nielsen.var_names[~nielsen.var["on_tree"].to_numpy(dtype=bool)]
    assert sum(name.startswith("k__Viruses") for name in unmatched) == 138
    tree = uns_tree(nielsen)
    assert sorted(t.name for t in tree.tips()) == sorted(
        nielsen.var_names[nielsen.var["on_tree"].to_numpy(dtype=bool)]
    )


def test_nielsen_round_trips(nielsen, tmp_path):
    round_trip(nielsen, tmp_path)


# ---------------------------------------------------------------- hmp_16s


@pytest.fixture(scope="module")
def hmp(shared_data):
    d = shared_data / "microbiome" / "hmp_16s"
    return _read(d / "HMPv35_100nt_even1k.biom", metadata=d / "sample_metadata.tsv")


@pytest.mark.slow
def test_hmp_shape_and_metadata(hmp):
    assert hmp.shape == (5452, 5430)
    assert np.count_nonzero(hmp.X) == 359_042
    np.testing.assert_array_equal(hmp.X.sum(axis=1), 1000.0)  # rarefied to 1,000 reads
    assert hmp.uns["units"] == "counts"
    assert hmp.uns["metadata_join"] == {
        "source_file": str(Path(hmp.uns["metadata_join"]["source_file"])),
        "samples_without_metadata": 0,
        "metadata_rows_unused": 790,
    }
    assert hmp.obs["HMPbodysupersite"].value_counts().to_dict() == {
        "Oral": 3320,
        "Skin": 926,
        "Urogenital_tract": 495,
        "Gastrointestinal_tract": 388,
        "Airways": 323,
    }
    assert hmp.var["genus"].notna().any()
    assert hmp.uns["tree_source"] == "taxonomy"


@pytest.mark.slow
def test_hmp_round_trips(hmp, tmp_path):
    round_trip(hmp, tmp_path, kinds=("biom", "h5ad"))


# ---------------------------------------------------------------- global_patterns


@pytest.fixture(scope="module")
def global_patterns(shared_data):
    d = shared_data / "microbiome" / "global_patterns"
    return _read(
        d / "counts.tsv.gz",
        metadata=d / "sample_metadata.tsv",
        taxonomy=d / "taxonomy.tsv",
        tree=d / "tree.nwk",
    )


def test_global_patterns_counts_taxonomy_tree(global_patterns):
    gp = global_patterns
    assert gp.shape == (26, 19216)
    assert gp.uns["units"] == "counts"
    sizes = gp.X.sum(axis=1)
    assert sizes.min() == 58_688 and sizes.max() == 2_357_181
    assert (gp.X == 0).mean() == pytest.approx(0.79, abs=0.005)
    assert gp.var.loc["549322", "class"] == "Thermoprotei"  # taxonomy.tsv, first row
    assert pd.isna(gp.var.loc["549322", "order"])
    assert gp.uns["tree_match"]["n_matched"] == 19216
    assert gp.uns["tree_match"]["n_tips_pruned"] == 0
    assert gp.obs["SampleType"].value_counts().to_dict() == {
        "Feces": 4,
        "Freshwater (creek)": 3,
        "Mock": 3,
        "Ocean": 3,
        "Sediment (estuary)": 3,
        "Skin": 3,
        "Soil": 3,
        "Freshwater": 2,
        "Tongue": 2,
    }


def test_global_patterns_round_trips(global_patterns, tmp_path):
    round_trip(global_patterns, tmp_path)


# ---------------------------------------------------------------- twins


@pytest.fixture(scope="module")
def twins(shared_data):
    d = shared_data / "microbiome" / "twins"
    return _read(d / "counts.tsv", metadata=d / "sample_metadata.tsv")


def test_twins(twins, tmp_path):
    assert twins.shape == (278, 130)
    sizes = twins.X.sum(axis=1)
    assert (sizes.min(), sizes.max(), np.median(sizes)) == (53, 10_585, 1597.5)
    assert (twins.X == 0).mean() == pytest.approx(0.78, abs=0.005)
    assert twins.obs["phenotype"].value_counts().to_dict() == {
        "Obese": 193,
        "Lean": 61,
        "Overwt": 24,
    }
    round_trip(twins, tmp_path)


# ---------------------------------------------------------------- metaml


@pytest.fixture(scope="module")
def metaml(shared_data):
    with pytest.warns(UserWarning, match="dropped 2 all-zero"):
        return read_microbiome(shared_data / "microbiome" / "metaml" / "abundance.txt.bz2")


@pytest.mark.slow
def test_metaml_species_and_metadata(metaml):
    # 3,610 samples, two with species sum 0 (dropped); 1,291 species rows
    assert metaml.shape == (3608, 1291)
    assert metaml.uns["units"] == "percent"
    assert all(name.rsplit("|", 1)[-1].startswith("s__") for name in metaml.var_names)
    assert metaml.X.sum(axis=1).max() <= 100.0 * 1.01
    assert metaml.obs.shape[1] == 211  # the 211 metadata rows, sampleID included
    counts = metaml.obs["dataset_name"].value_counts()
    assert counts["hmp"] == 762 and counts["metahit"] == 110
    assert counts["Psoriasis_2014"] == 70 - 2  # the two all-zero samples
    assert metaml.obs["age"].dtype == np.float64  # numeric where it parses; nd -> NaN
    assert metaml.obs["bodysite"].isna().sum() == 458  # "bodysite: ... nd 458"
    assert "metahit:MH0002" in metaml.obs_names


@pytest.mark.slow
def test_metaml_round_trips(metaml, tmp_path):
    round_trip(metaml, tmp_path)
