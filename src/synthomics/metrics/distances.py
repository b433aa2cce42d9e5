"""Pairwise distances between samples, computed block by block.

A :class:`PairwiseDistance` holds the rows of one pooled table (real and synthetic samples
together) in whatever form makes its distance fast, and returns any rectangular block of
the distance matrix, so that callers decide how much is held in memory at once.

* Bray-Curtis: ``sum |x - y| / sum (x + y)`` by SciPy's C ``cityblock`` kernel.
* Jaccard (presence/absence): ``1 - |A ∩ B| / |A ∪ B|`` from one matrix product of the
  presence matrix (intersections), exact for 0/1 values.
* Euclidean (used on Hellinger-transformed profiles for the privacy metrics):
  ``|x|² + |y|² - 2 x·y`` by BLAS; :func:`nearest_neighbours` recomputes the distance to
  the chosen neighbour exactly, so that a copy is found at distance 0.

Conventions for empty samples follow SciPy: Jaccard between two empty samples is 0;
Bray-Curtis between two empty samples, undefined in SciPy (0/0), is 0 here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
from scipy.spatial.distance import cdist

from synthomics.metrics.profiles import check_same_width

DEFAULT_BLOCK_ROWS = 1024
"""Rows per block: a block of distances against 10,000 samples is 80 MB."""


class PairwiseDistance(ABC):
    """Distances between the rows of one pooled samples x features table.

    Subclasses prepare the rows once in ``__init__`` and implement :meth:`block`.
    """

    name: str = ""

    def __init__(self, X: np.ndarray) -> None:
        self.n = int(np.asarray(X).shape[0])

    @abstractmethod
    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Distances between the samples ``rows`` and ``cols`` (integer index arrays)."""

    def matrix(
        self,
        rows: np.ndarray | None = None,
        cols: np.ndarray | None = None,
        block_rows: int = DEFAULT_BLOCK_ROWS,
    ) -> np.ndarray:
        """The ``len(rows) x len(cols)`` distance matrix, built in row blocks.

        Without ``cols`` the matrix is square and symmetric: only the blocks on and
        above the diagonal are computed, then mirrored (half the work).
        """
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        if cols is not None:
            cols = np.asarray(cols)
            out = np.empty((len(rows), len(cols)))
            for start, stop in _blocks(len(rows), block_rows):
                out[start:stop] = self.block(rows[start:stop], cols)
            return out
        n = len(rows)
        out = np.empty((n, n))
        for start, stop in _blocks(n, block_rows):
            block = self.block(rows[start:stop], rows[start:])
            width = stop - start
            block[:, :width] = 0.5 * (block[:, :width] + block[:, :width].T)
            out[start:stop, start:] = block
            out[start:, start:stop] = block.T
        np.fill_diagonal(out, 0.0)
        return out


def _blocks(n: int, size: int) -> Iterator[tuple[int, int]]:
    size = max(1, int(size))
    for start in range(0, n, size):
        yield start, min(n, start + size)


class BrayCurtis(PairwiseDistance):
    """Bray-Curtis dissimilarity ``sum |x - y| / sum (x + y)``."""

    name = "braycurtis"

    def __init__(self, X: np.ndarray) -> None:
        super().__init__(X)
        X = np.asarray(X, dtype=np.float64)
        used = X.any(axis=0)  # all-zero columns add nothing to either sum
        self.X = np.ascontiguousarray(X[:, used])
        self.totals = X.sum(axis=1)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        numerator = cdist(self.X[rows], self.X[cols], "cityblock")
        denominator = self.totals[rows][:, None] + self.totals[cols][None, :]
        return np.divide(
            numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0
        )


class Jaccard(PairwiseDistance):
    """Jaccard distance on presence/absence, ``1 - |A ∩ B| / |A ∪ B|``."""

    name = "jaccard"

    def __init__(self, X: np.ndarray) -> None:
        super().__init__(X)
        B = np.asarray(X) > 0
        self.B = np.ascontiguousarray(B[:, B.any(axis=0)], dtype=np.float64)
        self.sizes = self.B.sum(axis=1)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        inter = self.B[rows] @ self.B[cols].T
        union = self.sizes[rows][:, None] + self.sizes[cols][None, :] - inter
        similarity = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
        return 1.0 - similarity


class Euclidean(PairwiseDistance):
    """Euclidean distance by BLAS; small negative rounding is clipped to 0."""

    name = "euclidean"

    def __init__(self, X: np.ndarray) -> None:
        super().__init__(X)
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.sq = np.einsum("ij,ij->i", self.X, self.X)

    def block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        d2 = self.sq[rows][:, None] + self.sq[cols][None, :] - 2.0 * (self.X[rows] @ self.X[cols].T)
        np.maximum(d2, 0.0, out=d2)
        return np.sqrt(d2)


def bray_curtis(X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    """Bray-Curtis distance matrix between the rows of ``X`` (and ``Y``).

    Examples
    --------
    >>> bray_curtis(np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]))
    array([[0. , 0.5],
           [0.5, 0. ]])
    """
    return _pooled(BrayCurtis, X, Y)


def jaccard(X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    """Presence/absence Jaccard distance matrix between the rows of ``X`` (and ``Y``)."""
    return _pooled(Jaccard, X, Y)


def _pooled(cls: type[PairwiseDistance], X: np.ndarray, Y: np.ndarray | None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if Y is None:
        return cls(X).matrix()
    Y = np.asarray(Y, dtype=np.float64)
    check_same_width(X, Y)
    engine = cls(np.vstack([X, Y]))
    return engine.matrix(np.arange(len(X)), np.arange(len(X), len(X) + len(Y)))


SCREEN_TOLERANCE = 1e-4
"""Slack on squared distances (single precision) within which candidates are re-checked."""


def nearest_neighbours(
    queries: np.ndarray,
    reference: np.ndarray,
    *,
    exclude_self: bool = False,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query row to its nearest reference row, exactly.

    Squared distances ``|q|² + |r|² - 2 q·r`` are screened in single precision (twice the
    speed of double); every reference row within :data:`SCREEN_TOLERANCE` of a query's
    screened minimum is then measured exactly in double precision from the difference
    vector, and the closest wins. For rows of norm at most ~1 (Hellinger features) the
    single-precision error is orders of magnitude below the tolerance, so the result is
    the exact nearest neighbour, and identical rows are at distance exactly 0.

    Parameters
    ----------
    queries, reference
        Samples x features arrays with the same features.
    exclude_self
        ``queries`` *is* ``reference``: a row is not its own neighbour (other identical
        rows still are, at distance 0).
    block_rows
        Query rows per block; memory is ``block_rows x len(reference)`` floats.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Distances and indices of the nearest reference rows.
    """
    Q = np.ascontiguousarray(queries, dtype=np.float64)
    R = np.ascontiguousarray(reference, dtype=np.float64)
    check_same_width(Q, R)
    if exclude_self and len(R) < 2:
        raise ValueError("need at least two rows to exclude self-matches")
    scale = max(float(np.abs(Q).max(initial=0.0)), float(np.abs(R).max(initial=0.0)), 1e-300)
    Q32, R32 = (Q / scale).astype(np.float32), (R / scale).astype(np.float32)
    q_sq = np.einsum("ij,ij->i", Q32, Q32, dtype=np.float64).astype(np.float32)
    r_sq = np.einsum("ij,ij->i", R32, R32, dtype=np.float64).astype(np.float32)
    tolerance = SCREEN_TOLERANCE * max(1.0, float(Q.shape[1]) / 1000.0)
    distance = np.empty(len(Q))
    index = np.empty(len(Q), dtype=np.int64)
    for start, stop in _blocks(len(Q), block_rows):
        d2 = Q32[start:stop] @ R32.T  # in place from here: blocks are large
        d2 *= -2.0
        d2 += r_sq[None, :]
        d2 += q_sq[start:stop, None]
        local = np.arange(stop - start)
        if exclude_self:
            d2[local, local + start] = np.inf
        screened = d2.min(axis=1)
        rows, cols = np.nonzero(d2 <= screened[:, None] + tolerance)
        exact = np.sqrt(((Q[start + rows] - R[cols]) ** 2).sum(axis=1))
        # closest candidate per query row (rows are sorted by np.nonzero)
        order = np.lexsort((exact, rows))
        first = np.r_[0, np.flatnonzero(np.diff(rows[order])) + 1]
        distance[start:stop] = exact[order][first]
        index[start:stop] = cols[order][first]
    return distance, index
