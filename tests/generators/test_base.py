"""The shared machinery: input checks, condition plans, library sizes, the genotype layer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from synthomics.container import genotype_anndata, microbiome_anndata
from synthomics.errors import InputError
from synthomics.generators import GeneratorOutputError, get_generator, load_generator
from synthomics.generators.conditions import ConditionSpec, condition_codes, plan_condition_rows
from synthomics.generators.genotype import GenotypeGenerator, check_genotype_values
from synthomics.generators.library_size import (
    LibrarySizeModel,
    depth_key,
    depth_matched_counts,
    draw_counts,
    multinomial_counts,
    presence_preserving_counts,
)
from synthomics.generators.microbiome import (
    MicrobiomeDraw,
    MicrobiomeGenerator,
    check_microbiome_output,
)
from synthomics.generators.persistence import frame_from_json, frame_to_json

from .conftest import tiny_counts

SPEC = ConditionSpec("disease", ("IBD", "control"), (0.25, 0.75))


# --------------------------------------------------------------------------- conditions


def test_plan_keeps_the_requested_order_and_counts():
    codes = plan_condition_rows(
        None, {"disease": {"control": 2, "IBD": 3}}, SPEC, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(codes, [1, 1, 0, 0, 0])


def test_plan_without_conditions_follows_the_training_frequencies():
    codes = plan_condition_rows(4000, None, SPEC, np.random.default_rng(0))
    assert len(codes) == 4000
    # binomial(4000, 0.25): sd ~ 27; 5 sd tolerance
    assert abs((codes == 0).sum() - 1000) < 140


def test_zero_rows_are_refused():
    with pytest.raises(InputError, match="zero rows"):
        plan_condition_rows(0, None, None, np.random.default_rng(0))
    with pytest.raises(InputError, match="zero rows"):
        plan_condition_rows(None, {"disease": {"IBD": 0}}, SPEC, np.random.default_rng(0))


def test_plan_for_unconditional_model():
    np.testing.assert_array_equal(
        plan_condition_rows(3, None, None, np.random.default_rng(0)), [0, 0, 0]
    )
    with pytest.raises(InputError, match="n or conditions"):
        plan_condition_rows(None, None, None, np.random.default_rng(0))


def test_unknown_level_names_level_and_known_levels():
    with pytest.raises(InputError) as info:
        plan_condition_rows(None, {"disease": {"CRC": 1}}, SPEC, np.random.default_rng(0))
    message = str(info.value)
    assert "'CRC'" in message and "['IBD', 'control']" in message


def test_condition_codes_from_categorical_and_plain_columns():
    adata = tiny_counts()
    codes, spec = condition_codes(adata, "disease")
    assert spec.levels == ("IBD", "control")  # sorted strings
    assert spec.column == "disease"
    np.testing.assert_array_equal(codes[:4], [0, 1, 1, 0])
    adata.obs["disease"] = pd.Categorical(
        adata.obs["disease"], categories=["control", "IBD", "unused"]
    )
    codes, spec = condition_codes(adata, "disease")
    assert spec.levels == ("control", "IBD")  # category order, unobserved level dropped
    np.testing.assert_array_equal(codes[:4], [1, 0, 0, 1])
    assert sum(spec.frequencies) == pytest.approx(1.0)


def test_condition_column_problems_are_input_errors():
    adata = tiny_counts()
    with pytest.raises(InputError, match="no sample metadata column 'sex'"):
        condition_codes(adata, "sex")
    adata.obs.loc["S4", "disease"] = np.nan
    with pytest.raises(InputError, match="sample 'S4' has no value"):
        condition_codes(adata, "disease")


def test_level_with_too_few_samples_is_rejected():
    adata = tiny_counts(n=7)
    adata.obs["disease"] = ["IBD"] + ["control"] * 6
    with pytest.raises(InputError, match="level 'IBD' of 'disease' has 1 samples"):
        get_generator("independent").fit(adata, condition="disease")


# --------------------------------------------------------------------------- input checks


def _table(X, units="counts"):
    ids = [f"S{i}" for i in range(len(X))]
    return microbiome_anndata(
        np.asarray(X, dtype=float), ids, [f"t{j}" for j in range(len(X[0]))], units=units
    )


@pytest.mark.parametrize(
    ("X", "units", "message"),
    [
        ([[1, 2], [np.nan, 1]], "counts", "sample 'S1', feature 't0'"),
        ([[1, 2], [-1, 1]], "counts", "negative abundance"),
        ([[1, 2], [0, 0]], "counts", "sample 'S1' is all zero"),
        ([[1, 2.5], [1, 1]], "counts", "non-integer count 2.5"),
    ],
)
def test_bad_training_values_are_input_errors(X, units, message):
    with pytest.raises(InputError, match=message):
        get_generator("independent").fit(_table(X, units))


def test_wrong_omics_and_wrong_type_are_input_errors():
    geno = genotype_anndata(
        np.zeros((3, 2), dtype=np.int8),
        ["a", "b", "c"],
        pd.DataFrame(
            {
                "chrom": ["1", "1"],
                "pos": [1, 2],
                "id": ["x", "y"],
                "ref": ["A", "C"],
                "alt": ["G", "T"],
            }
        ),
    )
    with pytest.raises(InputError, match="generates microbiome data"):
        get_generator("ziln_copula").fit(geno)
    with pytest.raises(InputError, match="training data is a ndarray"):
        get_generator("ziln_copula").fit(np.ones((3, 3)))  # type: ignore[arg-type]


def test_sparse_input_and_percent_units():
    import scipy.sparse as sp

    adata = tiny_counts()
    dense = get_generator("bootstrap", seed=1).fit(adata).sample(5, seed=2)
    adata.X = sp.csr_matrix(adata.X)
    sparse = get_generator("bootstrap", seed=1).fit(adata).sample(5, seed=2)
    np.testing.assert_array_equal(dense.X, sparse.X)


def test_unknown_generator_and_bad_options():
    with pytest.raises(InputError, match="unknown generator 'gan'"):
        get_generator("gan")
    with pytest.raises(InputError, match="bad options for generator 'dmm'"):
        get_generator("dmm", n_layers=3)


def test_load_rejects_folders_without_a_model(tmp_path):
    with pytest.raises(InputError, match=r"manifest\.json missing"):
        load_generator(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="format 'other'"):
        load_generator(tmp_path)


def test_class_load_checks_the_model_kind(tmp_path):
    from synthomics.generators.dmm import DMMGenerator

    get_generator("independent").fit(tiny_counts()).save(tmp_path)
    with pytest.raises(InputError, match="holds a 'independent' model"):
        DMMGenerator.load(tmp_path)


# --------------------------------------------------------------------------- library sizes


def test_lognormal_library_sizes_follow_each_level():
    rng = np.random.default_rng(0)
    sizes = np.concatenate([np.exp(rng.normal(7, 0.1, 500)), np.exp(rng.normal(10, 0.3, 500))])
    codes = np.repeat([0, 1], 500)
    model = LibrarySizeModel.fit(sizes, codes, 2, "lognormal")
    np.testing.assert_allclose(model.log_mean, [7, 10], atol=0.05)
    np.testing.assert_allclose(model.log_sd, [0.1, 0.3], atol=0.03)
    drawn = model.draw(np.repeat([1, 0], 2000), rng)
    assert abs(np.log(drawn[:2000]).mean() - 10) < 0.05
    assert abs(np.log(drawn[2000:]).mean() - 7) < 0.05
    assert drawn.dtype == np.int64 and drawn.min() >= 1


def test_empirical_library_sizes_resample_training_values():
    sizes = np.array([100, 200, 300, 1000, 2000])
    model = LibrarySizeModel.fit(sizes, np.array([0, 0, 0, 1, 1]), 2, "empirical")
    drawn = model.draw(np.array([0] * 50 + [1] * 50), np.random.default_rng(1))
    assert set(drawn[:50]) <= {100, 200, 300} and set(drawn[50:]) <= {1000, 2000}


def test_matched_library_sizes_follow_the_key():
    # depth grows with the key; a row with key r gets a depth from the nearest keys
    keys = np.arange(100)
    sizes = 1000 + 10 * keys
    model = LibrarySizeModel.fit(sizes, np.zeros(100, int), 1, "matched", keys)
    assert model.conditional
    rng = np.random.default_rng(0)
    k = 10  # ceil(sqrt(100)) nearest training samples
    for r in (0, 37.4, 99, 500):
        drawn = model.draw(np.zeros(200, int), rng, np.full(200, r))
        nearest = np.sort(np.abs(keys - r))[k - 1]
        assert np.all(np.abs((drawn - 1000) / 10 - r) <= nearest)
    assert len(set(model.draw(np.zeros(200, int), rng, np.full(200, 50)))) > 1
    # without keys, the training depths are resampled
    assert set(model.draw(np.zeros(50, int), rng)) <= set(sizes)
    again = LibrarySizeModel.from_state("matched", model.state())
    np.testing.assert_array_equal(again.keys, model.keys)
    with pytest.raises(ValueError, match="key"):
        LibrarySizeModel.fit(sizes, np.zeros(100, int), 1, "matched")


def test_depth_key_is_richness():
    np.testing.assert_array_equal(depth_key(np.array([[1, 9, 0], [50, 25, 25]])), [2, 3])


def test_count_rules():
    P = np.array([[0.5, 0.4999, 0.0001, 0.0], [0.25, 0.25, 0.25, 0.25]])
    counts = multinomial_counts(P, np.array([1000, 8]), np.random.default_rng(0))
    np.testing.assert_array_equal(counts.sum(axis=1), [1000, 8])
    assert counts[0, 3] == 0
    kept = presence_preserving_counts(P, np.array([1000, 8]))
    # hand-computed: round(500), round(499.9), max(1, round(0.1)), 0
    np.testing.assert_array_equal(kept, [[500, 500, 1, 0], [2, 2, 2, 2]])
    rng = np.random.default_rng(0)
    for rule, counts in [("multinomial", multinomial_counts(P, [1000, 8], rng)),
                         ("presence_preserving", kept)]:  # fmt: skip
        same = draw_counts(rule, P, np.array([1000, 8]), np.random.default_rng(0))
        np.testing.assert_array_equal(same, counts)


def test_depth_matched_reads_sum_to_about_the_depth():
    # 300 taxa at 1.3 reads each and one at the rest: plain rounding gives each of them
    # one read and loses 90 of the 1,000
    P = np.array([[0.0013] * 300 + [1 - 0.39, 0.0]])
    assert presence_preserving_counts(P, np.array([1000])).sum() == 910
    matched = depth_matched_counts(P, np.array([1000]))
    assert abs(int(matched.sum()) - 1000) <= 10
    np.testing.assert_array_equal(matched > 0, P > 0)  # presence kept
    assert matched[0, -2] > 610 and (matched[0, :300] >= 1).all()
    np.testing.assert_array_equal(draw_counts("depth_matched", P, np.array([1000]), None), matched)


# --------------------------------------------------------------------------- output checks


def test_output_check_catches_broken_tables():
    good = microbiome_anndata(np.array([[0.5, 0.5]]), ["a"], ["t0", "t1"], units="proportion")
    check_microbiome_output(good, ["t0", "t1"], 1)
    with pytest.raises(GeneratorOutputError, match="features differ"):
        check_microbiome_output(good, ["t1", "t0"], 1)
    bad = good.copy()
    bad.X = np.array([[0.6, 0.5]])
    with pytest.raises(GeneratorOutputError, match=r"sums to 1\.1"):
        check_microbiome_output(bad, ["t0", "t1"], 1)
    bad.X = np.array([[1.5, -0.5]])
    with pytest.raises(GeneratorOutputError, match="negative"):
        check_microbiome_output(bad, ["t0", "t1"], 1)
    bad.X = np.array([[np.nan, 1.0]])
    with pytest.raises(GeneratorOutputError, match="non-finite"):
        check_microbiome_output(bad, ["t0", "t1"], 1)
    two = microbiome_anndata(np.full((2, 2), 0.5), ["a", "b"], ["t0", "t1"], units="proportion")
    with pytest.raises(GeneratorOutputError, match="2 rows instead of 1"):
        check_microbiome_output(two, ["t0", "t1"], 1)


def test_var_frame_round_trips_through_json():
    var = pd.DataFrame(
        {"genus": ["g__A", np.nan], "on_tree": [True, False], "depth": [1.5, np.nan], "n": [1, 2]},
        index=["t0", "t1"],
    )
    var["phylum"] = pd.Categorical(["p__X", "p__Y"])
    back = frame_from_json(json.loads(json.dumps(frame_to_json(var))), ["t0", "t1"])
    pd.testing.assert_frame_equal(back, var)


# --------------------------------------------------------------------------- genotype layer


class RowCopyGenotypes(GenotypeGenerator):
    """A test-only genotype generator (copies training rows), to exercise the layer."""

    name = "test_row_copy_genotypes"
    omics = "genotype"

    def _fit(self, data, rng):
        self.rows_ = np.where(data.genotypes < 0, 0, data.genotypes)

    def _sample(self, plan, rng):
        return self.rows_[rng.integers(0, len(self.rows_), size=plan.n)]

    def _get_state(self):
        return {"rows": self.rows_}

    def _set_state(self, state):
        self.rows_ = state["rows"]


def _genotypes(layout="dosage"):
    rng = np.random.default_rng(0)
    high = 3 if layout == "dosage" else 2
    X = rng.integers(0, high, size=(12, 5)).astype(np.int8)
    X[0, 0] = -1
    variants = pd.DataFrame(
        {
            "chrom": ["1"] * 5,
            "pos": np.arange(1, 6) * 100,
            "id": [f"rs{i}" for i in range(5)],
            "ref": ["A"] * 5,
            "alt": ["G"] * 5,
        }
    )
    obs = pd.DataFrame(
        {"population": ["YRI", "CEU", "CHB"] * 4}, index=[f"I{i}" for i in range(12)]
    )
    return genotype_anndata(X, obs.index, variants, layout=layout, obs=obs)


@pytest.mark.parametrize("layout", ["dosage", "haplotype"])
def test_genotype_layer(layout):
    model = RowCopyGenotypes(seed=1).fit(_genotypes(layout), condition="population")
    out = model.sample(conditions={"population": {"YRI": 3, "CHB": 2}}, seed=4)
    assert out.uns["omics"] == "genotype" and out.uns["layout"] == layout
    assert out.X.dtype == np.int8 and set(np.unique(out.X)) <= {0, 1, 2}
    assert list(out.var_names) == [f"rs{i}" for i in range(5)]
    assert out.obs["population"].tolist() == ["YRI"] * 3 + ["CHB"] * 2


def test_genotype_value_check():
    check_genotype_values(np.array([[0, 1, 2]], dtype=np.int8), "dosage")
    with pytest.raises(GeneratorOutputError, match="genotype value 2"):
        check_genotype_values(np.array([[0, 1, 2]], dtype=np.int8), "haplotype")
    with pytest.raises(GeneratorOutputError, match="value -1"):
        check_genotype_values(np.array([[0, -1]], dtype=np.int8), "dosage")
    with pytest.raises(GeneratorOutputError, match="non-integer"):
        check_genotype_values(np.array([[0.5]]), "dosage")


@pytest.fixture
def registered(monkeypatch):
    """Register a test-only generator class for the duration of one test."""
    from synthomics.generators import registry

    def add(cls):
        monkeypatch.setitem(
            registry.GENERATORS,
            cls.name,
            registry.GeneratorEntry(cls.name, cls),
        )
        return cls

    return add


def test_genotype_save_load_round_trip(tmp_path, registered):
    registered(RowCopyGenotypes)
    model = RowCopyGenotypes(seed=1).fit(_genotypes(), condition="population")
    model.save(tmp_path)
    loaded = load_generator(tmp_path)
    assert isinstance(loaded, RowCopyGenotypes)
    a, b = model.sample(8, seed=3), loaded.sample(8, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.var.equals(b.var)


def test_torch_tensors_are_saved_with_safetensors(tmp_path, registered):
    torch = pytest.importorskip("torch")

    class TensorState(RowCopyGenotypes):
        name = "test_tensor_state"

        def _get_state(self):
            return {"rows": torch.as_tensor(self.rows_), "scale": np.float64(2.0)}

        def _set_state(self, state):
            assert isinstance(state["rows"], torch.Tensor)
            assert float(state["scale"]) == 2.0
            self.rows_ = state["rows"].numpy()

    registered(TensorState)
    model = TensorState(seed=2).fit(_genotypes())
    model.save(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["tensors"] == ["model/rows"]
    assert manifest["arrays"] == ["model/scale"]
    loaded = load_generator(tmp_path)
    np.testing.assert_array_equal(model.sample(6, seed=1).X, loaded.sample(6, seed=1).X)


class RichnessSteps(MicrobiomeGenerator):
    """A test-only generator: odd rows hold all taxa, even rows two."""

    name = "test_richness_steps"
    count_model = "presence_preserving"

    def _fit(self, data, rng):
        self.p_ = data.proportions.shape[1]

    def _sample(self, plan, rng):
        P = np.ones((plan.n, self.p_))
        P[np.arange(plan.n) % 2 == 0, 2:] = 0.0
        return MicrobiomeDraw(P / P.sum(axis=1, keepdims=True))

    def _get_state(self):
        return {"p": np.array([self.p_])}

    def _set_state(self, state):
        self.p_ = int(state["p"][0])


def test_matched_depths_follow_the_generated_samples(tmp_path, registered):
    # shallow training samples (1,000 reads) hold two taxa, deep ones (100,000 reads) all
    # six; each generated sample gets a depth that goes with its richness
    registered(RichnessSteps)
    shallow, deep = [500, 500, 0, 0, 0, 0], [1, 1, 1, 1, 1, 99_995]
    X = np.array([shallow, deep] * 20, dtype=float)
    table = microbiome_anndata(X, [f"s{i}" for i in range(40)], list("abcdef"), units="counts")
    depths = {}
    for kind in ("empirical", "matched"):
        model = get_generator("test_richness_steps", library_size=kind, seed=0).fit(table)
        depths[kind] = model.sample(200, seed=1).obs["library_size"].to_numpy()
    odd = np.arange(200) % 2 == 1
    assert np.all(depths["matched"][odd] > 90_000) and np.all(depths["matched"][~odd] < 1_100)
    assert len(set(depths["empirical"][odd] > 90_000)) == 2  # independent of the sample
    model.save(tmp_path / "model")
    again = load_generator(tmp_path / "model").sample(200, seed=1).obs["library_size"]
    np.testing.assert_array_equal(again.to_numpy(), depths["matched"])
    with pytest.raises(InputError, match="library_size"):
        get_generator("independent", library_size="depth")
