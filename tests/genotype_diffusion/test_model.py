"""One-epoch-scale smoke tests of GenotypeDiffusion on small simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.datasets import simulate_genotypes
from synthomics.errors import InputError
from synthomics.generators import get_generator
from synthomics.generators.base import Generator
from synthomics.genotype_diffusion import GenotypeDiffusion
from synthomics.genotype_diffusion import model as model_module

FAST = dict(GenotypeDiffusion.fast_config, progress=False)


@pytest.fixture(scope="module")
def dosages():
    return simulate_genotypes(12, 120, seed=3)


@pytest.fixture(scope="module")
def fitted(dosages):
    return GenotypeDiffusion(seed=0, **FAST).fit(dosages, condition="population")


@pytest.mark.parametrize("representation", ["windowed_pca", "dosage"])
def test_fit_sample_valid_genotypes_and_metadata(dosages, representation):
    model = GenotypeDiffusion(seed=0, representation=representation, window=50, **FAST)
    synthetic = model.fit(dosages).sample(25, seed=1)
    X = np.asarray(synthetic.X)
    assert X.shape == (25, dosages.n_vars) and X.dtype == np.int8
    assert set(np.unique(X)) <= {0, 1, 2}
    assert list(synthetic.var_names) == list(dosages.var_names)
    assert synthetic.var["pos"].tolist() == dosages.var["pos"].tolist()
    assert synthetic.uns["layout"] == "dosage"


def test_conditional_counts_per_level(fitted):
    synthetic = fitted.sample(conditions={"population": {"YRI": 7, "CHB": 3}}, seed=2)
    counts = synthetic.obs["population"].astype(str).value_counts().to_dict()
    assert counts == {"YRI": 7, "CHB": 3}


def test_save_load_gives_identical_samples(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = Generator.load(tmp_path / "model")
    assert isinstance(loaded, GenotypeDiffusion)
    conditions = {"population": {"CEU": 6, "YRI": 4}}
    a = fitted.sample(conditions=conditions, seed=5)
    b = loaded.sample(conditions=conditions, seed=5)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))


def test_seeded_reproducibility(dosages):
    a = GenotypeDiffusion(seed=4, **FAST).fit(dosages).sample(10, seed=9)
    b = GenotypeDiffusion(seed=4, **FAST).fit(dosages).sample(10, seed=9)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))


def test_decoded_frequencies_follow_training(fitted, dosages):
    # the decoder is calibrated on the model's own draws: a large draw of one level keeps
    # that level's genotype frequencies (shrunk by threshold_prior) up to sampling noise
    synthetic = fitted.sample(conditions={"population": {"YRI": 400}}, seed=3)
    real = np.asarray(dosages.X)[dosages.obs["population"].astype(str).to_numpy() == "YRI"]
    r = np.corrcoef(np.asarray(synthetic.X).mean(0), real.mean(0))[0, 1]
    assert r > 0.9


def test_haplotype_layout():
    haplotypes = simulate_genotypes(8, 80, seed=5, phased=True)
    assert haplotypes.uns["layout"] == "haplotype"
    model = GenotypeDiffusion(seed=0, **FAST).fit(haplotypes, condition="population")
    synthetic = model.sample(conditions={"population": {"YRI": 4, "CEU": 2}}, seed=1)
    X = np.asarray(synthetic.X)
    assert set(np.unique(X)) <= {0, 1}
    assert synthetic.uns["layout"] == "haplotype"
    assert synthetic.obs["individual"].nunique() == 3


def test_missing_calls_in_training(dosages):
    data = dosages.copy()
    X = np.asarray(data.X).copy()
    X[np.random.default_rng(0).random(X.shape) < 0.05] = -1
    data.X = X
    synthetic = GenotypeDiffusion(seed=0, **FAST).fit(data).sample(15, seed=1)
    assert set(np.unique(np.asarray(synthetic.X))) <= {0, 1, 2}


def test_denoiser_follows_the_representation_and_an_mlp_model_loads_as_saved(
    dosages, tmp_path, monkeypatch
):
    with pytest.raises(InputError, match="window denoiser"):
        GenotypeDiffusion(representation="dosage", denoiser="windows")
    assert GenotypeDiffusion(seed=0, window=50, **FAST).fit(dosages).denoiser_ == "windows"
    assert (
        GenotypeDiffusion(seed=0, representation="dosage", **FAST).fit(dosages).denoiser_ == "mlp"
    )
    monkeypatch.setattr(model_module, "MAX_AUTO_WINDOWS", 1)  # 120 variants: 2 windows of 50+
    model = GenotypeDiffusion(seed=0, window=50, **FAST).fit(dosages)
    assert model.denoiser_ == "mlp" and "denoiser" not in model.architecture_  # as older saves
    model.save(tmp_path / "mlp")
    loaded = Generator.load(tmp_path / "mlp")
    assert loaded.denoiser_ == "mlp"
    np.testing.assert_array_equal(
        np.asarray(model.sample(8, seed=3).X), np.asarray(loaded.sample(8, seed=3).X)
    )


def test_default_step_budget_follows_the_denoiser_and_the_panel():
    model = GenotypeDiffusion()
    assert model.max_steps == "auto"
    model.denoiser_ = "mlp"  # as chosen at fit time
    assert model.training_options(5000).max_steps == model_module.MLP_STEPS
    model.denoiser_ = "windows"
    low, high = model_module.WINDOW_STEPS
    assert model.training_steps(119) == low  # a small panel: no more passes
    assert low < model.training_steps(800) < high
    assert model.training_steps(1125) == model.training_steps(5000) == high
    assert GenotypeDiffusion(max_steps=40).training_steps(500) == 40
    assert GenotypeDiffusion(**model.get_config()).max_steps == "auto"


def test_window_denoiser_is_saved_with_its_windows(fitted, tmp_path):
    assert fitted.architecture_["denoiser"] == "windows"
    assert fitted.architecture_["offsets"] == [int(o) for o in fitted.transform_.offsets]
    fitted.save(tmp_path / "model")
    assert Generator.load(tmp_path / "model").architecture_ == fitted.architecture_


def test_registry_and_bad_options():
    assert isinstance(get_generator("genotype_diffusion", size="tiny"), GenotypeDiffusion)
    assert get_generator("genotype-diffusion").name == "genotype_diffusion"
    with pytest.raises(InputError):
        GenotypeDiffusion(representation="pixels")
    with pytest.raises(InputError):
        GenotypeDiffusion(pca_variance=1.5)
