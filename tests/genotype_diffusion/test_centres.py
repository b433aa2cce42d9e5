"""Window centres of the genotype latents: fit, pull and state."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.generators.base import Generator
from synthomics.genotype_diffusion import GenotypeDiffusion
from synthomics.genotype_diffusion.centres import MIN_MEMBERS, WindowCentres

OFFSETS = np.array([0, 2, 3])  # two windows: latent columns 0-1 and 2


def _two_clusters(rng, n=20):
    """Rows in two clusters per window, the cluster of window 1 independent of window 0."""
    first = rng.choice([-4.0, 4.0], n)
    second = rng.choice([-4.0, 4.0], n)
    latents = np.c_[first, first, second] + rng.normal(0, 0.1, (n, 3))
    return latents.astype(np.float32)


def test_pull_moves_each_window_toward_its_own_nearest_centre():
    rng = np.random.default_rng(0)
    centres = WindowCentres.fit(_two_clusters(rng), np.zeros(20, int), 1, OFFSETS, 2, seed=0)
    query = np.array([[3.0, 3.0, -3.0]], dtype=np.float32)
    np.testing.assert_array_equal(centres.pull(query, np.zeros(1, int), 0.0), query)
    full = centres.pull(query, np.zeros(1, int), 1.0)
    np.testing.assert_allclose(full, [[4.0, 4.0, -4.0]], atol=0.15)  # windows pulled apart
    half = centres.pull(query, np.zeros(1, int), 0.5)
    np.testing.assert_allclose(half, (query + full) / 2, atol=1e-5)


def test_no_centre_stands_for_fewer_than_the_minimum_of_individuals():
    rng = np.random.default_rng(1)
    crowd = rng.normal(0, 0.1, (30, 3))
    loners = np.full((MIN_MEMBERS - 1, 3), 50.0) + rng.normal(0, 0.1, (MIN_MEMBERS - 1, 3))
    latents = np.r_[crowd, loners].astype(np.float32)
    centres = WindowCentres.fit(latents, np.zeros(len(latents), int), 1, OFFSETS, 3, seed=0)
    kept = centres.centres[0][centres.valid[0, :, 0], :2]
    assert len(kept) >= 1 and np.abs(kept).max() < 5  # the loners' cluster is dropped
    pulled = centres.pull(np.full((1, 3), 50.0, dtype=np.float32), np.zeros(1, int), 1.0)
    assert np.abs(pulled).max() < 5


def test_levels_have_their_own_centres_and_a_small_level_none():
    rng = np.random.default_rng(2)
    small = 2 * MIN_MEMBERS - 1  # room for one centre only: none kept
    latents = np.r_[rng.normal(-4, 0.1, (20, 3)), rng.normal(4, 0.1, (small, 3))]
    codes = np.r_[np.zeros(20, int), np.ones(small, int)]
    centres = WindowCentres.fit(latents.astype(np.float32), codes, 2, OFFSETS, 4, seed=0)
    assert not centres.valid[1].any()
    query = np.zeros((2, 3), dtype=np.float32)
    pulled = centres.pull(query, np.array([0, 1]), 1.0)
    np.testing.assert_allclose(pulled[0], -4.0, atol=0.15)
    np.testing.assert_array_equal(pulled[1], query[1])  # level 1: left as drawn
    again = WindowCentres.from_state(centres.state())
    np.testing.assert_array_equal(
        again.pull(query, np.array([0, 1]), 0.7), centres.pull(query, np.array([0, 1]), 0.7)
    )


def test_model_fits_centres_saves_them_and_can_do_without(tmp_path):
    from synthomics.datasets import simulate_genotypes

    adata = simulate_genotypes(20, 120, seed=3)  # 20 per population: room for 4 centres
    fast = dict(GenotypeDiffusion.fast_config, progress=False, window=40)
    model = GenotypeDiffusion(seed=0, sharpen=0.5, **fast).fit(adata, condition="population")
    assert model.centres_.valid.any()
    assert model.centres_.centres.shape == (3, 64, model.transform_.n_latent)
    model.save(tmp_path / "model")
    loaded = Generator.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.centres_.centres, model.centres_.centres)
    plain = GenotypeDiffusion(seed=0, **fast).fit(adata, condition="population")  # default
    assert plain.centres_ is None
    a, b = (m.sample(10, seed=2).X for m in (model, plain))
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(InputError, match="sharpen"):
        GenotypeDiffusion(sharpen=1.5)
