"""The two reference points: independent marginals and the row bootstrap."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from synthomics.container import microbiome_anndata
from synthomics.generators import get_generator
from synthomics.generators.independent import IndependentGenerator

from .conftest import tiny_counts


@pytest.fixture(scope="module")
def cooccurring():
    """Taxa 0 and 1 always present together (perfect co-occurrence), taxon 2 independent."""
    rng = np.random.default_rng(20)
    n = 1000
    together = rng.random(n) < 0.5
    X = np.column_stack(
        [
            together * rng.uniform(1, 2, n),
            together * rng.uniform(1, 2, n),
            rng.uniform(1, 2, n) * (rng.random(n) < 0.3),
            np.ones(n),
        ]
    )
    P = X / X.sum(axis=1, keepdims=True)
    return microbiome_anndata(
        P, [f"S{i}" for i in range(n)], ["a", "b", "c", "d"], units="proportion"
    )


def test_independent_keeps_prevalence_and_breaks_cooccurrence(cooccurring):
    out = get_generator("independent", seed=1).fit(cooccurring).sample(4000, seed=2)
    real = np.asarray(cooccurring.X) > 0
    fake = np.asarray(out.X) > 0
    np.testing.assert_allclose(fake.mean(axis=0), real.mean(axis=0), atol=0.03)
    assert np.corrcoef(real[:, 0], real[:, 1])[0, 1] == pytest.approx(1.0)
    assert abs(np.corrcoef(fake[:, 0], fake[:, 1])[0, 1]) < 0.05


def test_independent_draws_each_taxon_from_its_training_values(cooccurring):
    model = get_generator("independent", seed=1).fit(cooccurring)
    raw = IndependentGenerator._draw(model.levels_[0].arrays, 3000, np.random.default_rng(3))
    P = np.asarray(cooccurring.X)
    for j in range(4):
        gap = np.abs(raw[:, j][:, None] - P[:, j][None, :]).min(axis=1)
        assert gap.max() < 1e-12  # every draw is a training value (up to re-normalising)
        # two-sample KS test against the training column (zeros included)
        assert stats.ks_2samp(raw[:, j], P[:, j]).pvalue > 0.001


def test_bootstrap_rows_are_training_rows_of_the_right_level():
    adata = tiny_counts(n=30)
    model = get_generator("bootstrap", seed=1).fit(adata, condition="disease")
    out = model.sample(conditions={"disease": {"IBD": 6, "control": 4}}, seed=2)
    X = np.asarray(adata.X)
    level = adata.obs["disease"].to_numpy()
    for row, counts, want in zip(
        np.asarray(out.X), out.layers["counts"], out.obs["disease"], strict=True
    ):
        match = np.flatnonzero((counts == X).all(axis=1))
        assert match.size and (level[match] == want).all()
        np.testing.assert_allclose(row, X[match[0]] / X[match[0]].sum())
    assert out.uns["privacy_worst_case"] is True
    assert out.uns["generator"]["privacy_worst_case"] is True


def test_bootstrap_is_flagged_in_the_saved_manifest(tmp_path):
    get_generator("bootstrap").fit(tiny_counts()).save(tmp_path)
    assert json.loads((tmp_path / "manifest.json").read_text())["privacy_worst_case"] is True


def test_bootstrap_with_new_depths_redraws_reads():
    adata = tiny_counts(n=30)
    out = get_generator("bootstrap", seed=1).fit(adata).sample(10, seed=2, library_size=10_000)
    assert np.all(np.abs(out.obs["library_size"] - 10_000) < 20)
