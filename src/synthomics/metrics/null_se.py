"""Standard errors of metric values when both sets come from one population.

They widen the pass band of :func:`synthomics.metrics.specs.judge` for small sets, so
that a small test set does not turn sampling noise into failures (and a large one does
not hide a real difference behind a fixed tolerance). Stored as ``details["null_se"]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def auc_null_se(n1: int, n2: int) -> float:
    """Standard error of a ROC AUC under the null (Mann-Whitney; Hanley & McNeil 1982).

    ``sqrt((n1 + n2 + 1) / (12 n1 n2))``.

    Examples
    --------
    >>> round(auc_null_se(100, 100), 4)
    0.0409
    """
    return math.sqrt((n1 + n2 + 1) / (12.0 * n1 * n2)) if n1 and n2 else float("nan")


def ks_null_se(n1: int, n2: int) -> float:
    """Half the 5 % critical value of the two-sample KS statistic, ``0.68 sqrt(1/n1 + 1/n2)``.

    Twice this value is the asymptotic critical value ``1.36 sqrt((n1 + n2) / (n1 n2))``.
    """
    return 0.68 * math.sqrt(1.0 / n1 + 1.0 / n2) if n1 and n2 else float("nan")


def share_se(p: float, n: int) -> float:
    """Binomial standard error ``sqrt(p (1 - p) / n)`` of a share expected to be ``p``."""
    return math.sqrt(p * (1.0 - p) / n) if n else float("nan")


def adversarial_accuracy_null_se(n: int) -> float:
    """Standard error of the adversarial accuracy at 0.5: ``sqrt(0.125 / n)``.

    It averages two means of ``n`` fair coin flips.
    """
    return math.sqrt(0.125 / n) if n else float("nan")


def permutation_se(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    a: np.ndarray,
    b: np.ndarray,
    rng: np.random.Generator,
    permutations: int = 50,
) -> float:
    """Standard deviation of ``statistic(a', b')`` over random relabellings of ``a ∪ b``.

    For cheap one-dimensional statistics (Wasserstein-1 between alpha-diversity values)
    whose null distribution has no simple closed form.
    """
    pooled = np.concatenate([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)])
    n = len(a)
    values = []
    for _ in range(permutations):
        shuffled = rng.permutation(pooled)
        values.append(statistic(shuffled[:n], shuffled[n:]))
    return float(np.std(values, ddof=1))


def mean_difference_se(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of ``mean(b) - mean(a)`` from the pooled variance."""
    pooled = np.concatenate([np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)])
    return float(pooled.std(ddof=1) * math.sqrt(1.0 / len(a) + 1.0 / len(b)))
