"""The end-to-end job on small synthetic data, and its CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app
from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.io import read, write
from synthomics.pipeline import run_pipeline


@pytest.fixture(scope="module")
def cohort():
    return synthetic_microbiome(80, 30, seed=3)


def test_run_pipeline_writes_report_models_and_tables(cohort, tmp_path):
    result = run_pipeline(
        cohort, models=["independent", "bootstrap"], out=tmp_path, label="group", progress=False
    )
    assert result.report["html"].read_text().startswith("<!DOCTYPE html>")
    metrics = json.loads(result.report["json"].read_text())
    assert "independent" in json.dumps(metrics) and "bootstrap" in json.dumps(metrics)
    for name in ("independent", "bootstrap"):
        synthetic = read(result.synthetic[name])
        # as many synthetic samples as training samples (70 % of 80), same features
        assert synthetic.shape == (56, cohort.n_vars)
        assert list(synthetic.var_names) == list(cohort.var_names)
        assert set(synthetic.obs["group"]) <= set(cohort.obs["group"])
        assert (result.models[name] / "manifest.json").is_file()
    timings = json.loads((tmp_path / "timings.json").read_text())
    assert set(timings) == {"independent", "bootstrap", "evaluation"}


def test_unknown_label_is_an_error(cohort, tmp_path):
    with pytest.raises(InputError, match="label column 'nope'"):
        run_pipeline(cohort, models=["independent"], out=tmp_path, label="nope", progress=False)


def test_run_command(cohort, tmp_path):
    table = write(cohort, tmp_path / "cohort.h5ad")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", str(table), "--label", "group", "--models", "independent", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    assert (out / "synthetic" / "independent.h5ad").is_file()
    # the terminal verdict names the only set as the best; the report's path comes last
    assert "best: independent (" in " ".join(result.output.split())
    assert result.output.rstrip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")


def test_demo_command_ends_with_the_verdict(cohort, tmp_path, monkeypatch):
    import synthomics.datasets

    demo = cohort.copy()
    demo.obs["disease"] = demo.obs["group"]
    monkeypatch.setattr(synthomics.datasets, "load_demo", lambda: demo)  # a small stand-in
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--models", "bootstrap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    # bootstrap resamples training samples: they are exact copies, so privacy fails
    assert "fails privacy, do not share: bootstrap (" in text and "exact copies" in text
    assert result.output.rstrip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")


def test_fit_and_sample_from_files_are_library_calls(cohort, tmp_path):
    from synthomics.pipeline import fit_model, sample_model

    table = write(cohort, tmp_path / "table.h5ad")
    model = fit_model("independent", table, tmp_path / "model", condition="group", seed=2)
    assert (tmp_path / "model" / "manifest.json").is_file()
    wanted = {"group": {"group_1": 4}}
    drawn = sample_model(tmp_path / "model", None, tmp_path / "out.h5ad", conditions=wanted, seed=5)
    assert drawn.shape == (4, cohort.n_vars) and model.name == "independent"
    back = read(tmp_path / "out.h5ad")
    assert list(back.obs["group"]) == ["group_1"] * 4
    # the same seed draws the same rows as the fitted model itself, written as reads
    # since the model was fitted to read counts
    assert (model.sample(conditions=wanted, seed=5).layers["counts"] == back.X).all()


def test_io_and_preprocessing_import_without_a_cycle():
    # preprocessing sits below io: importing it must not import the readers
    import os
    import subprocess
    import sys
    from pathlib import Path

    import synthomics

    src = str(Path(synthomics.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    code = "import sys, synthomics.preprocessing; print('synthomics.io' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- genotypes


@pytest.fixture(scope="module")
def panel():
    """60 simulated individuals (20 per population) x 150 variants (stdpopsim, msprime)."""
    from synthomics.datasets import simulate_genotypes

    return simulate_genotypes(20, 150, seed=2)


def _metric(metrics_tsv, set_name, metric):
    table = pd.read_csv(metrics_tsv, sep="\t")
    row = table[(table["set"] == set_name) & (table["metric"] == metric)]
    assert len(row) == 1, (set_name, metric)
    return float(row["value"].iloc[0])


def test_run_pipeline_on_genotypes_fits_every_default_model(panel, tmp_path):
    from synthomics.generators import generator_class
    from synthomics.io.vcf import read_vcf
    from synthomics.pipeline import GENOTYPE_MODELS

    fast = {"genotype_diffusion": generator_class("genotype_diffusion").fast_config}
    result = run_pipeline(
        panel, out=tmp_path, label="population", options=fast, synthetic_format="vcf.gz",
        progress=False,
    )  # fmt: skip
    assert list(result.synthetic) == list(GENOTYPE_MODELS)
    metrics = json.loads(result.report["json"].read_text())
    assert metrics["omics"] == "genotype"
    assert metrics["set_names"] == list(GENOTYPE_MODELS)
    # stratified 70/30 split of 20 per population: 14 training individuals per population,
    # and as many synthetic individuals per population as training ones
    for path in result.synthetic.values():
        synthetic = read_vcf(path)
        assert synthetic.shape == (42, panel.n_vars)
        labels = pd.read_csv(f"{path}.samples.tsv", sep="\t", dtype=str)
        assert labels["sample_id"].tolist() == list(synthetic.obs_names)
        assert labels["population"].value_counts().to_dict() == {"YRI": 14, "CEU": 14, "CHB": 14}
    # the bootstrap redraws training individuals: every synthetic one is an exact copy
    assert _metric(result.report["tsv"], "genotype_bootstrap", "exact_copies") == 1.0
    assert _metric(result.report["tsv"], "genotype_diffusion", "exact_copies") == 0.0


def test_run_pipeline_refuses_a_generator_of_the_other_omics(panel, tmp_path):
    with pytest.raises(InputError, match="generator 'independent' makes microbiome data"):
        run_pipeline(panel, models=["independent"], out=tmp_path, progress=False)


def test_run_command_on_a_vcf_with_labels(panel, tmp_path):
    vcf = write(panel, tmp_path / "panel.vcf.gz")
    samples = tmp_path / "samples.tsv"
    panel.obs[["population"]].rename_axis("sample_id").to_csv(samples, sep="\t")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "run", str(vcf), "--metadata", str(samples), "--label", "population",
            "--models", "allele_frequency,genotype_bootstrap", "--out", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    for name in ("allele_frequency", "genotype_bootstrap"):
        labels = pd.read_csv(out / "synthetic" / f"{name}.vcf.gz.samples.tsv", sep="\t")
        assert labels["population"].value_counts().to_dict() == {"YRI": 14, "CEU": 14, "CHB": 14}
    text = " ".join(result.output.split())
    assert "fails privacy, do not share: genotype_bootstrap (" in text


def test_fit_command_with_a_reference_cohort(cohort, tmp_path):
    from synthomics.generators import load_generator

    table = write(cohort, tmp_path / "table.h5ad")
    reference = write(synthetic_microbiome(100, 30, seed=9), tmp_path / "reference.h5ad")
    out = tmp_path / "model"
    options = ["--set", 'size="tiny"', "--set", "max_steps=4", "--set", "reference_steps=4"]
    options += ["--set", "poincare_epochs=2", "--set", "sampling_steps=4"]
    command = ["fit", "diffusion", str(table), "--out", str(out), "--reference", str(reference)]
    result = CliRunner().invoke(app, [*command, *options])
    assert result.exit_code == 0, result.output
    record = load_generator(out).fit_record_
    assert (record["reference_samples"], record["reference_taxa"]) == (100, 30)


def test_run_pipeline_gives_the_reference_to_the_models_that_take_one(cohort, tmp_path):
    from synthomics.generators import load_generator

    reference = synthetic_microbiome(100, 30, seed=9)
    tiny = {"size": "tiny", "max_steps": 4, "reference_steps": 4, "poincare_epochs": 2}
    run_pipeline(
        cohort,
        models=["independent", "diffusion"],
        out=tmp_path / "run",
        options={"diffusion": {**tiny, "sampling_steps": 4}},
        label="group",
        progress=False,
        reference=reference,
    )
    record = load_generator(tmp_path / "run" / "models" / "diffusion").fit_record_
    assert record["reference_samples"] == 100
    with pytest.raises(InputError, match="none of independent trains on a reference cohort"):
        run_pipeline(cohort, models=["independent"], out=tmp_path / "r2", reference=reference)
