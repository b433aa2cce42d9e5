"""Hamming distances between individuals: share of variants whose genotype calls differ.

Two individuals are compared over the variants called in both: the distance is
``(number of differing calls) / (number of variants called in both)``, which is
:func:`scipy.spatial.distance.hamming` when nothing is missing. (Counting a missing call as
a mismatch would make every individual with missing data look far from everyone; leaving
the variant out keeps the distance a share of comparable calls.) Two rows with no variant
called in both are at distance 1.

The counts come from matrix products of one-hot genotype codes (one indicator column per
variant and code 0/1/2): ``matches = A_onehot @ B_onehot^T`` and
``both_called = A_called @ B_called^T``, in float32 (exact integers up to 2^24 variants),
block by block, so memory stays at ``block_rows x len(B)`` floats.

:class:`HammingNeighbours` serves nearest-neighbour distances with the interface of
:class:`synthomics.metrics.privacy.NeighbourSearch`, so the privacy metrics of the
microbiome evaluation (DCR, adversarial accuracy, membership inference) run unchanged
on Hamming distances.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.stats import wasserstein_distance

from synthomics.container import MISSING

DEFAULT_BLOCK_ROWS = 512


class Coded:
    """One-hot genotype codes of a dosage matrix, ready for matrix products."""

    def __init__(self, G: np.ndarray, max_code: int = 2) -> None:
        G = np.asarray(G)
        self.n, self.m = G.shape
        self.onehot = np.zeros((self.n, self.m * (max_code + 1)), dtype=np.float32)
        for code in range(max_code + 1):
            self.onehot[:, code :: max_code + 1] = code == G
        self.called = (G != MISSING).astype(np.float32)
        self.complete = bool(self.called.all())

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        return self.onehot[start:stop], self.called[start:stop]


def _blocks(n: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, size):
        yield start, min(start + size, n)


def _distance_block(a: Coded, b: Coded, start: int, stop: int) -> np.ndarray:
    onehot, called = a.rows(start, stop)
    matches = onehot @ b.onehot.T
    both = np.float32(a.m) if a.complete and b.complete else called @ b.called.T
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 - np.divide(matches, both, out=np.zeros_like(matches), where=both > 0)
    return np.clip(d, 0.0, 1.0)


def hamming_matrix(
    A: np.ndarray | Coded, B: np.ndarray | Coded | None = None, block_rows: int = DEFAULT_BLOCK_ROWS
) -> np.ndarray:
    """Hamming distances between the rows of ``A`` and of ``B`` (default ``A``), float32.

    Examples
    --------
    >>> hamming_matrix(np.array([[0, 1, 2, 2], [0, 1, 1, 0]]))
    array([[0. , 0.5],
           [0.5, 0. ]], dtype=float32)
    """
    a = A if isinstance(A, Coded) else Coded(A)
    b = a if B is None else (B if isinstance(B, Coded) else Coded(B))
    out = np.empty((a.n, b.n), dtype=np.float32)
    for start, stop in _blocks(a.n, block_rows):
        out[start:stop] = _distance_block(a, b, start, stop)
    return out


def nearest_hamming(
    queries: Coded, reference: Coded, *, exclude_self: bool = False, block_rows: int = 512
) -> np.ndarray:
    """Distance of each query row to its nearest reference row (itself excluded if asked)."""
    if exclude_self and reference.n < 2:
        raise ValueError("need at least two rows to exclude self-matches")
    out = np.empty(queries.n, dtype=np.float64)
    for start, stop in _blocks(queries.n, block_rows):
        d = _distance_block(queries, reference, start, stop)
        if exclude_self:
            local = np.arange(stop - start)
            d[local, local + start] = np.inf
        out[start:stop] = d.min(axis=1)
    return out


class HammingNeighbours:
    """Nearest-neighbour Hamming distances between named sets, each search run once.

    ``search("S", "R")`` is the distance of each row of set ``S`` to its nearest row of
    set ``R`` (itself excluded when the names are equal); the interface of
    :class:`synthomics.metrics.privacy.NeighbourSearch`.
    """

    def __init__(self, sets: dict[str, np.ndarray], block_rows: int = DEFAULT_BLOCK_ROWS) -> None:
        self.sets = {name: Coded(G) for name, G in sets.items()}
        self.block_rows = block_rows
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    def add(self, name: str, G: np.ndarray) -> None:
        """Register another set (e.g. a subsample of one)."""
        self.sets[name] = Coded(G)

    def __call__(self, query: str, reference: str) -> np.ndarray:
        key = (query, reference)
        if key not in self.cache:
            self.cache[key] = nearest_hamming(
                self.sets[query],
                self.sets[reference],
                exclude_self=query == reference,
                block_rows=self.block_rows,
            )
        return self.cache[key]


def within_distances(D: np.ndarray) -> np.ndarray:
    """The upper triangle (pairs ``i < j``) of a square distance matrix, as a vector."""
    return D[np.triu_indices(len(D), k=1)].astype(np.float64)


def distance_distribution_gap(values: np.ndarray, reference: np.ndarray) -> float:
    """Wasserstein-1 between two samples of distances."""
    return float(wasserstein_distance(values, reference))
