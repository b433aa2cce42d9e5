"""VCF reader and writer: hand-checked values, round trips, and every bad-input case."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from synthomics.errors import InputError
from synthomics.io import read, write
from synthomics.io.genotype import read_genotypes
from synthomics.io.vcf import read_vcf, write_vcf

SAMPLES = ["s1", "s2", "s3"]
UNPHASED = [
    "1 100 rs1 A G GT 0/0 0/1 1/1",
    "1 200 rs2 C T GT ./. 1/0 0/.",
    "2 300 . G A GT 1/1 1/1 0/0",
]


def test_unphased_dosages_by_hand(write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, UNPHASED))
    # expected: ALT counts per sample (rows) and variant (columns); any '.' allele -> -1
    expected = np.array([[0, -1, 2], [1, 1, 2], [2, -1, 0]])
    np.testing.assert_array_equal(adata.X, expected)
    assert adata.X.dtype == np.int8
    assert list(adata.obs_names) == SAMPLES
    assert adata.var["chrom"].tolist() == ["1", "1", "2"]
    assert adata.var["pos"].tolist() == [100, 200, 300]
    assert adata.var["ref"].tolist() == ["A", "C", "G"]
    assert adata.var["alt"].tolist() == ["G", "T", "A"]
    assert list(adata.var_names) == ["rs1", "rs2", "2:300:G:A"]
    assert adata.uns["layout"] == "dosage"
    assert adata.uns["phased"] is False
    assert adata.uns["ploidy"] == 2


def test_phased_haplotype_layout(write_vcf_text):
    path = write_vcf_text(["a", "b"], ["1 10 . A C GT 0|1 1|1", "1 20 . A C GT 1|0 .|0"])
    adata = read_vcf(path, layout="haplotype")
    assert list(adata.obs_names) == ["a_A", "a_B", "b_A", "b_B"]
    assert adata.obs["individual"].tolist() == ["a", "a", "b", "b"]
    assert adata.obs["haplotype"].tolist() == [0, 1, 0, 1]
    # left allele of '|' -> haplotype 0; a missing allele stays missing in its haplotype only
    np.testing.assert_array_equal(adata.X, [[0, 1], [1, 0], [1, -1], [1, 0]])
    assert adata.uns["phased"] is True
    dosage = read_vcf(path)
    np.testing.assert_array_equal(dosage.X, [[1, 1], [2, -1]])
    assert dosage.uns["phased"] is True


def test_haplotype_layout_needs_phased_calls(write_vcf_text):
    path = write_vcf_text(["a", "b"], ["1 10 . A C GT 0|1 1|1", "1 20 . A C GT 1|0 0/1"])
    with pytest.raises(InputError, match=r"line 6.*unphased call for sample 'b'"):
        read_vcf(path, layout="haplotype")
    # a fully missing './.' is not evidence of unphased data
    ok = write_vcf_text(["a"], ["1 10 . A C GT 0|1", "1 20 . A C GT ./."], name="ok.vcf")
    np.testing.assert_array_equal(read_vcf(ok, layout="haplotype").X, [[0, -1], [1, -1]])


def test_haploid_calls(write_vcf_text):
    path = write_vcf_text(["m1", "m2"], ["X 5 . A T GT 0 1", "X 6 . A T GT . 1"])
    adata = read_vcf(path)
    assert adata.uns["ploidy"] == 1
    np.testing.assert_array_equal(adata.X, [[0, -1], [1, 1]])
    out = path.with_name("back.vcf")
    write_vcf(adata, out)
    body = [line.split("\t")[9:] for line in out.read_text().splitlines() if line[0] != "#"]
    assert body == [["0", "1"], [".", "1"]]


def test_multiallelic_skip_is_default_and_counted(write_vcf_text):
    path = write_vcf_text(
        SAMPLES,
        [
            "1 1 . A G GT 0/1 0/0 1/1",
            "1 2 . A C,G GT 1/2 0/0 2/2",
            "1 3 . A C,T GT 0/1 0/2 0/0",
            "1 4 . A T GT 0/0 0/0 0/1",
        ],
    )
    with pytest.warns(UserWarning, match=r"2 multi-allelic record\(s\) skipped"):
        adata = read_vcf(path)
    assert adata.var["pos"].tolist() == [1, 4]


def test_multiallelic_split(write_vcf_text):
    path = write_vcf_text(SAMPLES, ["1 2 rs9 A C,G GT 1/2 0/0 2/2"])
    with pytest.warns(UserWarning, match=r"1 multi-allelic record\(s\) split"):
        adata = read_vcf(path, multiallelic="split")
    # bcftools norm -m- convention: each record counts its own ALT, other ALTs count as REF
    assert adata.var["alt"].tolist() == ["C", "G"]
    assert adata.var["id"].tolist() == ["rs9", "rs9"]
    np.testing.assert_array_equal(adata.X, [[1, 1], [0, 0], [0, 2]])


def test_symbolic_alt_round_trip(write_vcf_text, tmp_path):
    path = write_vcf_text(SAMPLES, ["1 1000 rs1 N <ALT> GT 0/1 1/1 0/0"])
    adata = read_vcf(path)
    assert adata.var["alt"].tolist() == ["<ALT>"]
    out = tmp_path / "sym.vcf"
    write_vcf(adata, out)
    text = out.read_text()
    assert '##ALT=<ID=ALT,Description="Symbolic alternate allele ALT">' in text
    assert "##contig=<ID=1>" in text
    assert "##FORMAT=<ID=GT," in text
    np.testing.assert_array_equal(read_vcf(out).X, adata.X)


@pytest.mark.parametrize("layout", ["dosage", "haplotype"])
@pytest.mark.parametrize("name", ["out.vcf", "out.vcf.gz"])
def test_write_read_round_trip(tmp_path, write_vcf_text, layout, name):
    rng = np.random.default_rng(7)
    haplotypes = rng.integers(0, 2, size=(12, 40)).astype(np.int8)
    haplotypes[rng.random(haplotypes.shape) < 0.05] = -1
    samples = [f"ind{i}" for i in range(6)]
    records = []
    for j in range(40):
        calls = []
        for i in range(6):
            a, b = (str(v) if v >= 0 else "." for v in haplotypes[2 * i : 2 * i + 2, j])
            calls.append(f"{a}|{b}")
        records.append(f"1 {100 + j} . A G GT {' '.join(calls)}")
    source = write_vcf_text(samples, records, name="in.vcf")
    adata = read_vcf(source, layout=layout)
    write(adata, tmp_path / name)
    back = read(tmp_path / name, layout=layout)
    np.testing.assert_array_equal(back.X, adata.X)
    pd.testing.assert_frame_equal(back.var, adata.var)
    assert list(back.obs_names) == list(adata.obs_names)
    if layout == "haplotype":
        np.testing.assert_array_equal(back.X, haplotypes)


def test_gz_output_is_bgzf(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, UNPHASED))
    write_vcf(adata, tmp_path / "a.vcf.gz")
    write_vcf(adata, tmp_path / "a.vcf")
    raw = (tmp_path / "a.vcf.gz").read_bytes()
    # SAM/BAM spec 4.1: gzip member with FEXTRA, subfield 'BC', then the 28-byte EOF block
    assert raw[:4] == b"\x1f\x8b\x08\x04" and raw[12:14] == b"BC"
    assert raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    assert gzip.decompress(raw) == (tmp_path / "a.vcf").read_bytes()


def test_other_format_fields_and_gt_not_first(write_vcf_text):
    path = write_vcf_text(
        SAMPLES,
        [
            "1 1 . A G GT:DP 0/1:10 1/1:3 0/0:.",  # fixed-width GT
            "1 2 . A G GT:DP 0/1:10 1:3 0/0:7",  # a haploid call among diploid ones
            "1 3 . A G DP:GT 4:1|1 5:0|0 6:.|.",  # GT not first
        ],
    )
    with pytest.warns(UserWarning, match="haploid calls"):
        adata = read_vcf(path)
    np.testing.assert_array_equal(adata.X, [[1, 1, 2], [2, 1, 0], [0, 0, -1]])


def test_plain_gzip_input(tmp_path, write_vcf_text):
    plain = write_vcf_text(SAMPLES, UNPHASED)
    packed = tmp_path / "plain.vcf.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    np.testing.assert_array_equal(read_vcf(packed).X, read_vcf(plain).X)


def test_matches_scikit_allel(write_vcf_text):
    """scikit-allel's own parser is the independent reference for GT decoding."""
    allel = pytest.importorskip("allel")
    rng = np.random.default_rng(3)
    records = []
    codes = ["0/0", "0/1", "1/0", "1/1", "./.", "0|1", "1|1"]
    for j in range(30):
        calls = rng.choice(codes, size=5)
        records.append(f"1 {j + 1} . A T GT {' '.join(calls)}")
    path = write_vcf_text([f"s{i}" for i in range(5)], records)
    ours = read_vcf(path)
    reference = allel.read_vcf(str(path), fields=["calldata/GT"])["calldata/GT"]
    expected = allel.GenotypeArray(reference).to_n_alt(fill=-1).T
    np.testing.assert_array_equal(ours.X, expected)


# ----------------------------------------------------------------------------- bad input


def test_wrong_number_of_columns_names_line(write_vcf_text):
    path = write_vcf_text(SAMPLES, [UNPHASED[0], "1 200 rs2 C T GT 0/0 0/1"])
    with pytest.raises(InputError, match=r"x\.vcf: line 6: 11 columns; expected 12"):
        read_vcf(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("1 5 . A G GT 0/1 0/x 0/0", r"line 5: GT '0/x' of sample 's2'"),
        ("1 5 . A G GT 0/1 0/2 0/0", r"line 5: sample 's2' has allele 2 but ALT lists 1"),
        ("1 5 . A G GT 0/1/1 0/0 0/0", r"line 5: GT '0/1/1'.*more than two alleles"),
        ("1 5 . A G DP 3 4 5", r"line 5: FORMAT is 'DP' without GT"),
        ("1 5x . A G GT 0/1 0/0 0/0", r"line 5: POS is '5x'"),
        ("1 -5 . A G GT 0/1 0/0 0/0", r"line 5: POS is '-5'"),
    ],
)
def test_bad_records_name_the_line(write_vcf_text, record, message):
    with pytest.raises(InputError, match=message):
        read_vcf(write_vcf_text(SAMPLES, [record]))


def test_missing_file_and_missing_header(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_vcf(tmp_path / "absent.vcf")
    with pytest.raises(InputError, match="file not found"):
        read(tmp_path / "absent.vcf")
    headless = tmp_path / "headless.vcf"
    headless.write_text("##fileformat=VCFv4.2\n1\t1\t.\tA\tG\t.\t.\t.\tGT\t0/1\n")
    with pytest.raises(InputError, match=r"line 2: data line before the #CHROM header"):
        read_vcf(headless)
    spaces = tmp_path / "spaces.vcf"
    spaces.write_text("#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT s1\n")
    with pytest.raises(InputError, match="separated by tabs"):
        read_vcf(spaces)


def test_truncated_gzip(tmp_path, write_vcf_text):
    data = gzip.compress(write_vcf_text(SAMPLES, UNPHASED * 50).read_bytes())
    broken = tmp_path / "broken.vcf.gz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cannot decompress"):
        read_vcf(broken)


def test_write_rejects_bad_values(tmp_path, write_vcf_text):
    adata = read_vcf(write_vcf_text(SAMPLES, UNPHASED))
    adata.X[0, 0] = 3
    with pytest.raises(InputError, match=r"genotype value 3 in row 's1', variant 1"):
        write_vcf(adata, tmp_path / "bad.vcf")
    assert not (tmp_path / "bad.vcf").exists()


# ----------------------------------------------------------------------------- metadata


def test_samples_metadata_and_labels(tmp_path, write_vcf_text):
    meta = tmp_path / "meta.tsv"
    meta.write_text("sample_id\tregion\tage\ns1\tEUROPE\t30\ns3\tAFRICA\t41\nzz\tAMERICA\t5\n")
    path = write_vcf_text(SAMPLES, UNPHASED)
    with pytest.warns(UserWarning, match=r"1 of 3 individuals have no row.*'s2'"):
        adata = read_vcf(path, samples_metadata=meta, label_column="region")
    assert adata.obs["region"].tolist()[::2] == ["EUROPE", "AFRICA"]
    assert pd.isna(adata.obs["region"].iloc[1])
    assert adata.uns["label_column"] == "region"
    with pytest.raises(InputError, match="no column 'continent'"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_vcf(path, samples_metadata=meta, label_column="continent")


def test_read_genotypes_haplotype_metadata(tmp_path, write_vcf_text):
    meta = tmp_path / "meta.tsv"
    meta.write_text("id\tpop\na\tYRI\nb\tCEU\n")
    path = write_vcf_text(["a", "b"], ["1 10 . A C GT 0|1 1|1"])
    adata = read_genotypes(path, metadata=meta, label_column="pop", layout="haplotype")
    assert adata.obs["pop"].tolist() == ["YRI", "YRI", "CEU", "CEU"]
    assert adata.uns["label_column"] == "pop"


def test_read_genotypes_refuses_microbiome_formats(tmp_path):
    table = tmp_path / "t.biom"
    table.write_text("{}")
    with pytest.raises(InputError, match="microbiome tables, not genotypes"):
        read_genotypes(table)


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
def test_bcftools_reads_written_files(tmp_path, write_vcf_text):
    """bcftools (htslib) is the independent judge of the header and the BGZF blocks."""
    path = write_vcf_text(["a", "b"], ["1 10 . N <ALT> GT 0|1 1|1", "1 20 . A C GT 1|0 .|0"])
    adata = read_vcf(path, layout="haplotype")
    out = tmp_path / "w.vcf.gz"
    write_vcf(adata, out)
    query = subprocess.run(
        ["bcftools", "query", "-f", "[%GT ]\n", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert query.stdout.split("\n")[:2] == ["0|1 1|1 ", "1|0 .|0 "]
    subprocess.run(["tabix", "-p", "vcf", str(out)], check=True, capture_output=True)


def test_sample_metadata_table_checks(tmp_path):
    from synthomics.io.genotype import read_sample_metadata

    dup = tmp_path / "dup.tsv"
    dup.write_text("id\tpop\n001\tA\n002\tB\n001\tC\n")
    with pytest.raises(InputError, match=r"dup\.tsv: line 4: sample id '001' appears more"):
        read_sample_metadata(dup)
    csv = tmp_path / "m.csv"
    csv.write_text("id,pop\n001,A\n002,B\n")
    table = read_sample_metadata(csv)
    assert table.index.tolist() == ["001", "002"]  # ids stay text
    assert table["pop"].tolist() == ["A", "B"]
    with pytest.raises(InputError, match="file not found"):
        read_sample_metadata(tmp_path / "absent.tsv")
