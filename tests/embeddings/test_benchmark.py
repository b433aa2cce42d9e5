"""The MetAML embedding benchmark (benchmarks/metaml_embeddings.py): its splitting,
statistics and a miniature end-to-end run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from synthomics.embeddings.synthetic import synthetic_profiles


def _load_study():
    """The study module, read from the benchmarks folder (it is not part of the package)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "metaml_embeddings.py"
    spec = importlib.util.spec_from_file_location("metaml_embeddings", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("metaml_embeddings", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


B = _load_study()

torch.set_num_threads(1)


def test_split_keeps_subjects_together_and_stratifies():
    y = np.array([0] * 20 + [1] * 10)
    groups = np.array([f"p{i // 2}" for i in range(30)])  # two samples per subject
    pool, test = B.split_draw(y, groups, "classification", seed=0)
    assert set(groups[pool]).isdisjoint(groups[test])
    assert sorted([*pool, *test]) == list(range(30))
    # 30 % of each class's subjects: 3 of 10 class-0 subjects, 2 of 5 class-1 subjects
    assert (y[test] == 0).sum() == 6 and (y[test] == 1).sum() == 4


def test_training_subset_sizes_and_strata():
    rng = np.random.default_rng(0)
    y = np.array([0] * 70 + [1] * 30)
    pool = np.arange(100)
    picked = B.training_subset(pool, y, 25, "classification", rng)
    assert len(picked) == 25 and len(set(picked)) == 25
    assert (y[picked] == 1).sum() == 8  # round(25 * 30 / 100)
    assert B.training_subset(pool, y, 200, "classification", rng) is None
    assert len(B.training_subset(pool, y, None, "regression", rng)) == 100


def test_t_interval_matches_scipy():
    values = np.array([0.61, 0.7, 0.66, 0.59, 0.73])
    mean, lo, hi = B.t_interval(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean())
    assert (lo, hi) == pytest.approx(ref)


def test_pretraining_mask_drops_fold_cohorts_and_shared_samples():
    obs = pd.DataFrame(
        {
            "dataset_name": ["A", "A", "B", "C", "C"],
            "sampleID": ["s1", "s2", "s1", "s3", "nd"],
            "subjectID": ["p1", "p2", "p9", "p2", "p4"],
        }
    )
    # fold = cohort A: B shares sample s1, C's first row shares subject p2
    assert B.pretraining_mask(obs, ["A"]).tolist() == [False, False, False, False, True]


def _mini_metaml():
    table = synthetic_profiles(120, 20, seed=5)
    rng = np.random.default_rng(0)
    cohort = np.array(["Zeller_fecal_colorectal_cancer"] * 60 + ["other"] * 60)
    group = table.obs["group"].to_numpy()
    table.obs = pd.DataFrame(
        {
            "dataset_name": cohort,
            "sampleID": [f"S{i}" for i in range(120)],
            "subjectID": [f"P{i}" for i in range(120)],
            "disease": np.where(group == "type1", "cancer", "n"),
            "age": rng.normal(60, 10, 120),
            "bmi": rng.normal(25, 4, 120) + (group == "type1") * 5,
        },
        index=table.obs_names,
    )
    return table


def test_miniature_benchmark_run_writes_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(B, "FOREST_TREES", 10)
    table = _mini_metaml()
    report = B.run_metaml_benchmark(
        table,
        tmp_path,
        folds=["crc"],
        sizes=(25,),
        n_draws=1,
        cross=False,
        model_options={"encoder_sizes": [8]},
        train_options={"max_epochs": 1},
        variants={"mask50": B.VARIANTS["mask50"]},
        log=lambda m: None,
    )
    for name in ("results.md", "results.json", "records.csv", "summary_within.csv"):
        assert (tmp_path / name).is_file()
    records = pd.read_csv(tmp_path / "records.csv")
    assert set(records["features"]) == {
        "mae",
        "mae[mask50]",
        "mae+log_abundance",
        "log_abundance",
        "clr",
        "rf_relative",
        "pca",
    }
    assert set(records["task"]) == {"crc", "age@crc", "bmi@crc"}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["tally_vs_log_abundance"]["25"]["tasks"] == 3
    assert "| crc | auroc | 25 |" in (tmp_path / "results.md").read_text()
    assert report["timings"]["embed_10000_seconds"] > 0
    # a rerun with the same options reuses the saved models
    again = B.run_metaml_benchmark(
        table,
        tmp_path,
        folds=["crc"],
        sizes=(25,),
        n_draws=1,
        cross=False,
        forest=False,
        model_options={"encoder_sizes": [8]},
        train_options={"max_epochs": 1},
        log=lambda m: None,
    )
    assert again["pretraining"]["mae/crc"] == report["pretraining"]["mae/crc"]


def test_benchmark_compares_an_mbembed_folder_with_and_without_synonyms(tmp_path, monkeypatch):
    from torch import nn

    monkeypatch.setattr(B, "FOREST_TREES", 10)
    table = _mini_metaml()
    names = list(table.var_names)
    names[0] = "Bacteroides vulgatus"  # an NCBI name; the reference below is in GTDB names
    table.var_names = names
    reference = ["Phocaeicola vulgatus", *names[1:10]]
    folder = tmp_path / "mbembed"
    folder.mkdir()
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(10, 4), nn.BatchNorm1d(4), nn.GELU(), nn.Dropout(0.1))
    torch.save(encoder, folder / "mae30_encoder_full.pkl")
    pd.DataFrame({"species_name": reference, "rep_id": range(10), "order": range(10)}).to_csv(
        folder / "model_species_reference.csv", index=False
    )
    report = B.run_metaml_benchmark(
        table,
        tmp_path / "out",
        folds=["crc"],
        sizes=(25,),
        n_draws=1,
        cross=False,
        forest=False,
        pca=False,
        unscaled=True,
        mbembed=folder,
        model_options={"encoder_sizes": [8]},
        train_options={"max_epochs": 1},
        log=lambda m: None,
    )
    alignment = report["mbembed_alignment"]
    assert alignment["mbembed"]["reference_found"] == 10
    assert alignment["mbembed[names_only]"]["reference_found"] == 9
    rules = {r["rule"]: r["reference_taxa"] for r in alignment["mbembed"]["rules"]}
    assert rules == {"exact name": 9, "Bacteroides to Phocaeicola": 1}
    records = pd.read_csv(tmp_path / "out" / "records.csv")
    compared = {"mbembed", "mbembed[names_only]", "mbembed[renormalised]", "mae[unscaled_readout]"}
    assert compared | {"log_abundance[mbembed_taxa]"} <= set(records["features"])
    features, _ = B._mbembed_features(table, folder)
    restricted = features["log_abundance[mbembed_taxa]"]
    assert table.n_vars > 10
    assert restricted.shape == (table.n_obs, 10)  # only the 10 species the encoder sees
    tallied = report["tally_vs_log_abundance_by_features"]
    assert tallied["mbembed"]["25"]["tasks"] == 3  # crc, age@crc, bmi@crc
    assert "| mbembed | 25 | 3 |" in (tmp_path / "out" / "results.md").read_text()


def test_cross_cohort_drops_shared_samples_and_bootstraps():
    rng = np.random.default_rng(1)
    n = 80
    obs = pd.DataFrame(
        {
            "dataset_name": ["A"] * 40 + ["B"] * 40,
            "sampleID": [f"S{i}" for i in range(40)]
            + [f"S{i}" for i in range(10)]
            + [f"T{i}" for i in range(30)],  # B repeats 10 of A's samples
            "subjectID": [f"P{i}" for i in range(n)],
            "disease": np.where(rng.random(n) < 0.5, "t2d", "n"),
        }
    )
    y = (obs["disease"] == "t2d").to_numpy()
    informative = np.c_[y + rng.normal(0, 0.5, n), rng.normal(size=(n, 3))]
    noise = rng.normal(size=(n, 4))
    task = B.Task(
        "t2d:A->B", "disease", "classification", ("A",), "t2d", ("t2d",), test_cohorts=("B",)
    )
    features = {
        "mae": B.FeatureSet("mae", informative),
        "log_abundance": B.FeatureSet("log_abundance", noise),
    }
    records, predictions = B.evaluate_cross(obs, task, features)
    assert {r["n_test"] for r in records} == {30}  # the 10 shared samples left out
    summary = B.summarize_cross(
        {task.name: predictions}, {task.name: task}, "mae", ["log_abundance"], n_boot=200
    )
    auroc = summary[summary["metric"] == "auroc"].iloc[0]
    assert auroc["mae"] > 0.8 and auroc["mae_lo"] <= auroc["mae"] <= auroc["mae_hi"]
    assert auroc["diff_log_abundance_lo"] > 0  # informative features win, interval above 0
    assert B.verdict(auroc, "log_abundance") == "**win**"
