"""The microbiome diffusion model's decoder calibration and its outputs in the data's units."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from synthomics.datasets import synthetic_microbiome
from synthomics.generators import get_generator
from synthomics.microbiome_diffusion.transform import (
    EvennessCalibration,
    MarginalCalibration,
    PresenceLogAbundance,
    floor_shares,
    smallest_share,
)

FAST = {"size": "tiny", "poincare_epochs": 5, "sampling_steps": 8, "progress": False}


def test_rare_taxa_maps_take_the_within_taxon_variance_of_the_least_prevalent_band():
    # taxa 0-3 present in all 40 samples around very different means (log 2, 4, 6, 8)
    # with different spreads; taxon 4 present in 3 samples. The rare taxon's prior
    # variance is pooled within the least prevalent quarter of the well-observed taxa
    # (here taxon 0, the first of four tied by prevalence), so its Gaussian map has sd
    # sqrt((s4 + 3 * var0) / (2 + 3)) with var0 the variance of taxon 0's log shares,
    # not the total variance (about 5) that the differences between taxon means give.
    rng = np.random.default_rng(0)
    logs = np.array([2.0, 4.0, 6.0, 8.0]) + rng.standard_normal((40, 4)) * [0.1, 0.2, 0.3, 0.4]
    raw = np.zeros((40, 5))
    raw[:, :4] = np.exp(logs)
    raw[:3, 4] = np.exp([1.0, 1.5, 2.0])
    proportions = raw / raw.sum(axis=1, keepdims=True)
    transform = PresenceLogAbundance.fit(proportions, "log", min_quantile_samples=10)
    rare = np.log(proportions[:3, 4])
    squares = ((rare - rare.mean()) ** 2).sum()
    var0 = np.log(proportions[:, 0]).var(ddof=1)
    expected_sd = np.sqrt((squares + 3 * var0) / (2 + 3))
    assert expected_sd < 0.5  # the total variance would give about 1.5
    values, scores = transform.values[4], transform.scores[4]
    slope = (values[-1] - values[0]) / (scores[-1] - scores[0])
    assert slope == pytest.approx(expected_sd, rel=1e-6)


def test_marginal_calibration_maps_generated_quantiles_to_the_normal():
    rng = np.random.default_rng(1)
    scores = np.column_stack([rng.normal(1.0, 0.5, 4000), rng.normal(0.0, 1.0, 4000)])
    present = np.ones_like(scores, dtype=bool)
    present[40:, 1] = False  # taxon 1: too few generated presences, identity
    calibration = MarginalCalibration.fit(present, scores, knots=64, min_present=100)
    out = calibration.apply(scores)
    # taxon 0: (z - 1) / 0.5 is standard normal; the empirical map agrees within the
    # sampling error of 4,000 draws
    inner = np.abs(scores[:, 0] - 1.0) < 1.0
    np.testing.assert_allclose(out[inner, 0], (scores[inner, 0] - 1.0) / 0.5, atol=0.08)
    np.testing.assert_allclose(out[:, 1], scores[:, 1], atol=1e-12)
    # beyond the extreme generated quantile: shifted with slope one
    top = calibration.generated[0, -1]
    assert calibration.apply(np.array([[top + 2.0, 0.0]]))[0, 0] == pytest.approx(
        ndtri(1 - 0.5 / 64) + 2.0
    )


@pytest.fixture(scope="module")
def counts_table():
    adata = synthetic_microbiome(n_samples=80, n_taxa=30, seed=5)
    assert adata.uns["units"] == "counts"
    return adata


def test_reads_are_rounded_shares_with_one_read_per_present_taxon(counts_table):
    model = get_generator("diffusion", seed=0, max_steps=30, **FAST).fit(counts_table)
    synthetic = model.sample(40, seed=2)
    counts = synthetic.layers["counts"]
    proportions, present = synthetic.X, synthetic.X > 0
    np.testing.assert_array_equal(counts > 0, present)
    # X is the reads' total-sum scaling: the data's own units
    np.testing.assert_allclose(proportions, counts / counts.sum(axis=1, keepdims=True))
    # a present taxon whose share of the depth is under one read gets exactly one read
    # (no extra read on top of its share, which made rare taxa twice as abundant)
    draw = model.draw(
        type("Plan", (), {"n": 40, "codes": np.zeros(40, int), "library_sizes": None})(),
        np.random.default_rng(3),
    )
    depth = counts.sum(axis=1, keepdims=True)
    assert draw.counts is None
    assert np.all(counts[present & (proportions * depth < 1.5)] <= 2)


def test_prevalence_calibration_brings_generated_prevalence_to_the_data(counts_table):
    # a barely trained network (20 steps) with and without the calibration
    observed = (counts_table.X > 0).mean(axis=0)
    errors = {}
    for calibrate in (False, True):
        model = get_generator(
            "diffusion", seed=0, max_steps=20, calibrate_prevalence=calibrate, **FAST
        ).fit(counts_table)
        generated = (model.sample(1000, seed=4).X > 0).mean(axis=0)
        errors[calibrate] = np.abs(generated - observed).mean()
    assert errors[True] < errors[False]
    assert errors[True] < 0.05


def test_calibration_survives_save_and_load(counts_table, tmp_path):
    from synthomics.generators import load_generator

    model = get_generator("diffusion", seed=1, max_steps=20, **FAST).fit(counts_table)
    model.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    assert loaded.presence_sd_ == model.presence_sd_
    assert loaded.detection_limit_ == model.detection_limit_ > 0
    np.testing.assert_array_equal(loaded.calibration_.generated, model.calibration_.generated)
    np.testing.assert_array_equal(loaded.evenness_.target, model.evenness_.target)
    np.testing.assert_array_equal(loaded.sample(20, seed=5).X, model.sample(20, seed=5).X)


def _dirichlet_rows(rng, n, p, concentration):
    """Rows of Dirichlet shares with a per-row concentration and about half the taxa absent."""
    rows = np.stack([rng.dirichlet(np.full(p, c)) for c in concentration])
    rows[rng.random((n, p)) < 0.5] = 0.0
    rows[:, 0] += 1e-3  # every row keeps a taxon
    return rows / rows.sum(axis=1, keepdims=True)


def test_evenness_calibration_gives_the_training_shannon_index_and_keeps_each_sample():
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    # training samples of two levels with different evenness; generated samples whose
    # evenness is too spread out within each level
    training = _dirichlet_rows(rng, 400, 60, np.exp(rng.normal(0.0, 0.3, 400)))
    training_codes = np.repeat([0, 1], 200)
    training[200:] = _dirichlet_rows(rng, 200, 60, np.exp(rng.normal(-1.5, 0.3, 200)))
    generated = _dirichlet_rows(rng, 1000, 60, np.exp(rng.normal(0.0, 1.2, 1000)))
    generated_codes = np.repeat([0, 1], 500)
    generated[500:] = _dirichlet_rows(rng, 500, 60, np.exp(rng.normal(-1.5, 1.2, 500)))
    calibration = EvennessCalibration.fit(
        generated, generated_codes, training, training_codes, n_levels=2
    )
    fresh = _dirichlet_rows(rng, 600, 60, np.exp(rng.normal(0.0, 1.2, 600)))
    fresh_codes = np.zeros(600, dtype=int)
    out = calibration.apply(fresh, fresh_codes)
    h_train, h_in, h_out = (entropy(x, axis=1) for x in (training[:200], fresh, out))
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    assert np.abs(np.quantile(h_out, quantiles) - np.quantile(h_train, quantiles)).max() < 0.05
    assert np.abs(np.quantile(h_in, quantiles) - np.quantile(h_train, quantiles)).max() > 0.2
    # each sample keeps its present taxa, their order, and its rank among the samples
    np.testing.assert_array_equal(out > 0, fresh > 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    for row in range(0, 600, 50):
        present = fresh[row] > 0
        np.testing.assert_array_equal(
            np.argsort(fresh[row, present], kind="stable"),
            np.argsort(out[row, present], kind="stable"),
        )
    np.testing.assert_array_equal(np.argsort(h_in), np.argsort(h_out))
    # the other level has its own map: its draws land on its own (lower) index
    drawn = _dirichlet_rows(rng, 300, 60, np.exp(rng.normal(-1.5, 1.2, 300)))
    other = calibration.apply(drawn, np.ones(300, dtype=int))
    assert np.median(entropy(other, axis=1)) == pytest.approx(
        np.median(entropy(training[200:], axis=1)), abs=0.1
    )


def test_taxa_absent_from_every_training_sample_are_never_drawn(counts_table):
    adata = counts_table.copy()
    adata.X = np.asarray(adata.X).copy()
    adata.X[:, [3, 17]] = 0
    model = get_generator("diffusion", seed=0, max_steps=20, **FAST).fit(adata)
    synthetic = np.asarray(model.sample(500, seed=1).X)
    assert not synthetic[:, [3, 17]].any()
    assert (synthetic > 0).any(axis=1).all()
    # the other taxa keep their prevalence
    seen = np.setdiff1d(np.arange(adata.n_vars), [3, 17])
    assert (synthetic[:, seen] > 0).mean(axis=0).min() > 0


def test_floor_shares_raises_present_shares_to_the_limit_and_keeps_absent_ones():
    rows = np.array([[0.7, 0.3 - 1e-9, 1e-9, 0.0], [0.25, 0.25, 0.25, 0.25]])
    floored = floor_shares(rows, 1e-4)
    np.testing.assert_allclose(floored.sum(axis=1), 1.0)
    assert floored[0, 3] == 0  # absent stays absent
    # the raised share is the limit over the row's new total (1 + 1e-4 - 1e-9)
    assert floored[0, 2] == pytest.approx(1e-4 / (1 + 1e-4 - 1e-9))
    np.testing.assert_array_equal(floored[1], rows[1])  # nothing below the limit: unchanged
    np.testing.assert_array_equal(floor_shares(rows, 0.0), rows)
    assert smallest_share(rows) == 1e-9
    assert smallest_share(np.zeros((2, 3))) == 0.0


def test_no_present_share_is_drawn_below_the_training_detection_limit():
    # relative abundances with a profiler's detection limit of 1e-4 (no reads to round)
    rng = np.random.default_rng(2)
    raw = np.exp(rng.normal(0, 2.5, size=(80, 30))) * (rng.random((80, 30)) < 0.6)
    raw[:, 0] += 1.0
    shares = raw / raw.sum(axis=1, keepdims=True)
    shares[shares < 1e-4] = 0
    shares /= shares.sum(axis=1, keepdims=True)
    adata = synthetic_microbiome(n_samples=80, n_taxa=30, seed=5)
    adata.X = shares
    adata.uns["units"] = "proportion"
    model = get_generator("diffusion", seed=0, max_steps=20, **FAST).fit(adata)
    assert model.detection_limit_ == pytest.approx(shares[shares > 0].min())
    synthetic = np.asarray(model.sample(400, seed=1).X)
    present = synthetic[synthetic > 0]
    # at least the limit up to the closure of the row (a relative error of a few 1e-3)
    assert present.min() >= 0.99 * model.detection_limit_
