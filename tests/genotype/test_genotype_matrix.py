"""0/1/2 matrices: the vcftools --012 trio and generic text matrices."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.io import read, write
from synthomics.io.genotype_matrix import read_genotype_matrix, write_genotype_matrix
from synthomics.io.vcf import read_vcf, write_vcf

EXPECTED = np.array([[0, 1, 2], [-1, 2, 0]])


def test_vcftools_012_with_siblings(tmp_path):
    # the layout vcftools --012 writes: row index, then tab-separated dosages, -1 missing
    (tmp_path / "out.012").write_text("0\t0\t1\t2\n1\t-1\t2\t0\n")
    (tmp_path / "out.012.indv").write_text("NA1\nNA2\n")
    (tmp_path / "out.012.pos").write_text("1\t100\n1\t250\n2\t7\n")
    adata = read(tmp_path / "out.012")
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert list(adata.obs_names) == ["NA1", "NA2"]
    assert adata.var["chrom"].tolist() == ["1", "1", "2"]
    assert adata.var["pos"].tolist() == [100, 250, 7]
    assert list(adata.var_names) == ["1:100", "1:250", "2:7"]


def test_vcftools_012_alone(tmp_path):
    (tmp_path / "a.012").write_text("0\t0\t1\t2\n1\t-1\t2\t0\n")
    adata = read_genotype_matrix(tmp_path / "a.012")
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert list(adata.obs_names) == ["sample1", "sample2"]
    assert list(adata.var_names) == ["snp1", "snp2", "snp3"]


def test_vcftools_siblings_must_agree(tmp_path):
    (tmp_path / "b.012").write_text("0\t0\t1\t2\n1\t-1\t2\t0\n")
    (tmp_path / "b.012.indv").write_text("NA1\n")
    with pytest.raises(InputError, match=r"b\.012\.indv: 1 sample ids for 2 rows in .*b\.012"):
        read_genotype_matrix(tmp_path / "b.012")
    (tmp_path / "b.012.indv").unlink()
    (tmp_path / "b.012.pos").write_text("1\t100\n")
    with pytest.raises(InputError, match=r"1 positions for 3 genotype columns"):
        read_genotype_matrix(tmp_path / "b.012")


def test_write_012_trio_round_trip(tmp_path, write_vcf_text):
    source = write_vcf_text(
        ["s1", "s2"], ["1 100 . A G GT 0/0 ./.", "1 250 . C T GT 0/1 1/1", "2 7 . G A GT 1/1 0/0"]
    )
    adata = read_vcf(source)
    write(adata, tmp_path / "t.012")
    assert (tmp_path / "t.012").read_text() == "0\t0\t1\t2\n1\t-1\t2\t0\n"
    assert (tmp_path / "t.012.indv").read_text() == "s1\ns2\n"
    assert (tmp_path / "t.012.pos").read_text() == "1\t100\n1\t250\n2\t7\n"
    back = read(tmp_path / "t.012")
    np.testing.assert_array_equal(back.X, adata.X)
    assert back.var["chrom"].tolist() == adata.var["chrom"].tolist()
    assert back.var["pos"].tolist() == adata.var["pos"].tolist()
    write_vcf(back, tmp_path / "back.vcf")
    np.testing.assert_array_equal(read_vcf(tmp_path / "back.vcf").X, adata.X)


@pytest.mark.parametrize(
    "text",
    [
        "sample_id\trs1\trs2\trs3\nA\t0\t1\t2\nB\t-1\t2\t0\n",  # header + ids
        "rs1 rs2 rs3\nA 0 1 2\nB NA 2 0\n",  # header without a corner cell, NA missing
        "A 0 1 2\nB -1 2 0\n",  # ids, no header
    ],
)
def test_generic_matrix_with_ids(tmp_path, text):
    path = tmp_path / "m.txt"
    path.write_text(text)
    adata = read(path, format="genotype-matrix")
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert list(adata.obs_names) == ["A", "B"]
    if text.startswith(("sample", "rs")):
        assert list(adata.var_names) == ["rs1", "rs2", "rs3"]


def test_generic_matrix_without_ids(tmp_path):
    path = tmp_path / "m.geno"
    path.write_text("0 1 2\n-1 2 0\n")
    adata = read(path)
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert list(adata.obs_names) == ["sample1", "sample2"]
    numeric_ids = tmp_path / "n.geno"
    numeric_ids.write_text("1 0 1 2\n2 -1 2 0\n")  # numeric ids need sample_ids=True
    adata = read_genotype_matrix(numeric_ids, sample_ids=True)
    assert list(adata.obs_names) == ["1", "2"]
    np.testing.assert_array_equal(adata.X, EXPECTED)


@pytest.mark.parametrize("name", ["w.tsv", "w.geno.gz"])
def test_generic_write_round_trip(tmp_path, write_vcf_text, name):
    adata = read_vcf(
        write_vcf_text(["s1", "s2"], ["1 100 rs1 A G GT 0/0 ./.", "1 250 rs2 C T GT 0/1 1/1"])
    )
    write_genotype_matrix(adata, tmp_path / name)
    raw = (tmp_path / name).read_bytes()
    text = gzip.decompress(raw).decode() if name.endswith(".gz") else raw.decode()
    assert text == "sample_id\trs1\trs2\ns1\t0\t1\ns2\t-1\t2\n"
    back = read_genotype_matrix(tmp_path / name)
    np.testing.assert_array_equal(back.X, adata.X)
    assert list(back.var_names) == ["rs1", "rs2"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A 0 1 2\nB 0 3 0\n", r"line 2, column 3: genotype '3'"),
        ("0 1 2\n0 1 1.5\n", r"line 2, column 3: genotype '1.5'"),
        ("id a b\nA 0 1\nB 0 -2\n", r"line 3, column 3: genotype '-2'"),
        ("0 1 2\n0 1\n", r"line 2: 2 genotypes; expected 3"),
        ("01201\n21100\n", r"line 1: a line of digits without separators"),
    ],
)
def test_bad_values_name_line_and_column(tmp_path, text, message):
    path = tmp_path / "bad.geno"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read(path)


def test_bad_012_value(tmp_path):
    (tmp_path / "c.012").write_text("0\t0\t1\n1\t9\t2\n")
    with pytest.raises(InputError, match=r"c\.012: line 2, column 2: genotype '9'"):
        read(tmp_path / "c.012")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_genotype_matrix(tmp_path / "absent.012")
