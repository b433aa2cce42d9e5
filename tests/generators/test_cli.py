"""``synthomics fit``, ``sample`` and ``models`` through typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from synthomics.cli.generate import parse_conditions, parse_options
from synthomics.cli.main import app
from synthomics.errors import InputError

from .conftest import tiny_counts

runner = CliRunner()


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from synthomics.io import write

    path = tmp_path_factory.mktemp("data") / "table.h5ad"
    write(tiny_counts(n=30, p=8), path)
    return path


@pytest.fixture(scope="module")
def model_dir(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "ziln"
    result = runner.invoke(
        app,
        [
            "fit",
            "ziln_copula",
            str(table),
            "--out",
            str(out),
            "--condition",
            "disease",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fitted ziln_copula on 30 samples x 8 features" in result.output
    return out


def test_models_lists_every_generator_on_one_line_each():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in ("ziln_copula", "midasim", "dmm", "independent", "bootstrap"):
        assert name in result.output
    assert "PRIVACY WORST CASE" in result.output


def test_fit_writes_a_model_folder(model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["name"] == "ziln_copula" and manifest["seed"] == 3
    assert manifest["condition"]["levels"] == ["IBD", "control"]


@pytest.mark.parametrize("suffix", [".tsv", ".biom", ".h5ad"])
def test_sample_writes_the_format_of_the_extension(model_dir, tmp_path, suffix):
    from synthomics.io import read

    out = tmp_path / f"synthetic{suffix}"
    result = runner.invoke(
        app,
        [
            "sample",
            str(model_dir),
            "--out",
            str(out),
            "--condition",
            "disease=IBD:4,control:3",
            "--seed",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 7 samples x 8 features" in result.output
    back = read(out)
    assert back.shape == (7, 8)
    # the model was fitted to read counts: by default it writes reads, in its own units
    X = np.asarray(back.X)
    np.testing.assert_array_equal(X, np.rint(X))
    assert X.sum(axis=1).min() > 1


def test_sample_proportions_on_request(model_dir, tmp_path):
    from synthomics.io import read

    out = tmp_path / "shares.tsv"
    result = runner.invoke(
        app, ["sample", str(model_dir), "-n", "4", "--proportions", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.asarray(read(out).X).sum(axis=1), 1.0, atol=1e-9)


def test_sample_counts_and_library_size(model_dir, tmp_path):
    from synthomics.io import read

    out = tmp_path / "reads.tsv"
    result = runner.invoke(
        app,
        [
            "sample",
            str(model_dir),
            "-n",
            "5",
            "--out",
            str(out),
            "--counts",
            "--library-size",
            "2000",
            "--seed",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    X = np.asarray(read(out).X)
    np.testing.assert_array_equal(X, np.rint(X))
    np.testing.assert_array_equal(X.sum(axis=1), 2000)


def test_same_seed_same_file(model_dir, tmp_path):
    for name in ("a.tsv", "b.tsv"):
        runner.invoke(
            app, ["sample", str(model_dir), "-n", "6", "--out", str(tmp_path / name), "--seed", "9"]
        )
    assert (tmp_path / "a.tsv").read_text() == (tmp_path / "b.tsv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--condition", "disease=CRC:3"], "unknown level 'CRC'"),
        (["--condition", "disease=IBD"], "cannot read 'IBD'"),
        (["--condition", "disease=IBD:x"], "count 'x'"),
        ([], "no number of samples given"),
    ],
)
def test_sample_errors_exit_2_with_a_message(model_dir, tmp_path, args, message):
    result = runner.invoke(app, ["sample", str(model_dir), "--out", str(tmp_path / "s.tsv"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "s.tsv").exists()


def test_fit_errors(table, tmp_path):
    result = runner.invoke(app, ["fit", "gan", str(table), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "unknown generator 'gan'" in result.output
    result = runner.invoke(
        app, ["fit", "dmm", str(table), "--out", str(tmp_path / "m"), "--condition", "sex"]
    )
    assert result.exit_code == 2 and "no sample metadata column 'sex'" in result.output
    assert not (tmp_path / "m" / "manifest.json").exists()


def test_fit_passes_generator_options(table, tmp_path):
    result = runner.invoke(
        app,
        [
            "fit",
            "dmm",
            str(table),
            "--out",
            str(tmp_path / "m"),
            "--set",
            "n_components=[1,2]",
            "--set",
            "criterion=bic",
        ],
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "manifest.json").read_text())["config"]
    assert config["n_components"] == [1, 2] and config["criterion"] == "bic"


def test_proportion_model_needs_a_depth_for_counts(tmp_path):
    from synthomics.container import microbiome_anndata
    from synthomics.io import write

    adata = tiny_counts(n=20, p=5)
    percent = microbiome_anndata(
        adata.X / adata.X.sum(1, keepdims=True) * 100,
        adata.obs_names,
        adata.var_names,
        units="percent",
    )
    write(percent, tmp_path / "percent.h5ad")
    assert (
        runner.invoke(
            app,
            ["fit", "independent", str(tmp_path / "percent.h5ad"), "--out", str(tmp_path / "m")],
        ).exit_code
        == 0
    )
    result = runner.invoke(
        app,
        ["sample", str(tmp_path / "m"), "-n", "3", "--counts", "--out", str(tmp_path / "s.tsv")],
    )
    assert result.exit_code == 2 and "--library-size" in result.output


def test_parsers():
    assert parse_conditions("disease=IBD:100,control:200") == {
        "disease": {"IBD": 100, "control": 200}
    }
    assert parse_conditions("site = gut:3") == {"site": {"gut": 3}}
    with pytest.raises(InputError, match="given twice"):
        parse_conditions("d=a:1,a:2")
    assert parse_options(["rank=100", "shrinkage=ledoit_wolf", "n_components=[1, 2]"]) == {
        "rank": 100,
        "shrinkage": "ledoit_wolf",
        "n_components": [1, 2],
    }
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_options(["rank"])
