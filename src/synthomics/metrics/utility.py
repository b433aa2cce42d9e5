"""Utility: can a classifier learn from synthetic samples what it learns from real ones?

* TSTR / TRTR (Esteban et al. 2017): a classifier trained on synthetic samples and
  tested on real test samples, against the same classifier trained on the real training
  samples; the value is the ratio of their test ROC AUCs (1 = as useful as real data).
* Augmentation: the test AUC of a classifier trained on a small share of the real
  training samples (10, 25, 50 %), with and without the synthetic samples added; the
  value is the mean gain.

Features are CLR-transformed proportions (zeros by multiplicative replacement,
:func:`synthomics.preprocessing.microbiome.clr_transform`). Classifiers are scikit-learn's
logistic regression on standardised features and histogram gradient boosting. The score
is the ROC AUC (one-vs-rest, macro-averaged, for more than two classes), a threshold-free
score that does not move with the class balance of the synthetic set; balanced accuracy
is kept in the details.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from synthomics.errors import InputError

ClassifierKind = Literal["logistic", "boosting"]


def make_classifier(kind: ClassifierKind, seed: int = 0) -> object:
    """A fresh scikit-learn classifier of the given kind."""
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    if kind == "boosting":  # the small, fast trees of the classifier two-sample test
        from synthomics.metrics.multivariate import default_c2st_classifier

        return default_c2st_classifier(seed)
    raise InputError(None, f"unknown classifier {kind!r}", expected="'logistic' or 'boosting'")


def _check_labels(y: np.ndarray, what: str) -> np.ndarray:
    y = np.asarray(y).astype(str)
    if len(np.unique(y)) < 2:
        raise InputError(
            None,
            f"{what} holds a single class {np.unique(y).tolist()}",
            expected="labels of at least two classes",
        )
    return y


def score_classifier(model: object, X_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """ROC AUC (macro one-vs-rest) and balanced accuracy of a fitted model on a test set.

    Classes of the test set the model never saw get probability 0. Predictions of classes
    absent from the test set count as errors in the balanced accuracy; scikit-learn's
    warning about them is silenced here, and :func:`absent_class_note` says it in the report.
    """
    import warnings

    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    classes = np.unique(y_test)
    proba = np.zeros((len(X_test), len(classes)))
    fitted = model.predict_proba(X_test)
    for k, label in enumerate(model.classes_):
        where = np.flatnonzero(classes == label)
        if where.size:
            proba[:, where[0]] = fitted[:, k]
    if len(classes) == 2:
        auc = roc_auc_score(y_test == classes[1], proba[:, 1])
    else:
        totals = proba.sum(axis=1, keepdims=True)
        proba = np.divide(
            proba, totals, out=np.full_like(proba, 1 / len(classes)), where=totals > 0
        )
        auc = roc_auc_score(y_test, proba, multi_class="ovr", average="macro", labels=classes)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = balanced_accuracy_score(y_test, model.predict(X_test))
    return {"auc": float(auc), "balanced_accuracy": float(balanced)}


def absent_class_note(name: str, y: np.ndarray, y_test: np.ndarray) -> str | None:
    """A report note when training labels ``y`` hold classes the real test set lacks.

    A classifier trained on them may predict those classes; on the test set such a
    prediction is always wrong, and the balanced accuracy counts it as an error. ``None``
    when every class of ``y`` is in ``y_test``.
    """
    absent = sorted(map(str, set(np.asarray(y).astype(str)) - set(np.asarray(y_test).astype(str))))
    if not absent:
        return None
    listed = ", ".join(repr(c) for c in absent[:5]) + (", ..." if len(absent) > 5 else "")
    return (
        f"Utility: {name} labels hold {len(absent)} class(es) absent from the real test set "
        f"({listed}); predictions of them count as errors in accuracy and balanced accuracy."
    )


def train_and_score(
    kind: ClassifierKind,
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    seed: int = 0,
    threads: int | None = 1,
) -> dict[str, float]:
    """Fit a classifier of ``kind`` on ``(X, y)`` and score it on the test set.

    ``threads`` limits OpenMP threads (:func:`synthomics.metrics.multivariate.openmp_threads`).
    """
    from synthomics.metrics.multivariate import openmp_threads

    y = _check_labels(y, "the training labels")
    model = make_classifier(kind, seed)
    with openmp_threads(threads):
        model.fit(X, y)
        return score_classifier(model, X_test, np.asarray(y_test).astype(str))


def tstr_ratio(
    kind: ClassifierKind,
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    trtr: dict[str, float] | None = None,
) -> tuple[float, dict[str, float]]:
    """``AUC(train on synthetic) / AUC(train on real)``, both tested on real test data.

    Parameters
    ----------
    kind
        ``"logistic"`` or ``"boosting"``.
    train, synthetic, test
        ``(features, labels)`` pairs.
    seed
        Seed of the classifier.
    trtr
        Scores of the real-trained classifier when already computed (shared between
        synthetic sets).
    """
    if trtr is None:
        trtr = train_and_score(kind, *train, *test, seed=seed)
    tstr = train_and_score(kind, *synthetic, *test, seed=seed)
    details = {
        "trtr_auc": trtr["auc"],
        "tstr_auc": tstr["auc"],
        "trtr_balanced_accuracy": trtr["balanced_accuracy"],
        "tstr_balanced_accuracy": tstr["balanced_accuracy"],
    }
    return tstr["auc"] / trtr["auc"], details


def _stratified_share(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    try:
        chosen, _ = train_test_split(index, train_size=fraction, stratify=y, random_state=seed)
    except ValueError:  # a class too small to stratify
        chosen, _ = train_test_split(index, train_size=fraction, random_state=seed)
    return np.sort(chosen)


def augmentation_gain(
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    fractions: Sequence[float] = (0.1, 0.25, 0.5),
    seed: int = 0,
    kind: Any = "logistic",
    baseline: dict[float, float] | None = None,
    *,
    score: str = "auc",
    fit_score: Callable[..., dict[str, float]] | None = None,
) -> tuple[float, dict[str, object]]:
    """Mean test-score gain from adding the synthetic samples to small real training sets.

    ``score`` names the score (``"auc"`` by default) in what ``fit_score(kind, X, y,
    X_test, y_test, seed=...)`` returns (default :func:`train_and_score`); the genotype
    evaluation passes its own classifiers and ``"accuracy"``.

    Returns
    -------
    (float, dict)
        The mean gain over ``fractions`` and, per fraction, the score without and with the
        synthetic samples (``<score>_real_only``, ``<score>_with_synthetic``; ``baseline``
        may pass in the scores without, shared between synthetic sets).
    """
    fit_score = fit_score or train_and_score
    X, y = train[0], np.asarray(train[1]).astype(str)
    Xs, ys = synthetic[0], np.asarray(synthetic[1]).astype(str)
    without, with_synthetic = [], []
    for fraction in fractions:
        rows = _stratified_share(y, fraction, seed)
        if baseline is not None and fraction in baseline:
            base = baseline[fraction]
        else:
            base = fit_score(kind, X[rows], y[rows], *test, seed=seed)[score]
            if baseline is not None:
                baseline[fraction] = base
        augmented = fit_score(kind, np.vstack([X[rows], Xs]), np.r_[y[rows], ys], *test, seed=seed)[
            score
        ]
        without.append(base)
        with_synthetic.append(augmented)
    gains = np.asarray(with_synthetic) - np.asarray(without)
    return float(gains.mean()), {
        "fractions": list(fractions),
        f"{score}_real_only": without,
        f"{score}_with_synthetic": with_synthetic,
        "n_synthetic": len(ys),
    }
