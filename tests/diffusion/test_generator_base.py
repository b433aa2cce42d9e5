"""The shared diffusion generator base: one set of option defaults, per-model overrides,
checks, and the training options built from the model's attributes."""

from __future__ import annotations

import dataclasses

import pytest

from synthomics.diffusion.fitting import DiffusionTrainingOptions
from synthomics.diffusion.generator import DIFFUSION_DEFAULTS, shared_option_defaults
from synthomics.errors import InputError
from synthomics.generators import get_generator
from synthomics.genotype_diffusion import GenotypeDiffusion
from synthomics.microbiome_diffusion import MicrobiomeDiffusion

# The defaults of each model (each model's budget set by the data's size, for privacy: the
# microbiome model's since the base existed, the genotype model's since its window
# denoiser); the base keeps per-model defaults apart.
MICROBIOME = {"max_steps": "auto", "early_stopping": False, "batch_size": 64,
              "weight_decay": 1e-4, "patience": 10, "dropout": 0.0,
              "library_size": "matched"}  # fmt: skip
GENOTYPE = {"max_steps": "auto", "early_stopping": True, "batch_size": 128,
            "weight_decay": 1e-2, "patience": 5, "dropout": 0.1}  # fmt: skip


@pytest.mark.parametrize(("cls", "expected"), [(MicrobiomeDiffusion, MICROBIOME),
                                               (GenotypeDiffusion, GENOTYPE)])  # fmt: skip
def test_each_model_keeps_its_defaults(cls, expected):
    model = cls()
    assert {k: getattr(model, k) for k in expected} == expected
    # the options not overridden are the shared ones
    shared = shared_option_defaults()
    for name in set(shared) - set(cls.option_overrides):
        assert getattr(model, name) == shared[name], name


def test_shared_defaults_are_the_training_options_and_the_process_options():
    training = {f.name: f.default for f in dataclasses.fields(DiffusionTrainingOptions)}
    shared = shared_option_defaults()
    assert set(shared) == set(DIFFUSION_DEFAULTS) | (set(training) - {"seed", "gradient_clip_val"})
    assert shared["max_steps"] == training["max_steps"] == 3000
    with pytest.raises(TypeError, match="unknown options"):
        shared_option_defaults({"max_step": 10})


def test_training_options_are_built_from_the_model():
    model = GenotypeDiffusion(max_steps=7, lr=0.5, devices=2, seed=4, condition_dropout=0.2)
    options = model.training_options(100)
    assert (options.max_steps, options.lr, options.devices, options.seed) == (7, 0.5, 2, 4)
    assert (options.condition_dropout, options.batch_size, options.weight_decay) == (0.2, 128, 1e-2)
    assert options.gradient_clip_val == 1.0  # not a model option: the shared default


def test_config_lists_own_and_shared_options():
    config = MicrobiomeDiffusion(max_steps=9, abundance="log").get_config()
    assert (config["max_steps"], config["abundance"], config["early_stopping"]) == (9, "log", False)
    assert set(config) >= set(shared_option_defaults()) | {"hierarchy", "library_size"}
    assert "seed" not in config and "progress" not in config


def test_bad_options_are_one_line_errors():
    with pytest.raises(InputError, match="size"):
        GenotypeDiffusion(size="large")  # a microbiome size only
    with pytest.raises(InputError, match="sampling_steps"):
        MicrobiomeDiffusion(sampling_steps=0)
    with pytest.raises(InputError, match="condition_dropout"):
        GenotypeDiffusion(condition_dropout=1.0)
    with pytest.raises(TypeError, match="max_step"):
        MicrobiomeDiffusion(max_step=10)
    with pytest.raises(InputError, match="bad options for generator 'diffusion'"):
        get_generator("diffusion", max_step=10)
