"""MicrobiomeMAE end to end on tiny synthetic tables: pretrain, embed, save/load, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from synthomics.embeddings import MicrobiomeMAE, load_embedder
from synthomics.embeddings.model import (
    MODULE_DEFAULTS,
    TRAIN_DEFAULTS,
    TRANSFORM_DEFAULTS,
    union_reference,
)
from synthomics.embeddings.synthetic import synthetic_profiles
from synthomics.errors import InputError

torch.set_num_threads(1)
TINY = {"encoder_sizes": [16], "dropout": 0.0}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    table = synthetic_profiles(80, 24, seed=0)
    model = MicrobiomeMAE(**TINY).pretrain(
        table, max_epochs=2, batch_size=32, progress=False, min_prevalence=0.0
    )
    return model, table


@pytest.mark.parametrize(
    "options",
    [
        {"transform": "log10", "mask_token": "learned"},
        {"transform": "clr", "mask_token": "zero", "norm": "batch"},
    ],
)
def test_one_epoch_smoke_pretrain_and_embed(options):
    table = synthetic_profiles(40, 12, seed=1)
    model = MicrobiomeMAE(**{**TINY, **options}).pretrain(
        table, max_epochs=1, batch_size=16, progress=False, min_prevalence=0.0
    )
    Z = model.embed(table, key_added="X_mae")
    assert Z.shape == (40, 16) and Z.dtype == np.float32 and np.isfinite(Z).all()
    assert table.obsm["X_mae"] is Z
    assert model.training_summary["epochs"] == 1
    assert model.last_alignment.fraction_found == 1.0


def test_save_load_round_trip_gives_identical_embeddings(trained, tmp_path):
    model, table = trained
    model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())["config"]
    assert config["reference_taxa"] == model.reference_taxa
    assert config["transform"] == {"name": "clr", "floor": 1e-4}
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "arrays.safetensors",
        "config.json",
        "weights.safetensors",
    ]
    loaded = load_embedder(tmp_path / "m")
    assert isinstance(loaded, MicrobiomeMAE)
    np.testing.assert_array_equal(loaded.embed(table), model.embed(table))
    np.testing.assert_array_equal(loaded.prevalence, model.prevalence)


def test_embedding_does_not_depend_on_column_order_or_units(trained):
    model, table = trained
    shuffled = table[:, np.random.default_rng(0).permutation(table.n_vars)].copy()
    as_fraction = table.copy()
    as_fraction.X = as_fraction.X / 100.0
    as_fraction.uns["units"] = "proportion"
    reference = model.embed(table)
    np.testing.assert_allclose(model.embed(shuffled), reference, rtol=1e-6)
    np.testing.assert_allclose(model.embed(as_fraction), reference, rtol=1e-5, atol=1e-6)


def test_pretraining_is_seeded(trained):
    model, table = trained
    again = MicrobiomeMAE(**TINY).pretrain(
        table, max_epochs=2, batch_size=32, progress=False, min_prevalence=0.0
    )
    np.testing.assert_array_equal(again.embed(table), model.embed(table))


def test_several_tables_union_and_prevalence_filter():
    a = synthetic_profiles(30, 10, seed=2)
    b = synthetic_profiles(30, 14, seed=3)  # shares its first 10 names with a
    b.var_names = [n.replace("s__", "") for n in b.var_names]  # another naming style
    assert len(union_reference([a, b])) == 14
    model = MicrobiomeMAE(**TINY).pretrain([a, b], max_epochs=1, progress=False, min_prevalence=0.0)
    assert model.training_summary["n_samples"] == 60
    assert len(model.reference_taxa) == 14
    strict = MicrobiomeMAE(**TINY).pretrain(
        [a, b], max_epochs=1, progress=False, min_prevalence=0.6
    )
    prevalence = strict.prevalence
    assert (prevalence >= 0.6).all() and len(strict.reference_taxa) < 14


def test_bad_options_and_untrained_model():
    with pytest.raises(TypeError, match="unknown MicrobiomeMAE options"):
        MicrobiomeMAE(latent=3)
    with pytest.raises(RuntimeError, match="not trained"):
        MicrobiomeMAE().embed(synthetic_profiles(5, 5))
    with pytest.raises(InputError, match=r"not an embedding model"):
        load_embedder("/nonexistent/folder")


def _write_metaphlan(table, path):
    """A MetaPhlAn merged table (clades as rows, every rank down to species) of ``table``."""
    lines = ["#mpa_v30_CHOCOPhlAn_201901", "clade_name\t" + "\t".join(table.obs_names)]
    species = [n[3:] for n in table.var_names]
    genera = sorted({s.split("_")[0] for s in species})
    lineage = "k__Bacteria|p__Firmicutes|c__Clostridia|o__Clostridiales|f__Lachnospiraceae"
    lines.append("k__Bacteria\t" + "\t".join("100.0" for _ in table.obs_names))
    for genus in genera:
        cols = [j for j, s in enumerate(species) if s.startswith(genus + "_")]
        values = table.X[:, cols].sum(axis=1)
        lines.append(f"{lineage}|g__{genus}\t" + "\t".join(f"{v:.5f}" for v in values))
        for j in cols:
            lines.append(
                f"{lineage}|g__{genus}|s__{species[j]}\t"
                + "\t".join(f"{v:.5f}" for v in table.X[:, j])
            )
    path.write_text("\n".join(lines) + "\n")


def test_cli_pretrain_and_embed(tmp_path):
    from synthomics.cli import embed as cli_embed
    from synthomics.cli.main import app

    table = synthetic_profiles(40, 12, seed=4)
    path = tmp_path / "merged_abundance.txt"
    _write_metaphlan(table, path)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "pretrain",
            str(path),
            "--out",
            str(tmp_path / "m"),
            "--encoder-sizes",
            "8",
            "--epochs",
            "1",
            "--quiet",
            "--min-prevalence",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["embed", str(tmp_path / "m"), str(path), "--out", str(tmp_path / "emb.tsv")]
    )
    assert result.exit_code == 0, result.output
    assert "reference taxa found: 12/12" in result.output
    emb = pd.read_csv(tmp_path / "emb.tsv", sep="\t", index_col=0)
    assert emb.shape == (40, 8) and list(emb.index) == list(table.obs_names)
    from synthomics.io import read

    expected = MicrobiomeMAE.load(tmp_path / "m").embed(read(path))  # the file's values
    np.testing.assert_allclose(emb.to_numpy(), expected, rtol=1e-5, atol=1e-5)
    result = runner.invoke(
        app, ["embed", str(tmp_path), str(path), "--out", str(tmp_path / "x.tsv")]
    )
    assert result.exit_code == 2 and "not an embedding model folder" in result.output
    # the CLI's literal defaults are the model's
    assert ",".join(map(str, MODULE_DEFAULTS["encoder_sizes"])) == cli_embed.DEFAULT_ENCODER_SIZES
    assert MODULE_DEFAULTS["mask_rate"] == cli_embed.DEFAULT_MASK_RATE
    assert TRAIN_DEFAULTS["max_epochs"] == cli_embed.DEFAULT_EPOCHS
    assert TRAIN_DEFAULTS["min_prevalence"] == cli_embed.DEFAULT_MIN_PREVALENCE
    assert TRANSFORM_DEFAULTS["transform"] == cli_embed.DEFAULT_TRANSFORM
    assert MODULE_DEFAULTS["input_scaling"] == cli_embed.DEFAULT_INPUT_SCALING
