"""PLINK .bed/.bim/.fam: hand-made bytes, the A1 = ALT convention, round trips, bad trios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.errors import InputError
from synthomics.io import read, write
from synthomics.io.plink import plink_paths, read_plink, write_plink
from synthomics.io.vcf import read_vcf, write_vcf

SAMPLES = ["s1", "s2", "s3", "s4"]
RECORDS = [
    "1 100 rs1 A G GT 0/0 0/1 1/1 ./.",
    "1 200 rs2 C T GT 1/1 0/0 0/1 0/1",
    "2 300 rs3 G A GT 0/1 ./. 0/0 1/1",
]


def _trio(tmp_path, bed: bytes, bim: str, fam: str, prefix: str = "hand"):
    (tmp_path / f"{prefix}.bed").write_bytes(bed)
    (tmp_path / f"{prefix}.bim").write_text(bim)
    (tmp_path / f"{prefix}.fam").write_text(fam)
    return tmp_path / prefix


def test_hand_made_bed_bytes(tmp_path):
    # PLINK 1 spec (cog-genomics.org/plink/1.9/formats#bed): magic 6c 1b, 01 = SNP-major;
    # 2-bit codes, first individual in the lowest bits: 00 hom A1, 10 het, 01 missing,
    # 11 hom A2. Individuals [A1/A1, het, missing, A2/A2] -> 0b11_01_10_00 = 0xD8, and
    # counting A1 gives dosages [2, 1, -1, 0].
    prefix = _trio(
        tmp_path,
        bytes([0x6C, 0x1B, 0x01, 0xD8]),
        "1\trs1\t0\t1234\tG\tA\n",
        "f1 i1 0 0 1 2\nf1 i2 0 0 2 1\nf2 i3 p1 0 0 -9\nf2 i4 0 0 1 -9\n",
    )
    adata = read_plink(prefix)
    np.testing.assert_array_equal(adata.X[:, 0], [2, 1, -1, 0])
    assert adata.var[["chrom", "pos", "id", "ref", "alt"]].iloc[0].tolist() == [
        "1",
        1234,
        "rs1",
        "A",
        "G",
    ]
    assert list(adata.obs_names) == ["i1", "i2", "i3", "i4"]
    assert adata.obs["fid"].tolist() == ["f1", "f1", "f2", "f2"]
    assert adata.obs["father"].tolist() == ["0", "0", "p1", "0"]
    assert adata.obs["sex"].tolist() == [1, 2, 0, 1]
    # case/control coding: 1 = control, 2 = case, 0 and -9 missing
    np.testing.assert_array_equal(adata.obs["phenotype"], [2.0, 1.0, np.nan, np.nan])


@pytest.mark.parametrize("given", ["t", "t.bed", "t.bim", "t.fam"])
def test_any_of_the_three_paths_or_the_prefix(tmp_path, write_vcf_text, given):
    adata = read_vcf(write_vcf_text(SAMPLES, RECORDS))
    write_plink(adata, tmp_path / "t")
    assert sorted(p.name for p in tmp_path.glob("t.*")) == ["t.bed", "t.bim", "t.fam"]
    np.testing.assert_array_equal(read(tmp_path / given).X, adata.X)


def test_prefix_keeps_dots(tmp_path):
    paths = plink_paths(tmp_path / "chr1.v2")
    assert paths["bed"].name == "chr1.v2.bed"
    assert plink_paths(tmp_path / "chr1.v2.fam")["bim"].name == "chr1.v2.bim"


def test_vcf_plink_vcf_keeps_alt_dosages(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, RECORDS))
    write(adata, tmp_path / "p.bed")
    # A1 (column 5) is ALT and A2 (column 6) REF, so counting A1 counts ALT
    bim = [line.split("\t") for line in (tmp_path / "p.bim").read_text().splitlines()]
    assert [(row[4], row[5]) for row in bim] == [("G", "A"), ("T", "C"), ("A", "G")]
    fam = (tmp_path / "p.fam").read_text().split()
    assert fam[:6] == ["s1", "s1", "0", "0", "0", "-9"]  # FID = IID as plink --vcf does
    via_plink = read_plink(tmp_path / "p")
    np.testing.assert_array_equal(via_plink.X, adata.X)
    pd.testing.assert_frame_equal(via_plink.var, adata.var)
    write_vcf(via_plink, tmp_path / "back.vcf")
    back = read_vcf(tmp_path / "back.vcf")
    np.testing.assert_array_equal(back.X, adata.X)
    pd.testing.assert_frame_equal(back.var, adata.var)


def test_matches_bed_reader_written_file(tmp_path):
    """bed-reader's own writer, used directly, is the reference for the reader."""
    from bed_reader import to_bed

    rng = np.random.default_rng(5)
    val = rng.integers(0, 3, size=(7, 11)).astype(np.int8)
    val[rng.random(val.shape) < 0.1] = -127
    to_bed(tmp_path / "r.bed", val, properties={"iid": [f"x{i}" for i in range(7)]})
    adata = read_plink(tmp_path / "r.bed")
    np.testing.assert_array_equal(adata.X, np.where(val == -127, -1, val))


def test_haplotype_layout_is_written_as_dosage(tmp_path, write_vcf_text):
    path = write_vcf_text(["a", "b"], ["1 10 . A C GT 0|1 1|1", "1 20 . A C GT 1|0 .|0"])
    haplotypes = read_vcf(path, layout="haplotype")
    write_plink(haplotypes, tmp_path / "h")
    back = read_plink(tmp_path / "h")
    assert list(back.obs_names) == ["a", "b"]
    np.testing.assert_array_equal(back.X, [[1, 1], [2, -1]])


def test_haploid_dosages_become_homozygous(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(["m1", "m2"], ["X 5 . A T GT 0 1"]))
    write_plink(adata, tmp_path / "hap")
    np.testing.assert_array_equal(read_plink(tmp_path / "hap").X, [[0], [2]])


# ----------------------------------------------------------------------------- bad input


def test_bim_disagreeing_with_bed_size_names_both_files(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, RECORDS))
    write_plink(adata, tmp_path / "d")
    with open(tmp_path / "d.bim", "a") as bim:
        bim.write("2\trs4\t0\t400\tC\tT\n")
    with pytest.raises(InputError) as info:
        read_plink(tmp_path / "d")
    message = str(info.value)
    # 4 individuals -> 1 byte per variant: 3 + 1 * 3 = 6 bytes, the .bim now lists 4
    assert "d.bed: 6 bytes" in message
    assert "4 variants in" in message and "d.bim" in message and "d.fam" in message
    assert "holds 3 variants" in message


def test_missing_member_of_the_trio(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, RECORDS))
    write_plink(adata, tmp_path / "m")
    (tmp_path / "m.fam").unlink()
    with pytest.raises(InputError, match=r"m\.fam: file not found"):
        read_plink(tmp_path / "m.bed")
    with pytest.raises(InputError, match="file not found"):
        read(tmp_path / "nothing.bed")


def test_bad_bim_lines(tmp_path):
    fam = "f i1 0 0 0 -9\n"
    prefix = _trio(tmp_path, bytes([0x6C, 0x1B, 0x01, 0x00]), "1 rs1 0 100 A\n", fam)
    with pytest.raises(InputError, match=r"hand\.bim: line 1: 5 columns; expected 6"):
        read_plink(prefix)
    prefix = _trio(tmp_path, bytes([0x6C, 0x1B, 0x01, 0x00]), "\n1 rs1 0 1e2x A G\n", fam)
    with pytest.raises(InputError, match=r"line 2: position '1e2x'"):
        read_plink(prefix)


def test_bad_magic_bytes(tmp_path):
    prefix = _trio(tmp_path, b"\x00\x00\x01\x00", "1 rs1 0 100 A G\n", "f i1 0 0 0 -9\n")
    with pytest.raises(InputError, match="bad magic bytes"):
        read_plink(prefix)


def test_write_rejects_values_outside_0_1_2(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, RECORDS))
    adata.X[1, 2] = 5
    with pytest.raises(InputError, match=r"genotype value 5 in row 's2', variant 3"):
        write_plink(adata, tmp_path / "bad")
    assert not list(tmp_path.glob("bad*"))
