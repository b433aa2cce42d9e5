"""The evaluation protocol end to end on small simulated tables."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pytest

from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.metrics import METRICS, evaluate
from synthomics.preprocessing import train_test_split

FAST = {"permutations": 49, "skip": ["c2st_auc", "tstr_ratio_boosting"]}
# the steps of the protocol (metrics/protocol.py) less the two skipped in FAST, and the total
TIMED_STEPS = {
    "sparsity", "prevalence", "alpha diversity", "faith pd", "beta braycurtis", "beta jaccard",
    "beta weighted_unifrac", "beta unweighted_unifrac", "correlation", "pcoa", "dcr", "aats",
    "membership inference", "tstr logistic", "augmentation", "total",
}  # fmt: skip


@pytest.fixture(scope="module")
def tables():
    real = synthetic_microbiome(160, 25, seed=3)
    train, test = train_test_split(real, 0.4, seed=0)
    rng = np.random.default_rng(0)
    # row bootstrap of the training set, as large as it (so the adversarial accuracy
    # compares equal-size sets without subsampling away the copied records)
    with warnings.catch_warnings():  # repeated rows repeat sample names, made unique below
        warnings.simplefilter("ignore", UserWarning)
        copy = train[rng.integers(0, train.n_obs, train.n_obs)].copy()
    copy.obs_names_make_unique()
    copy.obs_names = [f"copy_{i}" for i in range(copy.n_obs)]
    X = np.asarray(train.X)
    independent = ad.AnnData(  # each taxon drawn independently from its training values
        np.column_stack([X[rng.integers(0, len(X), 60), j] for j in range(X.shape[1])]),
        obs={"group": rng.choice(train.obs["group"].astype(str), 60)},
        var=train.var[[]].copy(),
    )
    independent.X[independent.X.sum(axis=1) == 0, 0] = 1.0
    independent.uns["omics"] = "microbiome"
    return train, test, copy, independent


@pytest.fixture(scope="module")
def result(tables):
    train, test, copy, independent = tables
    return evaluate(
        test, {"copy": copy, "independent": independent}, train=train, label="group", seed=0, **FAST
    )


def test_every_metric_is_recorded_for_every_set(result):
    names = [s.name for s in METRICS]
    assert result.set_names == ["copy", "independent"]
    for set_name in result.set_names:
        assert [r.name for r in result.results[set_name]] == names
    assert [r.name for r in result.floor] == names
    errors = [
        (r.name, r.error) for rs in result.results.values() for r in rs if r.status == "error"
    ]
    assert errors == []
    skipped = result.result("copy", "c2st_auc")
    assert skipped.status == "n/a" and "skipped" in skipped.error


def test_floor_is_attached_and_judged(result):
    from synthomics.metrics.specs import get_spec, judge

    for set_name in result.set_names:
        for record in result.results[set_name]:
            floor = next(r for r in result.floor if r.name == record.name)
            assert record.floor == floor.value, record.name
            if record.status in ("n/a", "error"):
                continue
            # the status is the pass rule applied to the value and the attached floor
            spec = get_spec(record.name)
            assert record.status == judge(record.value, floor.value, spec, record.details)
    # the training set against the test set: both are draws of the same simulation, so the
    # per-taxon prevalences agree closely (this floor is what a synthetic set is judged by)
    floor = next(r for r in result.floor if r.name == "prevalence_pearson")
    assert floor.value > 0.9
    # the utility floor is TRTR / TRTR by definition
    assert result.result("copy", "tstr_ratio_logistic").floor == 1.0


def test_copies_fail_privacy(result):
    assert result.value("copy", "exact_copies") == 1.0
    assert result.result("copy", "exact_copies").status == "fail"
    assert result.value("copy", "dcr_ratio") == 0.0
    assert result.result("copy", "dcr_ratio").status == "fail"
    # with a bootstrap about 37 % of training records are not copied; the accuracy on
    # them is about 0.37 -> AA near 0.5 * 0.37 * 0.37 ~ 0.07 (module docstring of privacy)
    assert result.value("copy", "aats_train") < 0.15
    assert result.value("copy", "membership_inference_auc") > 0.6
    assert result.value("independent", "exact_copies") == 0.0


def test_sizes_and_notes(result, tables):
    train, test, _, _ = tables
    settings = result.settings
    assert settings["n_fidelity"] == min(test.n_obs, 60, train.n_obs)
    assert settings["floor_source"] == "train"
    assert any("Fidelity" in note for note in result.notes)
    # every step is timed (the values themselves are not checked: they depend on the machine)
    assert set(result.timings) == TIMED_STEPS


def test_mismatched_features_fail_loudly(tables):
    train, test, copy, _ = tables
    with pytest.raises(InputError, match="features do not match"):
        evaluate(test, copy[:, 1:].copy(), train=train, **FAST)


def test_column_order_does_not_matter(tables):
    train, test, copy, _ = tables
    shuffled = copy[:, ::-1].copy()
    a = evaluate(
        test,
        {"s": copy},
        train=train,
        tree=False,
        skip=["structure", *FAST["skip"]],
        permutations=19,
    )
    b = evaluate(
        test,
        {"s": shuffled},
        train=train,
        tree=False,
        skip=["structure", *FAST["skip"]],
        permutations=19,
    )
    for ra, rb in zip(a.results["s"], b.results["s"], strict=True):
        if ra.value is None:
            assert rb.value is None
        else:
            assert ra.value == pytest.approx(rb.value, rel=1e-9, abs=1e-12)


def test_without_train_tree_or_label(tables):
    _, test, _, independent = tables
    result = evaluate(test, independent, tree=False, **FAST)
    assert result.settings["floor_source"] == "test halves"
    assert result.result("synthetic", "dcr_ratio").status == "n/a"
    assert "train" in result.result("synthetic", "dcr_ratio").error
    assert result.result("synthetic", "weighted_unifrac_energy").status == "n/a"
    assert "tree" in result.result("synthetic", "faith_pd_ks").error
    assert result.result("synthetic", "tstr_ratio_logistic").status == "n/a"
    # neither the tree nor the label enters the Bray-Curtis energy, and both runs draw the
    # same halves: the value equals that of the same evaluation with the tree
    with_tree = evaluate(test, independent, **FAST)
    assert with_tree.settings["floor_source"] == "test halves"
    expected = with_tree.value("synthetic", "braycurtis_energy")
    assert result.value("synthetic", "braycurtis_energy") == pytest.approx(expected, rel=1e-12)


def test_a_failing_metric_is_recorded_not_dropped(tables, result):
    train, test, _, independent = tables
    unlabelled = independent.copy()
    del unlabelled.obs["group"]
    failed = evaluate(test, unlabelled, train=train, label="group", **FAST)
    record = failed.result("synthetic", "tstr_ratio_logistic")
    assert record.status == "error" and "'group'" in record.error
    # the other metrics are computed as usual: the zero-fraction gap of the same rows,
    # subsampled by the same seeded streams, is that of the labelled set
    expected = result.value("independent", "zero_fraction_gap")
    assert failed.value("synthetic", "zero_fraction_gap") == pytest.approx(expected, rel=1e-12)


def test_taxa_off_the_tree_are_pruned_or_reported(tables):
    from synthomics.io.tree import uns_tree

    train, test, copy, _ = tables
    tree = uns_tree(test)
    tree = tree.shear([t.name for t in tree.tips() if t.name != test.var_names[0]])
    pruned = evaluate(
        test,
        copy,
        train=train,
        tree=tree,
        off_tree="prune",
        skip=["structure", *FAST["skip"]],
        permutations=19,
    )
    assert any("24 of 25 taxa" in note for note in pruned.notes)
    # pruning drops the off-tree taxon from the phylogenetic metrics only: Faith's PD is that
    # of the same tables without the taxon, evaluated on the same tree
    kept = list(test.var_names[1:])
    reference = evaluate(
        test[:, kept].copy(),
        copy[:, kept].copy(),
        train=train[:, kept].copy(),
        tree=tree,
        off_tree="error",
        skip=["structure", *FAST["skip"]],
        permutations=19,
    )
    expected = reference.value("synthetic", "faith_pd_wasserstein")
    assert pruned.value("synthetic", "faith_pd_wasserstein") == pytest.approx(expected, rel=1e-12)
    strict = evaluate(
        test,
        copy,
        train=train,
        tree=tree,
        off_tree="error",
        skip=["structure", *FAST["skip"]],
        permutations=19,
    )
    record = strict.result("synthetic", "weighted_unifrac_energy")
    assert record.status == "n/a" and "not tips of the tree" in record.error


def test_same_seed_same_values(tables):
    train, test, copy, _ = tables
    runs = [
        evaluate(
            test, copy, train=train, skip=["structure", *FAST["skip"]], permutations=19, seed=5
        )
        for _ in range(2)
    ]
    values = [[r.value for r in run.results["synthetic"]] for run in runs]
    assert values[0] == values[1]


def test_c2st_runs_in_the_protocol(tables):
    train, test, _, independent = tables
    result = evaluate(
        test,
        independent,
        train=train,
        permutations=9,
        c2st_folds=3,
        skip=["tstr_ratio_boosting", "beta: weighted UniFrac", "beta: unweighted UniFrac"],
    )
    record = result.result("synthetic", "c2st_auc")
    assert record.status != "error" and 0.0 <= record.value <= 1.0
    assert record.details["folds"] == 3


def test_adding_a_set_does_not_change_another(tables):
    train, test, copy, _ = tables
    other = copy[::-1].copy()
    options = {"skip": ["structure", *FAST["skip"]], "permutations": 19, "label": "group"}
    alone = evaluate(test, {"copy": copy}, train=train, **options)
    both = evaluate(test, {"other": other, "copy": copy}, train=train, **options)
    assert [r.value for r in alone.results["copy"]] == [r.value for r in both.results["copy"]]


def test_a_set_scores_the_same_under_any_name(tables):
    # the subsamples behind privacy and fidelity depend on the seed, never on the set's name
    train, test, _, independent = tables
    options = {"skip": ["structure", *FAST["skip"]], "permutations": 19, "label": "group"}
    first = evaluate(test, {"ziln": independent}, train=train, **options)
    second = evaluate(test, {"diffusion-seed-2": independent}, train=train, **options)
    values = [
        [r.value for r in run.results[name]]
        for run, name in ((first, "ziln"), (second, "diffusion-seed-2"))
    ]
    assert values[0] == values[1]
