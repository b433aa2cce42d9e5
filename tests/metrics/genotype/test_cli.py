"""``synthomics evaluate-genotypes`` on VCF and PLINK files written by synthomics.io.write."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app
from synthomics.io import write


@pytest.fixture(scope="module")
def files(split, tmp_path_factory):
    train, test = split
    folder = tmp_path_factory.mktemp("geno_cli")
    synthetic = train[np.random.default_rng(1).permutation(train.n_obs)[:40]].copy()
    paths = {
        "train_vcf": folder / "train.vcf",
        "test_vcf": folder / "test.vcf",
        "test_bed": folder / "test.bed",
        "train_bed": folder / "train.bed",
        "synth": folder / "synth.h5ad",
        "narrow": folder / "narrow.h5ad",
        "labels": folder / "samples.tsv",
    }
    for key, data in (("train", train), ("test", test)):
        write(data, paths[f"{key}_vcf"])
        write(data, paths[f"{key}_bed"])
    write(synthetic, paths["synth"])
    write(synthetic[:, 3:].copy(), paths["narrow"])
    labels = train.obs[["population"]].astype(str)
    labels = labels._append(test.obs[["population"]].astype(str))
    labels.to_csv(paths["labels"], sep="\t", index_label="sample")
    return paths


@pytest.mark.parametrize("kind", ["vcf", "bed"])
def test_cli_writes_the_report(files, tmp_path, kind):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            "evaluate-genotypes",
            str(files[f"test_{kind}"]),
            str(files["synth"]),
            "--train",
            str(files[f"train_{kind}"]),
            "--metadata",
            str(files["labels"]),
            "--label",
            "population",
            "--names",
            "shuffled",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"report.html", "metrics.json", "metrics.tsv"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["omics"] == "genotype" and metrics["set_names"] == ["shuffled"]
    records = {r["name"]: r for r in metrics["results"]["shuffled"]}
    assert records["exact_copies"]["value"] == 1.0  # rows of the training set
    assert records["tstr_ratio_logistic"]["value"] is not None
    assert "Linkage disequilibrium decay" in (out / "report.html").read_text()
    # the terminal verdict: the copied rows fail privacy; the report's path comes last
    text = " ".join(result.output.split())
    assert "fails privacy, do not share: shuffled (" in text and "exact copies" in text
    assert result.output.rstrip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")


def test_cli_names_the_set_lacking_variants(files, tmp_path):
    result = CliRunner().invoke(
        app,
        ["evaluate-genotypes", str(files["test_vcf"]), str(files["narrow"]), "-o", str(tmp_path)],
    )
    assert result.exit_code != 0
    assert "narrow" in result.output and "lacks 3 of the 300 variants" in result.output


def test_fit_sample_evaluate_round_trip_through_vcf(files, tmp_path):
    # synthetic VCF labels come from the OUT.samples.tsv that `synthomics sample` writes
    runner = CliRunner()
    model, synthetic, out = tmp_path / "model", tmp_path / "synthetic.vcf.gz", tmp_path / "ev"
    common = ["--metadata", str(files["labels"])]
    fitted = runner.invoke(
        app,
        [
            "fit",
            "allele-frequency",
            str(files["train_vcf"]),
            *common,
            "--condition",
            "population",
            "--out",
            str(model),
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    sampled = runner.invoke(
        app,
        ["sample", str(model), "-n", "30", "--seed", "2", "--out", str(synthetic)],
    )
    assert sampled.exit_code == 0, sampled.output
    assert (tmp_path / "synthetic.vcf.gz.samples.tsv").is_file()
    result = runner.invoke(
        app,
        [
            "evaluate-genotypes",
            str(files["test_vcf"]),
            str(synthetic),
            "--train",
            str(files["train_vcf"]),
            *common,
            "--label",
            "population",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    (name,) = metrics["set_names"]
    records = {r["name"]: r for r in metrics["results"][name]}
    assert records["tstr_ratio_logistic"]["value"] is not None
    assert records["exact_copies"]["value"] == 0.0
