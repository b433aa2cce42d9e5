"""The interface contract, checked for every registered microbiome generator.

Each generator is built through the registry, fitted on small tables made in code, and
must: sample the requested rows with the training features in order; give proportions
that are finite, non-negative and sum to one; give integer reads whose totals are the
reported library sizes; honour per-level counts; reject bad conditions; and, after a
save/load round trip, give the very same samples for the same seed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.generators import (
    Generator,
    NotFittedError,
    available_generators,
    get_generator,
    load_generator,
)
from synthomics.generators.persistence import ARRAYS_FILE, MANIFEST_FILE

from .conftest import fast_config

BASELINES = ("bootstrap", "dmm", "independent", "midasim", "ziln_copula")
MICROBIOME = [
    name if name in BASELINES else pytest.param(name, marks=pytest.mark.slow)
    for name in sorted(available_generators(omics="microbiome"))
]
"""Every registered microbiome generator; models beyond the baselines are marked slow."""


def make(name: str, **extra):
    return get_generator(name, seed=11, **fast_config(name), **extra)


@pytest.fixture(scope="module", params=MICROBIOME)
def fitted(request, counts_table):
    """Every generator fitted on the counts table, conditioned on ``group``."""
    return make(request.param).fit(counts_table, condition="group")


def test_registry_lists_the_baselines():
    assert set(BASELINES) <= set(available_generators(omics="microbiome"))
    for description in available_generators().values():
        assert description and "\n" not in description


def test_registry_takes_omics_and_description_from_the_classes():
    from synthomics.generators.bootstrap import BootstrapGenerator
    from synthomics.generators.registry import GENERATORS, generator_class

    assert available_generators()["bootstrap"] == BootstrapGenerator.description
    for name, entry in GENERATORS.items():
        cls = generator_class(name)
        assert (entry.omics, entry.description) == (cls.omics, cls.description)
    assert set(available_generators(omics="genotype")) == {
        "allele_frequency", "haplotype_copying", "genotype_diffusion", "genotype_bootstrap"
    }  # fmt: skip


def test_output_is_valid(fitted, counts_table):
    out = fitted.sample(30, seed=1)
    assert out.shape == (30, counts_table.n_vars)
    assert list(out.var_names) == list(counts_table.var_names)
    assert out.var.equals(counts_table.var)
    X = np.asarray(out.X)
    assert X.dtype == np.float64
    assert np.all(np.isfinite(X)) and np.all(X >= 0)
    np.testing.assert_allclose(X.sum(axis=1), 1.0, atol=1e-12)
    counts = out.layers["counts"]
    assert np.issubdtype(counts.dtype, np.integer) and (counts >= 0).all()
    np.testing.assert_array_equal(counts.sum(axis=1), out.obs["library_size"])
    # count training data: X is the total-sum scaling of the reads
    np.testing.assert_allclose(X, counts / counts.sum(axis=1, keepdims=True))
    assert out.uns["omics"] == "microbiome" and out.uns["units"] == "proportion"
    assert out.uns["generator"]["name"] == fitted.name
    assert out.uns["generator"]["seed"] == 1
    assert out.uns["privacy_worst_case"] is (fitted.name == "bootstrap")
    assert out.uns["tree"] == counts_table.uns["tree"]


def test_same_seed_same_samples_and_other_seed_differs(fitted):
    a, b, c = fitted.sample(20, seed=5), fitted.sample(20, seed=5), fitted.sample(20, seed=6)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.layers["counts"], b.layers["counts"])
    assert not np.array_equal(a.X, c.X)


def test_unseeded_draws_are_recorded_and_reproducible(fitted):
    first = fitted.sample(10)
    again = fitted.sample(10, seed=first.uns["generator"]["seed"])
    np.testing.assert_array_equal(first.X, again.X)


def test_save_load_round_trip_gives_the_same_samples(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    assert type(loaded) is type(fitted)
    assert loaded.get_config() == fitted.get_config()
    conditions = {"group": {"group_1": 7, "group_0": 4}}
    a = fitted.sample(conditions=conditions, seed=3)
    b = loaded.sample(conditions=conditions, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.layers["counts"], b.layers["counts"])
    assert a.obs.equals(b.obs)
    assert a.var.equals(b.var)
    # the class's own load checks the model kind
    assert type(fitted).load(tmp_path / "model").name == fitted.name


def test_saved_model_is_arrays_and_json_only(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert files <= {MANIFEST_FILE, ARRAYS_FILE, "tensors.safetensors", "tree.nwk"}
    manifest = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert manifest["name"] == fitted.name
    assert manifest["features"] == fitted.feature_names_
    assert manifest["condition"]["column"] == "group"
    assert manifest["condition"]["levels"] == ["group_0", "group_1"]
    assert manifest["seed"] == 11
    assert set(manifest["var"]["columns"]) >= {"genus", "lineage"}
    assert manifest["synthomics_version"]
    # every file opens with a loader that cannot execute code: JSON, safetensors, text
    from safetensors import safe_open

    for path in (tmp_path / "m").glob("*.safetensors"):
        with safe_open(str(path), framework="numpy" if "arrays" in path.name else "pt") as f:
            assert set(f.keys()) <= set(manifest["arrays"]) | set(manifest["tensors"])


def test_conditional_sampling_honours_the_counts(fitted):
    out = fitted.sample(conditions={"group": {"group_1": 9, "group_0": 4}}, seed=2)
    assert out.n_obs == 13
    assert out.obs["group"].tolist() == ["group_1"] * 9 + ["group_0"] * 4
    assert list(out.obs["group"].cat.categories) == ["group_0", "group_1"]
    only = fitted.sample(conditions={"group": {"group_0": 5}}, seed=2)
    assert (only.obs["group"] == "group_0").all()


def test_conditional_model_without_conditions_draws_training_proportions(fitted):
    out = fitted.sample(400, seed=9)
    share = (out.obs["group"] == "group_0").mean()
    assert 0.4 < share < 0.6  # training split is 30/30


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"group": {"group_9": 3}}, "unknown level 'group_9'"),
        ({"disease": {"IBD": 3}}, "unknown condition column 'disease'"),
        ({"group": {"group_0": -1}}, "non-negative integer"),
        ({"group": {"group_0": 2.5}}, "non-negative integer"),
        ({"group": {}}, "no level counts"),
    ],
)
def test_bad_conditions_are_input_errors(fitted, conditions, message):
    with pytest.raises(InputError, match=message):
        fitted.sample(conditions=conditions, seed=1)


def test_unknown_level_error_names_the_known_levels(fitted):
    with pytest.raises(InputError) as info:
        fitted.sample(conditions={"group": {"healthy": 3}})
    assert "['group_0', 'group_1']" in str(info.value)


def test_n_must_agree_with_the_level_counts(fitted):
    with pytest.raises(InputError, match="disagrees"):
        fitted.sample(5, conditions={"group": {"group_0": 3}})


@pytest.mark.parametrize("name", MICROBIOME)
def test_unconditional_fit_rejects_conditions(name, counts_table):
    model = make(name).fit(counts_table)
    assert model.condition_ is None
    out = model.sample(12, seed=0)
    assert out.n_obs == 12 and "group" not in out.obs
    with pytest.raises(InputError, match="without a condition"):
        model.sample(conditions={"group": {"group_0": 3}})


@pytest.mark.parametrize("name", MICROBIOME)
def test_proportion_training_data(name, proportion_table):
    """Percent tables: proportions out, no reads unless a library size is given."""
    model = make(name).fit(proportion_table, condition="group")
    out = model.sample(15, seed=4)
    assert "counts" not in out.layers and "library_size" not in out.obs
    np.testing.assert_allclose(out.X.sum(axis=1), 1.0, atol=1e-12)
    deep = model.sample(15, seed=4, library_size=5000)
    assert "counts" in deep.layers
    assert np.all(np.abs(deep.obs["library_size"] - 5000) <= 0.02 * 5000 + 25)


@pytest.mark.parametrize("name", MICROBIOME)
def test_user_library_sizes(name, counts_table):
    model = make(name).fit(counts_table)
    sizes = np.arange(1000, 1010) * 10
    out = model.sample(10, seed=1, library_size=sizes)
    # multinomial draws hit the depth exactly; presence-preserving rounding nearly
    assert np.all(np.abs(out.obs["library_size"].to_numpy() - sizes) <= 0.01 * sizes + 25)
    with pytest.raises(InputError, match="library size"):
        model.sample(3, seed=1, library_size=[100, 0, 5])
    with pytest.raises(InputError, match="library sizes for"):
        model.sample(3, seed=1, library_size=[100, 5])


@pytest.mark.parametrize("name", MICROBIOME)
def test_unfitted_generator_refuses(name, tmp_path):
    model = make(name)
    with pytest.raises(NotFittedError):
        model.sample(3)
    with pytest.raises(NotFittedError):
        model.save(tmp_path)


def test_generator_base_is_abstract():
    with pytest.raises(TypeError):
        Generator()  # type: ignore[abstract]
