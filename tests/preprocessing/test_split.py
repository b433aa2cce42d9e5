"""Tests of synthomics.preprocessing.split.train_test_split.

The splits are checked against their defining properties (disjoint, covering, no subject
on both sides, class proportions) and, for one case, against scikit-learn called directly.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

from synthomics.datasets import synthetic_microbiome
from synthomics.errors import InputError
from synthomics.preprocessing import preprocessing_history, train_test_split


@pytest.fixture(scope="module")
def adata():
    # 60 samples, 2 per subject, 3 groups balanced over 30 subjects
    return synthetic_microbiome(n_samples=60, n_taxa=8, n_groups=3, seed=5)


def _check_partition(adata, train, test):
    assert set(train.obs_names).isdisjoint(test.obs_names)
    assert set(train.obs_names) | set(test.obs_names) == set(adata.obs_names)
    # input order is kept on both sides
    order = {name: i for i, name in enumerate(adata.obs_names)}
    for side in (train, test):
        positions = [order[n] for n in side.obs_names]
        assert positions == sorted(positions)
    np.testing.assert_array_equal(train.X, adata[train.obs_names].X)


def test_plain_split_sizes_and_records(adata):
    train, test = train_test_split(adata, test_fraction=0.25, seed=0)
    _check_partition(adata, train, test)
    assert (train.n_obs, test.n_obs) == (45, 15)
    record = preprocessing_history(test)[-1]
    assert record["step"] == "train_test_split"
    assert (record["side"], record["n_train"], record["n_test"]) == ("test", 45, 15)
    assert record["splitter"] == "ShuffleSplit"
    assert preprocessing_history(train)[-1]["side"] == "train"


def test_split_is_seeded(adata):
    a = train_test_split(adata, seed=3)[1]
    b = train_test_split(adata, seed=3)[1]
    c = train_test_split(adata, seed=4)[1]
    assert list(a.obs_names) == list(b.obs_names)
    assert list(a.obs_names) != list(c.obs_names)


def test_grouped_split_keeps_subjects_on_one_side(adata):
    for seed in range(5):
        train, test = train_test_split(adata, test_fraction=0.2, seed=seed, group_by="subject")
        _check_partition(adata, train, test)
        assert set(train.obs["subject"]).isdisjoint(test.obs["subject"])
        # 20 % of the 30 subjects, 2 samples each
        assert test.n_obs == 12


def test_grouped_split_equals_sklearn(adata):
    _, test = train_test_split(adata, test_fraction=0.3, seed=11, group_by="subject")
    splitter = GroupShuffleSplit(n_splits=1, test_size=0.3, random_state=11)
    groups = adata.obs["subject"].to_numpy()
    _, expected = next(splitter.split(np.zeros(adata.n_obs), groups=groups))
    assert set(test.obs_names) == set(adata.obs_names[expected])


def test_stratified_split_keeps_class_proportions(adata):
    train, test = train_test_split(adata, test_fraction=0.25, seed=2, stratify="group")
    _check_partition(adata, train, test)
    counts = test.obs["group"].value_counts()
    # 20 samples per group, 25 % of each in the test set
    assert counts.to_dict() == {"group_0": 5, "group_1": 5, "group_2": 5}
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=2)
    labels = adata.obs["group"].astype(str).to_numpy()
    _, expected = next(splitter.split(np.zeros(adata.n_obs), labels))
    assert set(test.obs_names) == set(adata.obs_names[expected])


def test_grouped_and_stratified_split(adata):
    train, test = train_test_split(
        adata, test_fraction=0.2, seed=1, group_by="subject", stratify="group"
    )
    _check_partition(adata, train, test)
    assert set(train.obs["subject"]).isdisjoint(test.obs["subject"])
    assert set(test.obs["group"]) == {"group_0", "group_1", "group_2"}
    assert preprocessing_history(test)[-1]["splitter"] == "StratifiedGroupKFold"
    assert 6 <= test.n_obs <= 18  # one fold of 5 over 30 subjects, about 12 samples


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_rejects_fraction_outside_open_interval(adata, fraction):
    with pytest.raises(InputError, match="test_fraction"):
        train_test_split(adata, test_fraction=fraction)


def test_rejects_unknown_column(adata):
    with pytest.raises(InputError, match="no sample column 'patient'"):
        train_test_split(adata, group_by="patient")


def test_rejects_missing_values(adata):
    broken = adata.copy()
    broken.obs["subject"] = broken.obs["subject"].astype(object)
    broken.obs.iloc[3, broken.obs.columns.get_loc("subject")] = np.nan
    with pytest.raises(InputError, match="sample 'sample_03'"):
        train_test_split(broken, group_by="subject")


def test_class_with_one_sample_is_an_input_error(adata):
    broken = adata.copy()
    broken.obs["label"] = ["a"] * (adata.n_obs - 1) + ["b"]
    with pytest.raises(InputError, match="cannot split"):
        train_test_split(broken, stratify="label")
