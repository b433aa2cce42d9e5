"""TSTR / TRTR and augmentation on small labelled tables."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from synthomics.errors import InputError
from synthomics.metrics.utility import (
    augmentation_gain,
    score_classifier,
    train_and_score,
    tstr_ratio,
)


@pytest.fixture
def labelled(rng):
    y = np.repeat(["a", "b"], 40)
    X = rng.normal(size=(80, 5))
    X[y == "b", 0] += 1.5
    order = rng.permutation(80)
    return X[order], y[order]


def test_tstr_on_a_copy_of_the_training_data_is_one(labelled):
    X, y = labelled
    train, test = (X[:50], y[:50]), (X[50:], y[50:])
    ratio, details = tstr_ratio("logistic", train, train, test)
    assert ratio == pytest.approx(1.0)
    assert details["trtr_auc"] == details["tstr_auc"] > 0.7


def test_auc_is_sklearn_roc_auc(labelled):
    X, y = labelled
    model = LogisticRegression().fit(X[:50], y[:50])
    expected = roc_auc_score(y[50:] == "b", model.predict_proba(X[50:])[:, 1])
    assert score_classifier(model, X[50:], y[50:])["auc"] == pytest.approx(expected)


def test_unseen_test_class_gets_probability_zero(rng):
    X = rng.normal(size=(30, 3))
    y = np.repeat(["a", "b", "c"], 10)
    model = LogisticRegression().fit(X[:20], y[:20])  # classes a and b only
    scores = score_classifier(model, X, y)
    assert 0.0 <= scores["auc"] <= 1.0


def test_single_class_training_set_is_an_input_error(labelled):
    X, y = labelled
    with pytest.raises(InputError, match="single class"):
        train_and_score("logistic", X[:10], np.repeat("a", 10), X, y)


def test_augmentation_gain_and_shared_baseline(labelled):
    X, y = labelled
    train, test = (X[:50], y[:50]), (X[50:], y[50:])
    baseline: dict[float, float] = {}
    gain, details = augmentation_gain(train, train, test, fractions=(0.2, 0.5), baseline=baseline)
    assert sorted(baseline) == [0.2, 0.5]
    gains = np.subtract(details["auc_with_synthetic"], details["auc_real_only"])
    assert gain == pytest.approx(gains.mean())
    again, _ = augmentation_gain(train, train, test, fractions=(0.2, 0.5), baseline=baseline)
    assert again == pytest.approx(gain)
