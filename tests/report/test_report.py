"""The HTML report and the metrics files, written from a small evaluation."""

from __future__ import annotations

import html
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from synthomics.datasets import synthetic_microbiome
from synthomics.metrics import METRICS, evaluate
from synthomics.preprocessing import train_test_split
from synthomics.report import microbiome_figures as figures
from synthomics.report import write_report
from synthomics.report.files import FLOOR_SET, TSV_COLUMNS

FAST = {"permutations": 19, "skip": ["c2st_auc", "tstr_ratio_boosting"]}


@pytest.fixture(scope="module")
def evaluation():
    real = synthetic_microbiome(120, 20, seed=4)
    train, test = train_test_split(real, 0.5, seed=0)
    rng = np.random.default_rng(1)
    with warnings.catch_warnings():  # repeated rows repeat sample names, made unique below
        warnings.simplefilter("ignore", UserWarning)
        copy = train[rng.integers(0, train.n_obs, train.n_obs)].copy()
    copy.obs_names_make_unique()
    other = synthetic_microbiome(60, 20, seed=9)  # same taxa ids, different abundances
    other.var_names = real.var_names
    return evaluate(test, {"copy <b>": copy, "other": other}, train=train, label="group", **FAST)


@pytest.fixture(scope="module")
def written(evaluation, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return folder, write_report(evaluation, folder / "out")


def test_write_report_writes_three_files(written):
    tmp_path, paths = written
    assert sorted(p.name for p in paths.values()) == ["metrics.json", "metrics.tsv", "report.html"]
    assert all(p.stat().st_size > 0 for p in paths.values())
    assert not list((tmp_path / "out").glob(".*tmp*"))  # no temporary files left


def test_tsv_is_long_and_complete(evaluation, written):
    table = pd.read_csv(written[1]["tsv"], sep="\t", keep_default_na=False)
    assert tuple(table.columns) == TSV_COLUMNS
    assert len(table) == 3 * len(METRICS)  # floor + two sets
    assert set(table["set"]) == {FLOOR_SET, "copy <b>", "other"}
    row = table[(table["set"] == "other") & (table["metric"] == "prevalence_pearson")].iloc[0]
    record = evaluation.result("other", "prevalence_pearson")
    assert float(row["value"]) == pytest.approx(record.value, rel=1e-9)
    assert float(row["floor"]) == pytest.approx(record.floor, rel=1e-9)
    assert row["status"] == record.status


def test_json_round_trips_without_nan(written):
    data = json.loads(written[1]["json"].read_text())  # strict JSON: no NaN
    assert data["set_names"] == ["copy <b>", "other"]
    assert len(data["metrics"]) == len(METRICS)
    assert data["results"]["copy <b>"][0]["name"] == METRICS[0].name
    assert data["settings"]["seed"] == 0 and data["notes"]


def test_html_is_self_contained_and_complete(written):
    page = written[1]["html"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from outside
    assert page.count('src="data:image/png;base64,') >= 6
    for spec in METRICS:
        assert html.escape(spec.label) in page
    assert "copy &lt;b&gt;" in page and "copy <b>" not in page  # names are escaped
    assert "real-vs-real floor" in page and "What fails" in page
    assert "exact copies" in page


def test_figures_skip_missing_data(evaluation):
    empty = type(evaluation)(
        omics="microbiome", set_names=[], results={}, floor=[], specs=list(METRICS)
    )
    for fn in (
        figures.pcoa_figure,
        figures.prevalence_figure,
        figures.sparsity_figure,
        figures.alpha_figure,
        figures.library_size_figure,
        figures.correlation_figure,
        figures.privacy_figure,
        figures.utility_figure,
    ):
        assert fn(empty) is None
    assert figures.pcoa_figure(evaluation).image.startswith("data:image/png;base64,")
