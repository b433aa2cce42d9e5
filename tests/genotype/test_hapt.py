""".hapt haplotype files (Yelmen et al. 2021): reading, pairing, writing, bad rows."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.io import read, write
from synthomics.io.hapt import read_hapt, write_hapt
from synthomics.io.plink import read_plink, write_plink
from synthomics.io.vcf import read_vcf, write_vcf

HAPT = "AFR NA1_A 0 1 1 0\nAFR NA1_B 1 1 0 0\nEUR HG2_A 0 0 0 1\nEUR HG2_B 0 1 0 1\n"


def test_read_pairs_suffixes_into_individuals(tmp_path):
    path = tmp_path / "x.hapt"
    path.write_text(HAPT)
    adata = read_hapt(path)
    np.testing.assert_array_equal(adata.X, [[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1], [0, 1, 0, 1]])
    assert list(adata.obs_names) == ["NA1_A", "NA1_B", "HG2_A", "HG2_B"]
    assert adata.obs["individual"].tolist() == ["NA1", "NA1", "HG2", "HG2"]
    assert adata.obs["haplotype"].tolist() == [0, 1, 0, 1]
    assert adata.obs["label"].tolist() == ["AFR", "AFR", "EUR", "EUR"]
    assert adata.uns["layout"] == "haplotype" and adata.uns["phased"] is True
    assert adata.uns["ploidy"] == 2
    # no variant metadata in the format: synthetic ids, placeholder alleles
    assert list(adata.var_names) == ["snp1", "snp2", "snp3", "snp4"]
    assert adata.var["pos"].tolist() == [1, 2, 3, 4]
    assert set(adata.var["ref"]) == {"N"} and set(adata.var["alt"]) == {"<ALT>"}


def test_pairing_rules(tmp_path):
    path = tmp_path / "ag.hapt"
    path.write_text("AG AG0 0 1\nAG AG1 1 1\nAG AG2 0 0\nAG AG3 1 0\n")
    auto = read_hapt(path)  # ids do not pair: every row is a haploid individual
    assert auto.uns["ploidy"] == 1
    assert auto.obs["individual"].tolist() == ["AG0", "AG1", "AG2", "AG3"]
    paired = read_hapt(path, pairing="consecutive")
    assert paired.obs["individual"].tolist() == ["AG0", "AG0", "AG2", "AG2"]
    assert paired.obs["haplotype"].tolist() == [0, 1, 0, 1]
    same = tmp_path / "same.hapt"
    same.write_text("P x 0 1\nP x 1 1\n")  # the same id on both rows
    adata = read_hapt(same)
    assert list(adata.obs_names) == ["x_A", "x_B"]
    assert read_hapt(path, pairing="none").uns["ploidy"] == 1


@pytest.mark.parametrize("name", ["out.hapt", "out.hapt.gz"])
def test_write_read_round_trip(tmp_path, name):
    source = tmp_path / "in.hapt"
    source.write_text(HAPT)
    adata = read_hapt(source)
    write(adata, tmp_path / name)
    if name.endswith(".gz"):
        assert gzip.decompress((tmp_path / name).read_bytes()).decode() == HAPT
    else:
        assert (tmp_path / name).read_text() == HAPT
    back = read(tmp_path / name)
    np.testing.assert_array_equal(back.X, adata.X)
    assert back.obs.equals(adata.obs)


def test_vcf_hapt_vcf_plink_round_trip(tmp_path, write_vcf_text):
    path = write_vcf_text(
        ["a", "b", "c"],
        ["1 10 . A C GT 0|1 1|1 0|0", "1 20 . A C GT 1|0 0|0 1|1", "1 30 . G T GT 1|1 0|1 1|0"],
    )
    original = read_vcf(path, layout="haplotype")
    write_hapt(original, tmp_path / "v.hapt")
    via_hapt = read_hapt(tmp_path / "v.hapt")
    np.testing.assert_array_equal(via_hapt.X, original.X)
    assert via_hapt.obs["individual"].tolist() == original.obs["individual"].tolist()
    write_vcf(via_hapt, tmp_path / "back.vcf")
    back = read_vcf(tmp_path / "back.vcf", layout="haplotype")
    np.testing.assert_array_equal(back.X, original.X)
    assert list(back.obs_names) == list(original.obs_names)
    write_plink(via_hapt, tmp_path / "p")
    np.testing.assert_array_equal(read_plink(tmp_path / "p").X, read_vcf(path).X)


def test_write_labels(tmp_path, write_vcf_text):
    path = write_vcf_text(["a"], ["1 10 . A C GT 0|1"])
    adata = read_vcf(path, layout="haplotype")
    write_hapt(adata, tmp_path / "d.hapt")
    assert (tmp_path / "d.hapt").read_text() == ". a_A 0\n. a_B 1\n"
    adata.obs["pop"] = "YRI"
    write_hapt(adata, tmp_path / "l.hapt", label_column="pop")
    assert (tmp_path / "l.hapt").read_text().split("\n")[0] == "YRI a_A 0"
    adata.obs["pop"] = "two words"
    with pytest.raises(InputError, match="contains whitespace"):
        write_hapt(adata, tmp_path / "w.hapt", label_column="pop")


# ----------------------------------------------------------------------------- bad input


def test_ragged_row_names_the_line(tmp_path):
    path = tmp_path / "r.hapt"
    path.write_text("L a 0 1 1\nL b 0 1\n")
    with pytest.raises(InputError, match=r"r\.hapt: line 2: 2 alleles; expected 3 alleles"):
        read_hapt(path)


@pytest.mark.parametrize(("value", "column"), [("2", 4), ("x", 4), ("-1", 4)])
def test_non_binary_value_names_line_and_column(tmp_path, value, column):
    path = tmp_path / "v.hapt"
    path.write_text(f"L a 0 1 1\nL b 0 {value} 1\n")
    with pytest.raises(InputError, match=rf"line 2, column {column} \(variant 2\): allele"):
        read_hapt(path)


def test_short_row_and_empty_file(tmp_path):
    path = tmp_path / "s.hapt"
    path.write_text("L a\n")
    with pytest.raises(InputError, match=r"line 1: 2 field\(s\)"):
        read_hapt(path)
    path.write_text("\n")
    with pytest.raises(InputError, match="no haplotype rows"):
        read_hapt(path)
    with pytest.raises(InputError, match="file not found"):
        read_hapt(tmp_path / "absent.hapt")


def test_write_refuses_unphased_dosage_and_missing(tmp_path, write_vcf_text):
    dosage = read_vcf(write_vcf_text(["a"], ["1 10 . A C GT 0/1"]))
    with pytest.raises(InputError, match="no phase"):
        write_hapt(dosage, tmp_path / "x.hapt")
    haplotypes = read_vcf(write_vcf_text(["a"], ["1 10 . A C GT 0|."]), layout="haplotype")
    with pytest.raises(InputError, match=r"missing allele in row 'a_B', variant 1"):
        write_hapt(haplotypes, tmp_path / "x.hapt")
    assert not (tmp_path / "x.hapt").exists()
