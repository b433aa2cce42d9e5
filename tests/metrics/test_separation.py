"""What separates synthetic from real: per-sample summaries and single-feature AUCs."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.metrics.separation import SUMMARIES, sample_summaries, separating_features


def test_sample_summaries_hand_computed():
    P = np.array([[0.5, 0.25, 0.25, 0.0], [0.001, 0.001, 0.998, 0.0]])
    s = sample_summaries(P)
    assert list(s) == list(SUMMARIES)
    np.testing.assert_array_equal(s["richness"], [3, 3])
    # Shannon: -sum p log p
    assert s["Shannon index"][0] == pytest.approx(-(0.5 * np.log(0.5) + 0.5 * np.log(0.25)))
    np.testing.assert_allclose(s["smallest share"], [0.25, 0.001])
    # row 0: two of three present taxa sit at the smallest share; row 1: two singletons
    np.testing.assert_allclose(s["share of taxa at the smallest share"], [2 / 3, 2 / 3])
    np.testing.assert_allclose(s["largest share"], [0.5, 0.998])
    logs = np.log([0.5, 0.25, 0.25])
    assert s["mean log share of present taxa"][0] == pytest.approx(logs.mean())
    assert s["sd of log shares of present taxa"][0] == pytest.approx(logs.std())


def test_a_richer_synthetic_set_is_separated_by_richness_first():
    rng = np.random.default_rng(0)

    def table(n, present_share):
        X = rng.lognormal(size=(n, 40)) * (rng.random((n, 40)) < present_share)
        X[:, 0] += 1.0
        return X / X.sum(axis=1, keepdims=True)

    real, richer = table(200, 0.3), table(200, 0.6)
    ranked = separating_features(real, richer)
    assert ranked[0].feature == "richness" and ranked[0].auc > 0.95 and ranked[0].higher
    # two draws of the same model: no feature separates them much (folded AUC of a
    # null single feature on 200 vs 200 stays within about 0.5 + 3 * 0.03)
    same = separating_features(table(200, 0.3), table(200, 0.3))
    assert same[0].auc < 0.62


def test_evaluation_report_shows_what_separates(tmp_path):
    from synthomics.datasets import synthetic_microbiome
    from synthomics.generators import get_generator
    from synthomics.metrics import evaluate
    from synthomics.preprocessing import train_test_split
    from synthomics.report import write_report

    adata = synthetic_microbiome(n_samples=120, n_taxa=20, seed=1)
    train, test = train_test_split(adata, test_fraction=0.5, seed=0)
    synthetic = get_generator("independent", seed=0).fit(train).sample(60, seed=1)
    result = evaluate(test, {"independent": synthetic}, train=train, seed=0)
    rows = result.figure_data["separation"]["sets"]["independent"]
    assert len(rows) == 8 and rows[0]["auc"] >= rows[-1]["auc"]
    assert {"feature", "auc", "floor", "synthetic_higher"} <= set(rows[0])
    write_report(result, tmp_path / "report")
    html = (tmp_path / "report" / "report.html").read_text()
    assert "What separates synthetic from real" in html and rows[0]["feature"] in html
