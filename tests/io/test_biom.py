"""BIOM tables: JSON and HDF5, gzipped or not; taxonomy and sample metadata; round trips."""

from __future__ import annotations

import gzip
import os
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from biom import Table

import synthomics.io as sio
from synthomics.errors import InputError
from synthomics.io import biom as biom_module
from synthomics.io.biom import read_biom, write_biom

# 3 observations x 2 samples, as biom-format stores them (observations are rows)
DATA = np.array([[10.0, 0.0], [5.0, 2.0], [0.0, 7.0]])
TAXONOMY = [
    {"taxonomy": ["k__Bacteria", "p__Firmicutes", "c__Bacilli", "o__", "f__", "g__", "s__"]},
    {"taxonomy": ["k__Bacteria", "p__Bacteroidetes", "c__", "o__", "f__", "g__", "s__"]},
    {"taxonomy": ["D_0__Archaea", "D_1__Euryarchaeota"]},  # SILVA style
]
SAMPLE_MD = [{"site": "gut", "age": 31}, {"site": "skin", "age": 40.5}]


def make_table():
    return Table(
        DATA,
        ["O1", "O2", "O3"],
        ["S1", "S2"],
        observation_metadata=TAXONOMY,
        sample_metadata=SAMPLE_MD,
    )


@pytest.fixture
def hdf5_path(tmp_path):
    path = tmp_path / "t.biom"
    with h5py.File(path, "w") as handle:
        make_table().to_hdf5(handle, "test")
    return path


@pytest.fixture
def json_path(tmp_path):
    path = tmp_path / "t.json.biom"
    path.write_text(make_table().to_json("test"))
    return path


def gzip_file(path):
    out = path.with_name(path.name + ".gz")
    with open(path, "rb") as src, gzip.open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


@pytest.mark.parametrize("kind", ["hdf5", "json", "hdf5.gz", "json.gz"])
def test_read_every_biom_flavour(kind, hdf5_path, json_path):
    path = hdf5_path if kind.startswith("hdf5") else json_path
    if kind.endswith(".gz"):
        path = gzip_file(path)
    adata = read_biom(path)
    np.testing.assert_array_equal(adata.X, DATA.T)  # samples x features
    assert list(adata.obs_names) == ["S1", "S2"]
    assert list(adata.var_names) == ["O1", "O2", "O3"]
    assert adata.uns["units"] == "counts"
    assert adata.var.loc["O1", "class"] == "Bacilli"
    assert pd.isna(adata.var.loc["O2", "class"])
    assert adata.var.loc["O3", "lineage"] == "k__Archaea|p__Euryarchaeota"
    assert adata.obs["site"].tolist() == ["gut", "skin"]
    np.testing.assert_array_equal(adata.obs["age"].astype(float), [31.0, 40.5])


def test_metadata_file_is_joined(hdf5_path, write_text):
    meta = write_text("m.tsv", "#SampleID\tsite\tbmi\nS1\tstool\t22\nS2\tmouth\t30\n")
    adata = sio.read(hdf5_path, metadata=meta)
    assert adata.obs["site"].tolist() == ["stool", "mouth"]  # the file's column replaces
    np.testing.assert_array_equal(adata.obs["bmi"], [22.0, 30.0])


@pytest.mark.parametrize("name", ["out.biom", "out.biom.gz", "out.json", "out.biom.json.gz"])
def test_round_trip_keeps_every_value(tmp_path, small_adata, name):
    path = write_biom(small_adata, tmp_path / name)
    back = read_biom(path)
    assert np.array_equal(back.X, small_adata.X)  # exact, floats included
    assert list(back.obs_names) == list(small_adata.obs_names)
    assert list(back.var_names) == list(small_adata.var_names)
    pd.testing.assert_series_equal(back.var["lineage"], small_adata.var["lineage"])
    pd.testing.assert_series_equal(back.var["phylum"], small_adata.var["phylum"])
    pd.testing.assert_frame_equal(back.obs, small_adata.obs)
    assert back.uns["units"] == "proportion"


def test_written_hdf5_is_read_by_biom_format(tmp_path, small_adata):
    from biom import load_table

    path = write_biom(small_adata, tmp_path / "out.biom")
    table = load_table(str(path))
    assert table.shape == (3, 4)  # observations x samples
    assert table.metadata("OTU_1", axis="observation")["taxonomy"][:2] == [
        "k__Bacteria",
        "p__Firmicutes",
    ]


def test_not_a_biom_file(write_text, tmp_path):
    with pytest.raises(InputError, match="not a BIOM table"):
        read_biom(write_text("x.biom", "this is not biom"))
    with pytest.raises(InputError, match="file not found"):
        read_biom(tmp_path / "missing.biom")


def test_bad_values_are_rejected(tmp_path):
    path = tmp_path / "neg.biom"
    with h5py.File(path, "w") as handle:
        Table(np.array([[1.0, -2.0]]), ["O1"], ["S1", "S2"]).to_hdf5(handle, "t")
    with pytest.raises(InputError, match=r"neg\.biom: sample 'S2', feature 'O1'.*negative"):
        read_biom(path)


def test_all_zero_sample_policies(tmp_path):
    path = tmp_path / "z.biom"
    with h5py.File(path, "w") as handle:
        Table(np.array([[1.0, 0.0], [2.0, 0.0]]), ["O1", "O2"], ["S1", "S2"]).to_hdf5(handle, "t")
    with pytest.warns(UserWarning, match="dropped 1 all-zero"):
        assert list(read_biom(path).obs_names) == ["S1"]
    with pytest.raises(InputError, match="all-zero"):
        read_biom(path, all_zero="error")


def test_failed_write_leaves_no_file(tmp_path, small_adata, monkeypatch):
    def broken(self, handle, generated_by, **kwargs):
        handle.create_dataset("partial", data=[1, 2, 3])
        raise OSError("disk full")

    monkeypatch.setattr(Table, "to_hdf5", broken)
    with pytest.raises(OSError, match="disk full"):
        write_biom(small_adata, tmp_path / "out.biom.gz")
    assert os.listdir(tmp_path) == []
    assert biom_module  # the module under test is the one patched through Table


@pytest.mark.parametrize("name", ["out.biom", "out.biom.json"])
def test_integer_metadata_columns_stay_integers(tmp_path, small_adata, name):
    adata = small_adata.copy()
    adata.obs["age"] = np.array([31, 40, 52, 67], dtype=np.int64)[: adata.n_obs]
    adata.obs["bmi"] = np.linspace(20.5, 30.0, adata.n_obs)
    path = write_biom(adata, tmp_path / name)
    from biom import load_table

    stored = load_table(str(path)).metadata(adata.obs_names[0], axis="sample")
    assert stored["age"] == 31 and isinstance(stored["age"], int | np.integer)  # was 31.0
    back = read_biom(path)
    assert back.obs["age"].dtype.kind == "i"
    assert back.obs["age"].tolist() == [31, 40, 52, 67][: adata.n_obs]
    assert back.obs["bmi"].dtype.kind == "f"
