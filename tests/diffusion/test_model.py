"""MicrobiomeDiffusion end to end on small synthetic data: fit, sample, save, load, resume."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.generators import get_generator, load_generator
from synthomics.microbiome_diffusion import MicrobiomeDiffusion

FAST = {"size": "tiny", "poincare_epochs": 5, "sampling_steps": 8, "progress": False}


@pytest.fixture(scope="module")
def adata():
    return synthetic_microbiome(n_samples=60, n_taxa=25, seed=3)


@pytest.fixture(scope="module")
def conditional_model(adata):
    # early stopping is off by default (see the model docstring); switched on here so that
    # the validation / best-weights path is exercised too
    model = get_generator(
        "diffusion",
        seed=0,
        max_steps=12,
        batch_size=16,
        validation_every=4,
        early_stopping=True,
        **FAST,
    )
    return model.fit(adata, condition="group")


def test_registry_builds_the_model():
    assert isinstance(get_generator("diffusion", size="tiny"), MicrobiomeDiffusion)


def test_default_budget_grows_with_the_table_without_early_stopping():
    # the defaults chosen in benchmarks/results/microbiome_c2st/NOTES.md
    model = MicrobiomeDiffusion()
    assert (model.early_stopping, model.max_steps) == (False, "auto")
    steps = {n: model.training_options(n).max_steps for n in (10, 300, 685, 686, 1000, 1392, 9000)}
    assert steps == {10: 750, 300: 750, 685: 750, 686: 752, 1000: 1597, 1392: 3000, 9000: 3000}
    # the same passes over a table of 1,000 samples in batches of 128: half the steps
    assert MicrobiomeDiffusion(batch_size=128).training_options(1000).max_steps == 799
    assert MicrobiomeDiffusion(max_steps=40).training_options(9000).max_steps == 40


def test_default_width_grows_with_the_table_and_overrides_win(adata, tmp_path):
    # the defaults chosen in benchmarks/results/microbiome_c2st/NOTES.md
    widths = {n: MicrobiomeDiffusion().size_entry(n)["dim"] for n in (10, 685, 686, 5000)}
    assert widths == {10: 64, 685: 64, 686: 128, 5000: 128}
    assert MicrobiomeDiffusion(size="large").size_entry(10) == {"dim": 256, "n_blocks": 3}
    # the fitted network has that width, an explicit dim overrides it, and it is saved
    fast = {k: v for k, v in FAST.items() if k != "size"}
    fitted = MicrobiomeDiffusion(seed=0, max_steps=2, **fast).fit(adata)
    assert fitted.architecture_["dim"] == 64
    narrow = MicrobiomeDiffusion(seed=0, max_steps=2, dim=32, **fast).fit(adata)
    assert narrow.architecture_["dim"] == 32
    fitted.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    assert loaded.architecture_["dim"] == 64
    np.testing.assert_array_equal(loaded.sample(5, seed=1).X, fitted.sample(5, seed=1).X)


def test_auto_budget_only_where_a_model_has_one():
    from synthomics.diffusion.generator import DiffusionGenerator
    from synthomics.genotype_diffusion import GenotypeDiffusion

    class NoBudget(GenotypeDiffusion):  # a model that does not offer a step budget
        step_budget = DiffusionGenerator.step_budget

    with pytest.raises(InputError, match="max_steps='auto' is not available"):
        NoBudget(max_steps="auto")
    assert GenotypeDiffusion(max_steps="auto").max_steps == "auto"
    with pytest.raises(InputError, match="max_steps is 0"):
        MicrobiomeDiffusion(max_steps=0)


def test_conditional_sampling_counts_and_output(conditional_model, adata):
    levels = conditional_model.condition_.levels
    synthetic = conditional_model.sample(conditions={"group": {levels[0]: 7, levels[1]: 5}}, seed=1)
    assert synthetic.shape == (12, adata.n_vars)
    assert synthetic.obs["group"].value_counts().to_dict() == {levels[0]: 7, levels[1]: 5}
    X = np.asarray(synthetic.X)
    np.testing.assert_allclose(X.sum(axis=1), 1.0)
    assert (X > 0).any(axis=1).all()
    # counts input -> integer reads that keep the generated presence pattern
    counts = synthetic.layers["counts"]
    assert np.issubdtype(counts.dtype, np.integer)
    np.testing.assert_array_equal(counts > 0, X > 0)
    # at depths resampled from the training depths of the level (then rounded per taxon)
    depths = np.asarray(adata.X).sum(axis=1)
    for level, total in zip(synthetic.obs["group"], counts.sum(axis=1), strict=True):
        nearest = np.abs(depths[adata.obs["group"].to_numpy() == level] - total).min()
        assert nearest <= (counts > 0).sum(axis=1).max()
    record = conditional_model.fit_record_
    assert record["hierarchy"] == "taxonomy" and record["steps"] >= 12
    assert record["best_epoch"] is not None  # validation ran and chose the best weights


def test_sampling_is_seeded_and_survives_save_load(conditional_model, tmp_path):
    first = conditional_model.sample(20, seed=5)
    again = conditional_model.sample(20, seed=5)
    np.testing.assert_array_equal(first.X, again.X)
    conditional_model.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    assert isinstance(loaded, MicrobiomeDiffusion)
    assert loaded.get_config() == conditional_model.get_config()
    np.testing.assert_array_equal(loaded.sample(20, seed=5).X, first.X)
    np.testing.assert_array_equal(loaded.prevalence_, conditional_model.prevalence_)


def test_guidance_and_steps_options(conditional_model):
    from synthomics.generators.microbiome import SamplePlan

    plan = SamplePlan(np.array([0, 1, 1]), None)
    draw = conditional_model.draw(plan, np.random.default_rng(0), guidance_scale=2.0, steps=4)
    np.testing.assert_allclose(draw.proportions.sum(axis=1), 1.0)
    assert draw.counts is None


def test_unconditional_fit_with_ablations_checkpoint_and_resume(adata, tmp_path):
    options = dict(
        FAST,
        max_steps=8,
        batch_size=32,
        taxon_embedding="none",
        prevalence_init=False,
        sparsity_weight=0.0,
        presence_weight=5.0,
        checkpoint_dir=str(tmp_path),
    )
    MicrobiomeDiffusion(seed=1, **options).fit(adata)
    assert (tmp_path / "last.ckpt").is_file()
    resumed = MicrobiomeDiffusion(seed=1, resume=True, **{**options, "max_steps": 16})
    resumed.fit(adata)
    # the resumed run continues from the 8 steps of the first one (2 steps per epoch)
    assert resumed.fit_record_["resumed_from_step"] >= 8
    assert resumed.fit_record_["steps"] >= 16
    assert resumed.sample(4, seed=0).shape == (4, adata.n_vars)
    assert resumed.embedding_ is None
    # the presence loss's weight reaches the network and is saved with its architecture
    assert resumed.module_.presence_weight == 5.0
    resumed.save(tmp_path / "model")
    assert load_generator(tmp_path / "model").module_.presence_weight == 5.0


def test_bad_options_raise_input_errors():
    with pytest.raises(InputError, match="taxon_embedding"):
        MicrobiomeDiffusion(taxon_embedding="hyperbolic")
    with pytest.raises(InputError, match="size"):
        MicrobiomeDiffusion(size="huge")
    with pytest.raises(InputError, match="max_steps"):
        MicrobiomeDiffusion(max_steps=0)
    # a step count is a whole number: not rounded down, not read from a bool or a string
    for value in (2.5, True, "many"):
        with pytest.raises(InputError, match=f"max_steps is {value!r}; expected a positive"):
            MicrobiomeDiffusion(max_steps=value)
        with pytest.raises(InputError, match=f"reference_steps is {value!r}; expected a"):
            MicrobiomeDiffusion(reference_steps=value)
    with pytest.raises(InputError, match="presence_weight is 0"):
        MicrobiomeDiffusion(presence_weight=0)


def test_conditional_fit_is_reproducible_on_two_threads():
    import torch

    from synthomics.datasets import load_demo

    # the bundled table (719 taxa): wide enough that both threads sum the gradient of the
    # rows of each condition level
    wide = load_demo()
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        draws = []
        for _ in range(2):
            model = MicrobiomeDiffusion(seed=3, max_steps=20, batch_size=128, **FAST)
            model.fit(wide, condition="disease")
            draws.append(np.asarray(model.sample(60, seed=1).X))
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(draws[0], draws[1])


def test_reference_cohort_trains_first_then_half_the_budget(adata, tmp_path):
    # a reference of other samples over more taxa: the 25 shared ones are used
    reference = synthetic_microbiome(n_samples=120, n_taxa=30, seed=4)
    options = {**FAST, "seed": 0, "reference_steps": 6}
    model = MicrobiomeDiffusion(**options).fit(adata, reference=reference)
    record = model.fit_record_
    assert (record["reference_samples"], record["reference_taxa"]) == (120, 25)
    assert record["reference_steps"] >= 6
    # the table's own training gets half the budget it would get alone
    assert record["steps"] == -(-MicrobiomeDiffusion().training_options(60).max_steps // 2)
    # the reference changed the network: the same seeds draw other samples without it
    alone = MicrobiomeDiffusion(**options, max_steps=record["steps"]).fit(adata)
    assert not np.array_equal(model.sample(20, seed=1).X, alone.sample(20, seed=1).X)
    # reproducible, and the saved model samples as the fitted one (no reference needed)
    again = MicrobiomeDiffusion(**options).fit(adata, reference=reference)
    np.testing.assert_array_equal(again.sample(20, seed=1).X, model.sample(20, seed=1).X)
    model.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    assert loaded.reference_steps == 6
    np.testing.assert_array_equal(loaded.sample(20, seed=1).X, model.sample(20, seed=1).X)


def test_reference_cohort_errors_name_what_is_wrong(adata, tmp_path):
    from synthomics.pipeline import fit_model

    model = MicrobiomeDiffusion(**FAST, max_steps=2, reference_steps=2)
    other = synthetic_microbiome(n_samples=30, n_taxa=10, seed=5)
    other.var_names = [f"otu_{i}" for i in range(10)]
    with pytest.raises(InputError, match="shares no taxon with the training table"):
        model.fit(adata, reference=other)
    negative = adata.copy()
    negative.X[0, 0] = -1
    where = "the reference cohort: sample 'sample_00', feature 'taxon_00': negative"
    with pytest.raises(InputError, match=where):
        model.fit(adata, reference=negative)
    with pytest.raises(InputError, match="the reference is a ndarray"):
        model.fit(adata, reference=np.ones((3, 25)))
    with pytest.raises(InputError, match="reference_steps is 0"):
        MicrobiomeDiffusion(reference_steps=0)
    with pytest.raises(InputError, match="independent does not train on a reference cohort"):
        fit_model("independent", adata, tmp_path / "m", reference=adata)
    assert not (tmp_path / "m").exists()


def test_resumed_fit_with_a_reference_continues_the_tables_phase(adata, tmp_path):
    reference = synthetic_microbiome(n_samples=80, n_taxa=25, seed=6)
    options = dict(FAST, seed=1, batch_size=32, reference_steps=4, checkpoint_dir=str(tmp_path))
    first = MicrobiomeDiffusion(max_steps=8, **options).fit(adata, reference=reference)
    assert first.fit_record_["reference_steps"] >= 4 and (tmp_path / "last.ckpt").is_file()
    resumed = MicrobiomeDiffusion(max_steps=16, resume=True, **options)
    resumed.fit(adata, reference=reference)
    # the checkpoint of the table's phase holds every weight: no second reference phase
    assert "reference_steps" not in resumed.fit_record_
    assert resumed.fit_record_["resumed_from_step"] >= 8
    assert resumed.fit_record_["steps"] >= 16
    assert resumed.sample(4, seed=0).shape == (4, adata.n_vars)
