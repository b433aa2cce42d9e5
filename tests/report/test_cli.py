"""``synthomics evaluate`` end to end on small files."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app
from synthomics.datasets import synthetic_microbiome
from synthomics.io import write
from synthomics.preprocessing import train_test_split


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    real = synthetic_microbiome(100, 15, seed=2)
    train, test = train_test_split(real, 0.5, seed=0)
    synthetic = train[np.random.default_rng(0).permutation(train.n_obs)].copy()
    paths = {
        "train": folder / "train.h5ad",
        "test": folder / "test.h5ad",
        "synth": folder / "synth.h5ad",
        "narrow": folder / "narrow.h5ad",
    }
    write(train, paths["train"])
    write(test, paths["test"])
    write(synthetic, paths["synth"])
    write(synthetic[:, 1:].copy(), paths["narrow"])
    return paths


def test_evaluate_writes_the_report(files, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(files["test"]),
            str(files["synth"]),
            "--train",
            str(files["train"]),
            "--label",
            "group",
            "--out",
            str(out),
            "--permutations",
            "9",
            "--name",
            "shuffled",
            "--skip",
            "c2st_auc",
            "--skip",
            "tstr_ratio_boosting",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists() and (out / "metrics.tsv").exists()
    assert "shuffled" in result.output and "floor" in result.output
    # the terminal verdict: shuffled training rows are exact copies, so privacy fails
    text = " ".join(result.output.split())
    assert "fails privacy, do not share: shuffled (" in text and "exact copies" in text
    assert result.output.rstrip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")


def test_mismatched_features_exit_with_a_message(files, tmp_path):
    result = CliRunner().invoke(
        app, ["evaluate", str(files["test"]), str(files["narrow"]), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "features do not match" in result.output
