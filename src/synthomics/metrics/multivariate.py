"""Structure beyond one taxon at a time: co-variation, separability, ordination overlap.

* :func:`correlation_difference`: mean absolute difference between the real and the
  synthetic Spearman correlation matrices of the most prevalent taxa.
* :func:`c2st_auc`: classifier two-sample test, the cross-validated ROC AUC of a
  gradient-boosting classifier (scikit-learn's ``HistGradientBoostingClassifier``)
  telling real from synthetic samples on CLR features; 0.5 means indistinguishable.
* :func:`pcoa` and :func:`overlap_coefficient`: principal coordinates of a distance
  matrix (Gower 1966, the classical scaling of scikit-bio's ``pcoa``) and the overlap
  ``sum min(h_R, h_S)`` of the two sets' 2-D histograms on the first two axes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from scipy.stats import rankdata

from synthomics.errors import InputError
from synthomics.metrics.profiles import check_same_width


def top_prevalent(P: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` most prevalent taxa (ties: higher mean abundance first)."""
    P = np.asarray(P)
    prevalence = (P > 0).mean(axis=0)
    order = np.lexsort((-P.mean(axis=0), -prevalence))
    return np.sort(order[: min(k, P.shape[1])])


def spearman_matrix(X: np.ndarray) -> np.ndarray:
    """Spearman correlation matrix of the columns (average ranks for ties).

    Equal to :func:`scipy.stats.spearmanr`; a constant column has no defined correlation
    and gets 0 off the diagonal (1 on it).
    """
    X = np.asarray(X, dtype=np.float64)
    ranks = rankdata(X, axis=0)
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks**2).sum(axis=0))
    constant = norms == 0
    norms[constant] = 1.0
    ranks /= norms
    corr = ranks.T @ ranks
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


@dataclass(frozen=True)
class CorrelationDifference:
    """Result of :func:`correlation_difference`."""

    value: float
    columns: np.ndarray
    real: np.ndarray
    synthetic: np.ndarray


def correlation_difference(
    real: np.ndarray, synthetic: np.ndarray, top_k: int = 50
) -> CorrelationDifference:
    """Mean ``|r_real - r_synth|`` over pairs of the ``top_k`` taxa most prevalent in real.

    Parameters
    ----------
    real, synthetic
        Samples x taxa proportions with the same taxa.
    top_k
        Number of taxa (chosen on the real set).
    """
    real, synthetic = np.asarray(real), np.asarray(synthetic)
    check_same_width(real, synthetic, "taxa")
    columns = top_prevalent(real, top_k)
    if len(columns) < 2:
        raise InputError(None, "fewer than two taxa", expected="at least two taxa")
    r_real = spearman_matrix(real[:, columns])
    r_synth = spearman_matrix(synthetic[:, columns])
    upper = np.triu_indices(len(columns), k=1)
    value = float(np.abs(r_real[upper] - r_synth[upper]).mean())
    return CorrelationDifference(value, columns, r_real, r_synth)


def default_c2st_classifier(seed: int = 0) -> object:
    """The gradient-boosting classifier of :func:`c2st_auc`.

    Small trees (8 leaves, 32 bins, 60 rounds at learning rate 0.15) keep a 5-fold test
    on 2 x 1,000 samples x 200 taxa to about two seconds on one core, while still
    picking up interactions such as co-occurrence and richness.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=60,
        max_leaf_nodes=8,
        max_bins=32,
        learning_rate=0.15,
        early_stopping=False,
        random_state=seed,
    )


@contextmanager
def openmp_threads(threads: int | None) -> Iterator[None]:
    """Limit the OpenMP threads of scikit-learn's gradient boosting (``None``: no limit).

    Its OpenMP workers busy-wait between tree levels; on a machine whose cores are shared
    with other jobs, two threads were measured 5-10x *slower* than one (project machine,
    2 cores, load 7). The evaluation therefore defaults to one thread.
    """
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="openmp"):
        yield


def c2st_auc(
    real: np.ndarray,
    synthetic: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    classifier: object | None = None,
    threads: int | None = 1,
) -> tuple[float, dict[str, float]]:
    """Classifier two-sample test: mean cross-validated ROC AUC, real vs synthetic.

    Parameters
    ----------
    real, synthetic
        Feature matrices (e.g. CLR of the proportions) with the same columns; use equal
        numbers of rows so that 0.5 is the chance level.
    folds
        Stratified folds (shuffled with ``seed``).
    seed
        Seed of the folds and of the classifier.
    classifier
        Any scikit-learn classifier with ``predict_proba``; default
        :func:`default_c2st_classifier`.
    threads
        OpenMP threads of the classifier (:func:`openmp_threads`).

    Returns
    -------
    (float, dict)
        The mean AUC over folds and details (``auc_sd``, ``n_real``, ``n_synthetic``).
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    real, synthetic = np.asarray(real), np.asarray(synthetic)
    check_same_width(real, synthetic)
    n_min = min(len(real), len(synthetic))
    if n_min < folds:
        raise InputError(
            None,
            f"only {n_min} samples in the smaller set",
            expected=f"at least {folds} per set for {folds}-fold C2ST",
        )
    X = np.vstack([real, synthetic])
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    model = clone(classifier) if classifier is not None else default_c2st_classifier(seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with openmp_threads(threads):
        scores = cross_val_score(model, X, y, cv=cv, scoring="roc_auc")
    return float(scores.mean()), {
        "auc_sd": float(scores.std()),
        "n_real": len(real),
        "n_synthetic": len(synthetic),
        "folds": folds,
    }


def pcoa(distances: np.ndarray, n_axes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Principal coordinates of a distance matrix (classical scaling).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Coordinates (samples x ``n_axes``; eigenvectors scaled by the square roots of
        their eigenvalues, as scikit-bio's ``pcoa``; signs are arbitrary) and each axis's
        share of the total inertia (the trace of the centred matrix, i.e. the sum of all
        eigenvalues; computing the whole spectrum for the positive sum would cost more).
    """
    D = np.asarray(distances, dtype=np.float64)
    n = D.shape[0]
    A = -0.5 * D * D
    A -= A.mean(axis=0, keepdims=True)
    A -= A.mean(axis=1, keepdims=True)
    n_axes = min(n_axes, n - 1)
    if n > 200:  # Lanczos for the leading eigenpairs; a dense solver for small matrices
        from scipy.sparse.linalg import eigsh

        start = np.random.default_rng(0).standard_normal(n)  # deterministic start vector
        values, vectors = eigsh(A, k=n_axes, which="LA", v0=start, tol=1e-10)
    else:
        values, vectors = eigh(A, subset_by_index=[n - n_axes, n - 1])
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    coords = vectors * np.sqrt(np.clip(values, 0.0, None))
    trace = float(np.trace(A))
    return coords, values / trace if trace > 0 else np.zeros_like(values)


def overlap_coefficient(a: np.ndarray, b: np.ndarray, bins: int = 10) -> float:
    """``sum min(h_a, h_b)`` of normalised 2-D histograms on a shared ``bins x bins`` grid.

    The grid spans both point clouds. 1 for identical clouds, 0 for disjoint ones.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both = np.vstack([a, b])
    edges = [np.linspace(both[:, k].min(), both[:, k].max() + 1e-12, bins + 1) for k in (0, 1)]
    h_a, _, _ = np.histogram2d(a[:, 0], a[:, 1], bins=edges)
    h_b, _, _ = np.histogram2d(b[:, 0], b[:, 1], bins=edges)
    return float(np.minimum(h_a / h_a.sum(), h_b / h_b.sum()).sum())
