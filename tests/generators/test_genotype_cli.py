"""``synthomics fit`` / ``sample`` end to end on VCF and PLINK genotypes.

The written VCF is checked with an independent reader: cyvcf2 (htslib) when installed,
and always with a few lines of plain Python that parse the GT strings.
"""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app

runner = CliRunner()
REQUEST = "population=YRI:30,CEU:30,CHB:30"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Simulated training genotypes as VCF and PLINK, with a sample metadata table."""
    from synthomics.datasets.genotype_sim import simulate_genotypes
    from synthomics.io import write

    folder = tmp_path_factory.mktemp("genotypes")
    adata = simulate_genotypes(15, 200, seed=4)
    write(adata, folder / "train.vcf.gz")
    write(adata, folder / "train.bed")
    adata.obs[["population"]].rename_axis("sample_id").to_csv(folder / "samples.tsv", sep="\t")
    return folder, adata


def _invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def _plain_vcf(path):
    """(fixed columns, sample names, dosage matrix) parsed with plain Python."""
    fixed, dosages = [], []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if line.startswith("##"):
                continue
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                samples = fields[9:]
                continue
            fixed.append(fields[:5])
            dosages.append([int(gt[0]) + int(gt[2]) for gt in fields[9:]])
    return fixed, samples, np.array(dosages).T


@pytest.mark.parametrize("model", ["allele-frequency", "haplotype_copying", "genotype_bootstrap"])
def test_vcf_fit_sample_roundtrip(files, model, tmp_path):
    from synthomics.io import read

    folder, train = files
    _invoke(
        "fit", model, folder / "train.vcf.gz", "--metadata", folder / "samples.tsv",
        "--condition", "population", "--out", tmp_path / "model",
    )  # fmt: skip
    out = tmp_path / "syn.vcf.gz"
    _invoke("sample", tmp_path / "model", "-n", 90, "--condition", REQUEST, "--out", out)
    again = read(out)
    assert again.shape == (90, train.n_vars)
    assert again.var[["chrom", "pos", "id", "ref", "alt"]].equals(
        train.var[["chrom", "pos", "id", "ref", "alt"]]
    )
    # independent parse of the GT strings
    fixed, samples, X = _plain_vcf(out)
    assert samples == list(again.obs_names)
    np.testing.assert_array_equal(X, np.asarray(again.X))
    expected = train.var[["chrom", "pos", "id", "ref", "alt"]].astype(str).to_numpy().tolist()
    assert fixed == expected
    # the labels go beside the VCF, in a table --metadata reads back
    labels = pd.read_csv(f"{out}.samples.tsv", sep="\t", dtype=str)
    assert list(labels.columns) == ["sample_id", "population"]
    assert labels["sample_id"].tolist() == samples
    assert labels["population"].value_counts().to_dict() == {"YRI": 30, "CEU": 30, "CHB": 30}


def test_vcf_read_by_cyvcf2(files, tmp_path):
    cyvcf2 = pytest.importorskip("cyvcf2")
    from synthomics.io import read

    folder, _ = files
    _invoke(
        "fit", "allele_frequency", folder / "train.vcf.gz", "--metadata", folder / "samples.tsv",
        "--condition", "population", "--out", tmp_path / "model",
    )  # fmt: skip
    out = tmp_path / "syn.vcf.gz"
    _invoke("sample", tmp_path / "model", "--condition", REQUEST, "--out", out)
    ours = read(out)
    vcf = cyvcf2.VCF(str(out))
    assert list(vcf.samples) == list(ours.obs_names)
    rows = []
    for record, (_, variant) in zip(vcf, ours.var.iterrows(), strict=True):
        assert (record.CHROM, record.POS, record.REF, record.ALT[0]) == (
            str(variant["chrom"]), int(variant["pos"]), variant["ref"], variant["alt"],
        )  # fmt: skip
        rows.append(record.gt_types.copy())  # 0 hom-ref, 1 het, 3 hom-alt
    cy = np.array(rows).T
    np.testing.assert_array_equal(np.where(cy == 3, 2, cy), np.asarray(ours.X))


def test_plink_fit_sample_roundtrip(files, tmp_path):
    from bed_reader import open_bed

    from synthomics.io import read

    folder, train = files
    _invoke(
        "fit", "haplotype-copying", folder / "train.bed", "--metadata", folder / "samples.tsv",
        "--condition", "population", "--out", tmp_path / "model",
    )  # fmt: skip
    out = tmp_path / "syn.bed"
    _invoke("sample", tmp_path / "model", "--condition", REQUEST, "--out", out)
    again = read(out)
    assert again.shape == (90, train.n_vars)
    assert (
        again.var[["chrom", "pos", "id"]]
        .astype(str)
        .equals(train.var[["chrom", "pos", "id"]].astype(str))
    )
    with open_bed(out, count_A1=True) as bed:  # bed-reader's own reading of the trio
        np.testing.assert_array_equal(bed.read(dtype="int8"), np.asarray(again.X))
    labels = pd.read_csv(f"{out}.samples.tsv", sep="\t", dtype=str)
    assert labels["sample_id"].tolist() == list(again.obs_names)


def test_unconditional_model_writes_no_label_file(files, tmp_path):
    folder, _ = files
    _invoke("fit", "genotype_bootstrap", folder / "train.vcf.gz", "--out", tmp_path / "model")
    out = tmp_path / "syn.vcf.gz"
    _invoke("sample", tmp_path / "model", "-n", 5, "--out", out)
    assert out.is_file() and not (tmp_path / "syn.vcf.gz.samples.tsv").exists()
