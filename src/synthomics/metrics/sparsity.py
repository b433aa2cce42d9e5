"""Sparsity: how many zeros, how many taxa each sample carries, and which go together.

Pure functions of samples x taxa arrays (any units; only zero / non-zero matters), and
:class:`PresenceConditionals`, a model of each common taxon's presence given the others.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wasserstein_distance

from synthomics.metrics.profiles import check_same_width


def zero_fraction(X: np.ndarray) -> float:
    """Fraction of zero entries of a samples x taxa table."""
    X = np.asarray(X)
    return float((X == 0).mean()) if X.size else float("nan")


def zero_fraction_gap(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``|zero_fraction(synthetic) - zero_fraction(real)|`` in percentage points.

    Examples
    --------
    >>> zero_fraction_gap(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [0, 1]]))
    25.0
    """
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    return 100.0 * abs(zero_fraction(synthetic) - zero_fraction(real))


def richness(X: np.ndarray) -> np.ndarray:
    """Observed richness: number of taxa present (non-zero) in each sample."""
    return (np.asarray(X) > 0).sum(axis=1).astype(np.float64)


def richness_wasserstein(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Wasserstein-1 distance between the per-sample richness distributions (in taxa).

    Computed by :func:`scipy.stats.wasserstein_distance`.
    """
    check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
    return float(wasserstein_distance(richness(real), richness(synthetic)))


class PresenceConditionals:
    """Each common taxon's presence given the others', fitted on a reference table.

    One L2-penalised logistic regression per taxon among the ``n_taxa`` most prevalent ones
    of the reference (features: the presence of the others and their count). Its
    per-sample *pseudo-log-likelihood* (the sum over those taxa of the log probability of
    the observed presence given the rest, in nats) measures how coherent a sample's
    presence pattern is with the co-occurrence of the reference. Fit it on training samples
    and compare held-out real samples with synthetic ones
    (:meth:`coherence_gap`): 0 means the synthetic patterns are as coherent as new real
    ones; below 0, taxa co-occur more at random than in real samples (an independent-taxa
    sampler sits far below); above 0, patterns are more regular than real ones. It is nearly
    free of the noise of a classifier's AUC, so it shows small changes in co-occurrence;
    it sees only what a linear model of presence sees, so read it beside a C2ST.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> both = rng.random((300, 1)) < 0.5
    >>> X = np.hstack([both, both, rng.random((300, 2)) < 0.5]).astype(float)
    >>> model = PresenceConditionals.fit(X[:200], n_taxa=4)
    >>> shuffled = np.column_stack([rng.permutation(c) for c in X[200:].T])
    >>> model.coherence_gap(X[200:], shuffled) < -0.5
    True
    """

    def __init__(self, columns: np.ndarray, models: list) -> None:
        self.columns = columns
        self.models = models

    @classmethod
    def fit(
        cls, reference: np.ndarray, n_taxa: int = 60, penalty: float = 0.3
    ) -> PresenceConditionals:
        """Fit the conditionals on ``reference`` (samples x taxa); ``penalty`` is sklearn's C."""
        from sklearn.linear_model import LogisticRegression

        from synthomics.metrics.multivariate import top_prevalent

        present = np.asarray(reference) > 0
        columns = top_prevalent(present.astype(float), min(n_taxa, present.shape[1]))
        X = present[:, columns]
        models: list = []
        for j in range(len(columns)):
            y = X[:, j]
            if y.all() or not y.any():  # constant: a fixed probability
                models.append(float(y.mean()))
                continue
            model = LogisticRegression(C=penalty, max_iter=2000)
            models.append(model.fit(cls._features(X, j), y))
        return cls(columns, models)

    @staticmethod
    def _features(X: np.ndarray, j: int) -> np.ndarray:
        others = np.delete(X, j, axis=1).astype(float)
        return np.column_stack([others, others.sum(axis=1)])

    def score(self, X: np.ndarray, floor: float = 1e-4) -> np.ndarray:
        """Per-sample pseudo-log-likelihood (nats) of the presences of ``X``."""
        present = np.asarray(X)[:, self.columns] > 0
        total = np.zeros(len(present))
        for j, model in enumerate(self.models):
            if isinstance(model, float):
                p = np.full(len(present), model)
            else:
                p = model.predict_proba(self._features(present, j))[:, 1]
            p = np.clip(p, floor, 1 - floor)
            total += np.where(present[:, j], np.log(p), np.log1p(-p))
        return total

    def coherence_gap(self, real: np.ndarray, synthetic: np.ndarray) -> float:
        """Mean pseudo-log-likelihood of ``synthetic`` minus that of ``real`` (nats/sample)."""
        check_same_width(np.asarray(real), np.asarray(synthetic), "taxa")
        return float(self.score(synthetic).mean() - self.score(real).mean())
