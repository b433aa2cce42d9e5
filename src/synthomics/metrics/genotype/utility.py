"""Utility of synthetic genotypes: classifiers of a label (e.g. population) learnt from them.

* TSTR recovery ratio: accuracy on held-out real individuals of a classifier trained on
  the synthetic individuals, divided by the accuracy of the same classifier trained on the
  real training individuals (1 = as useful as real data). Two classifiers: logistic
  regression (:func:`synthomics.metrics.utility.make_classifier`) and a small seeded
  multi-layer perceptron (:class:`sklearn.neural_network.MLPClassifier`), both on
  standardised dosages.
* Augmentation curve: accuracy with 5/10/20/50 % of the real training individuals, with
  and without the synthetic individuals added; the value is the mean gain.

Features are dosages with missing calls replaced by the training set's mean dosage.
Accuracy is the reported score; ROC AUC and balanced accuracy are kept in the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from synthomics.container import MISSING
from synthomics.metrics.utility import _check_labels, augmentation_gain, score_classifier

GenotypeClassifier = Literal["logistic", "mlp"]


def make_genotype_classifier(kind: GenotypeClassifier, seed: int = 0) -> object:
    """A fresh scikit-learn classifier: ``"logistic"`` or ``"mlp"`` (one hidden layer of 32)."""
    if kind == "logistic":
        from synthomics.metrics.utility import make_classifier

        return make_classifier("logistic", seed)
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=(32,),
                alpha=1e-2,
                max_iter=200,
                early_stopping=False,
                random_state=seed,
            ),
        )
    raise ValueError(f"unknown classifier {kind!r}; expected 'logistic' or 'mlp'")


def impute_features(G: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Dosages as float32 with missing calls replaced by ``mean`` (per variant)."""
    G = np.asarray(G)
    return np.where(G == MISSING, mean[None, :], G).astype(np.float32)


def fit_and_score(
    kind: GenotypeClassifier,
    X: np.ndarray,
    y: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    seed: int = 0,
) -> dict[str, float]:
    """Accuracy, balanced accuracy and ROC AUC on the test set of a classifier fitted on X, y."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from synthomics.metrics.multivariate import openmp_threads

    y = _check_labels(y, "the training labels")
    model = make_genotype_classifier(kind, seed)
    with openmp_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        y_test = np.asarray(y_test).astype(str)
        scores = score_classifier(model, X_test, y_test)
        scores["accuracy"] = float(np.mean(model.predict(X_test) == y_test))
    return scores


def tstr_accuracy_ratio(
    kind: GenotypeClassifier,
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seed: int = 0,
    trtr: dict[str, float] | None = None,
) -> tuple[float, dict[str, float]]:
    """``accuracy(trained on synthetic) / accuracy(trained on real)``, tested on real."""
    if trtr is None:
        trtr = fit_and_score(kind, *train, *test, seed=seed)
    tstr = fit_and_score(kind, *synthetic, *test, seed=seed)
    details = {f"trtr_{k}": v for k, v in trtr.items()} | {f"tstr_{k}": v for k, v in tstr.items()}
    ratio = tstr["accuracy"] / trtr["accuracy"] if trtr["accuracy"] > 0 else float("nan")
    return ratio, details


def augmentation_curve(
    train: tuple[np.ndarray, np.ndarray],
    synthetic: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    fractions: Sequence[float] = (0.05, 0.1, 0.2, 0.5),
    seed: int = 0,
    kind: GenotypeClassifier = "logistic",
    baseline: dict[float, float] | None = None,
) -> tuple[float, dict[str, object]]:
    """Mean accuracy gain from adding the synthetic individuals to small real training sets.

    ``baseline`` may pass in (and receives) the accuracies without synthetic data, shared
    between synthetic sets.
    """
    return augmentation_gain(
        train,
        synthetic,
        test,
        fractions,
        seed,
        kind,
        baseline,
        score="accuracy",
        fit_score=fit_and_score,
    )
