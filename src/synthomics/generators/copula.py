"""Gaussian-copula correlation matrices that stay tractable for thousands of taxa.

A correlation matrix is held as low rank plus diagonal, ``C = F F^T + diag(d)`` with unit
diagonal, so that sampling costs ``O(n p r)`` and memory ``O(p r)`` instead of ``O(p^2)``.
With ``r = min(n, p)`` the representation is exact.

:meth:`LowRankCorrelation.from_scores` estimates ``C`` from latent normal scores (an
``n x p`` matrix) with Ledoit-Wolf shrinkage towards the identity (Ledoit & Wolf 2004, the
estimator of :func:`sklearn.covariance.ledoit_wolf`), computed with Gram-matrix identities
so that no ``p x p`` matrix is formed; the factor comes from a (randomised) SVD of the
scores. :meth:`LowRankCorrelation.from_matrix` takes an explicit, possibly indefinite,
correlation-like matrix (e.g. tetrachoric correlations) and projects it
onto the positive semi-definite cone (eigenvalues floored, as ``psych::cor.smooth``), fully
or through a randomised eigen-decomposition of the top ``r`` components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT_MAX_DIM = 1000
"""``rank=None`` is exact when ``min(n, p)`` (scores) or ``p`` (matrices) is at most this."""
DEFAULT_RANK = 200
"""Rank used above :data:`EXACT_MAX_DIM` when ``rank=None``."""
MIN_DIAGONAL = 1e-4
EIGEN_FLOOR = 1e-6


@dataclass
class LowRankCorrelation:
    """``C = factor @ factor.T + diag(diagonal)``, a correlation matrix (unit diagonal).

    Attributes
    ----------
    factor
        ``p x r``.
    diagonal
        ``p``, positive.
    shrinkage
        The shrinkage intensity used (0 when none).
    """

    factor: np.ndarray
    diagonal: np.ndarray
    shrinkage: float = 0.0

    @property
    def n_features(self) -> int:
        return self.factor.shape[0]

    @property
    def rank(self) -> int:
        return self.factor.shape[1]

    def dense(self) -> np.ndarray:
        """The full ``p x p`` matrix (small ``p`` only)."""
        return self.factor @ self.factor.T + np.diag(self.diagonal)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n x p`` standard-normal draws with correlation ``C``."""
        g = rng.standard_normal((n, self.rank))
        z = rng.standard_normal((n, self.n_features))
        z *= np.sqrt(self.diagonal)
        if self.rank:
            z += g @ self.factor.T
        return z

    def sample_entries(
        self,
        n: int,
        rows: np.ndarray,
        cols: np.ndarray,
        rng: np.random.Generator,
        chunk: int = 200_000,
    ) -> np.ndarray:
        """Entries ``(rows, cols)`` of an ``n x p`` draw of :meth:`sample`, computed alone.

        For sparse uses (only a few entries of each row are needed) this costs
        ``O(len(rows) r)`` instead of ``O(n p r)``.
        """
        g = rng.standard_normal((n, self.rank))
        out = rng.standard_normal(len(rows)) * np.sqrt(self.diagonal[cols])
        if self.rank:
            for start in range(0, len(rows), chunk):
                stop = start + chunk
                out[start:stop] += np.einsum(
                    "ij,ij->i", g[rows[start:stop]], self.factor[cols[start:stop]]
                )
        return out

    def embed(self, indices: np.ndarray, p: int) -> LowRankCorrelation:
        """This correlation for features ``indices`` of ``p``; the others independent."""
        factor = np.zeros((p, self.rank))
        diagonal = np.ones(p)
        factor[indices] = self.factor
        diagonal[indices] = self.diagonal
        return LowRankCorrelation(factor, diagonal, self.shrinkage)

    @classmethod
    def identity(cls, p: int) -> LowRankCorrelation:
        """Independence."""
        return cls(np.zeros((p, 0)), np.ones(p), 1.0)

    @classmethod
    def from_scores(
        cls,
        scores: np.ndarray,
        *,
        rank: int | str | None = None,
        shrinkage: float | str = "ledoit_wolf",
        standardise: bool = True,
        rng: np.random.Generator | None = None,
    ) -> LowRankCorrelation:
        """Shrunk correlation of the columns of ``scores`` (``n x p`` latent normal scores).

        Parameters
        ----------
        scores
            One row per sample. Constant columns are treated as independent of the rest.
        rank
            Rank of the factor; None: exact (``min(n, p)``) when ``min(n, p) <=``
            :data:`EXACT_MAX_DIM`, else :data:`DEFAULT_RANK` by randomised SVD;
            ``"auto"``: the number of eigenvalues of the sample correlation above the
            Marchenko-Pastur edge ``(1 + sqrt(p / n))^2``, the largest eigenvalue pure noise
            reaches (Marchenko & Pastur 1967), at least 1 and at most the ``None`` rank.
            The variance the factor leaves out goes to the diagonal.
        shrinkage
            ``"ledoit_wolf"`` or a fixed intensity in [0, 1]: ``C = (1 - s) R + s I``.
        standardise
            Scale each column to unit variance (the usual correlation). With False the
            scores are taken to be already on the latent scale (centred, variance at
            most 1); the variance they lack goes to the diagonal.
        rng
            Seeds the randomised SVD.
        """
        if standardise:
            Z = _standardise(scores)
        else:
            Z = np.asarray(scores, dtype=np.float64)
            Z = Z - Z.mean(axis=0)
        n, p = Z.shape
        if shrinkage == "ledoit_wolf":
            s = ledoit_wolf_shrinkage(Z)
        else:
            s = float(shrinkage)
            if not 0.0 <= s <= 1.0:
                raise ValueError(f"shrinkage must be in [0, 1], got {s}")
        limit = min(n, p)
        auto = rank == "auto"
        if rank is None or auto:
            computed = limit if limit <= EXACT_MAX_DIM else DEFAULT_RANK
        else:
            computed = int(min(int(rank), limit))
        if computed == 0 or s >= 1.0:
            return cls(np.zeros((p, 0)), np.ones(p), s)
        if computed >= limit:
            _, sv, vt = np.linalg.svd(Z, full_matrices=False)
        else:
            from sklearn.utils.extmath import randomized_svd

            seed = None if rng is None else int(rng.integers(2**31 - 1))
            _, sv, vt = randomized_svd(Z, computed, n_iter=4, random_state=seed)
        rank = computed
        if auto:
            varying = int(np.count_nonzero(np.any(Z != 0, axis=0)))
            edge = (1.0 + np.sqrt(max(varying, 1) / n)) ** 2
            rank = int(np.clip(np.count_nonzero(sv**2 / n > edge), 1, computed))
        factor = (vt[:rank].T * (sv[:rank] / np.sqrt(n))) * np.sqrt(1.0 - s)
        diagonal = 1.0 - np.einsum("ij,ij->i", factor, factor)
        return cls._with_valid_diagonal(factor, diagonal, s)

    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray,
        *,
        rank: int | None = None,
        rng: np.random.Generator | None = None,
        n_iter: int = 4,
        factor_iter: int = 4,
    ) -> LowRankCorrelation:
        """Nearest correlation matrix of low rank plus diagonal to a symmetric matrix.

        Parameters
        ----------
        matrix
            Symmetric ``p x p`` matrix with unit diagonal, possibly indefinite (float32 is
            enough and halves the memory).
        rank
            None: all eigenpairs when ``p <=`` :data:`EXACT_MAX_DIM` (eigenvalues floored
            at a small positive value, then rescaled to unit diagonal, as
            ``psych::cor.smooth``); else a rank-:data:`DEFAULT_RANK` factor fitted to the
            off-diagonal entries by principal-axis factoring (``factor_iter`` rounds of a
            randomised eigen-decomposition, Halko et al. 2011, of the matrix with the
            communalities on its diagonal), the rest of each variance going to the
            diagonal.
        rng
            Seeds the randomised decomposition.
        """
        p = matrix.shape[0]
        if p == 0:
            return cls(np.zeros((0, 0)), np.zeros(0))
        if rank is None:
            rank = p if p <= EXACT_MAX_DIM else DEFAULT_RANK
        rank = int(min(rank, p))
        if rank >= p:
            full = np.asarray(matrix, dtype=np.float64)
            values, vectors = np.linalg.eigh((full + full.T) / 2)
            factor = vectors * np.sqrt(np.maximum(values, EIGEN_FLOOR))
            norms = np.sqrt(np.einsum("ij,ij->i", factor, factor))
            factor = factor / norms[:, None] * np.sqrt(1.0 - MIN_DIAGONAL)
            return cls(_sign_fixed(factor), np.full(p, MIN_DIAGONAL), 0.0)
        # principal-axis factoring: fit the off-diagonal part with F F^T, the diagonal
        # holding each row's communality, so that the variance F leaves out goes to the
        # diagonal instead of spreading over spurious off-diagonal correlations
        communality = np.zeros(p)
        start = None
        for _ in range(factor_iter):
            values, vectors = _randomized_eigh(
                matrix, rank, rng, n_iter, diagonal_shift=communality - 1.0, start=start
            )
            keep = values > EIGEN_FLOOR
            factor = vectors[:, keep] * np.sqrt(values[keep])
            communality = np.minimum(np.einsum("ij,ij->i", factor, factor), 1.0 - MIN_DIAGONAL)
            start, n_iter = vectors, 1
        diagonal = 1.0 - np.einsum("ij,ij->i", factor, factor)
        return cls._with_valid_diagonal(factor, diagonal, 0.0)

    @classmethod
    def _with_valid_diagonal(
        cls, factor: np.ndarray, diagonal: np.ndarray, shrinkage: float
    ) -> LowRankCorrelation:
        """Rows whose factor norm exceeds ``1 - MIN_DIAGONAL`` are scaled down to it."""
        factor = _sign_fixed(factor)
        low = diagonal < MIN_DIAGONAL
        if low.any():
            norms = np.sqrt(np.maximum(1.0 - diagonal[low], 1e-300))
            factor = factor.copy()
            factor[low] *= (np.sqrt(1.0 - MIN_DIAGONAL) / norms)[:, None]
            diagonal = diagonal.copy()
            diagonal[low] = MIN_DIAGONAL
        return cls(factor, diagonal, shrinkage)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save."""
        return {
            "factor": self.factor,
            "diagonal": self.diagonal,
            "shrinkage": np.asarray(self.shrinkage),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], prefix: str = "") -> LowRankCorrelation:
        """Inverse of :meth:`state` (keys optionally prefixed)."""
        return cls(
            state[prefix + "factor"], state[prefix + "diagonal"], float(state[prefix + "shrinkage"])
        )


def _sign_fixed(factor: np.ndarray) -> np.ndarray:
    """Each column with its largest entry (in absolute value) positive.

    An eigen- or singular vector is defined up to its sign, and LAPACK's choice can change
    with the number of threads; without a convention the same seed then draws other
    samples on another machine (as :func:`sklearn.utils.extmath.svd_flip` fixes it).
    """
    if factor.size == 0:
        return factor
    largest = np.argmax(np.abs(factor), axis=0)
    signs = np.sign(factor[largest, np.arange(factor.shape[1])])
    signs[signs == 0] = 1.0
    return factor * signs


def _standardise(scores: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit variance (1/n); constant columns set to zero."""
    Z = np.array(scores, dtype=np.float64, copy=True)
    Z -= Z.mean(axis=0)
    sd = np.sqrt((Z**2).mean(axis=0))
    constant = sd < 1e-12
    Z[:, ~constant] /= sd[~constant]
    Z[:, constant] = 0.0
    return Z


def ledoit_wolf_shrinkage(Z: np.ndarray, block_size: int = 2048) -> float:
    """Ledoit-Wolf shrinkage intensity of the covariance of centred data ``Z`` (``n x p``).

    Gives the value of :func:`sklearn.covariance.ledoit_wolf_shrinkage` with
    ``assume_centered=True`` (checked in the tests), but computes its two sums with Gram
    identities: ``sum((X**2).T @ X**2) = ||rowsums(X**2)||^2`` and
    ``||X.T @ X||_F^2 = ||X @ X.T||_F^2``, the latter over the smaller side in blocks, so
    that no ``p x p`` matrix is formed when ``n < p``.
    """
    n, p = Z.shape
    X2 = Z**2
    emp_cov_trace = X2.sum(axis=0) / n
    mu = emp_cov_trace.sum() / p
    beta_ = float(np.sum(X2.sum(axis=1) ** 2))
    side = (Z if n <= p else Z.T).astype(np.float32)  # float32 Gram: 2x faster, ample here
    delta_ = 0.0
    for start in range(0, side.shape[0], block_size):
        block = side[start : start + block_size] @ side.T
        delta_ += float(np.sum(np.square(block, dtype=np.float64)))
    delta_ /= n**2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * emp_cov_trace.sum() + p * mu**2) / p
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def _randomized_eigh(
    matrix: np.ndarray,
    rank: int,
    rng: np.random.Generator | None,
    n_iter: int,
    *,
    diagonal_shift: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``rank`` eigenpairs (largest values) of ``matrix + diag(diagonal_shift)``.

    Randomised range finder with ``n_iter`` power iterations (Halko et al. 2011), started
    from ``start`` (previous eigenvectors) plus random columns when given.
    """
    rng = rng or np.random.default_rng(0)
    p = matrix.shape[0]
    dtype = matrix.dtype if matrix.dtype in (np.float32, np.float64) else np.float64
    width = min(p, rank + 10)
    Q = rng.standard_normal((p, width))
    if start is not None:
        Q[:, : start.shape[1]] = start[:, :width]
    shift = np.zeros(p) if diagonal_shift is None else np.asarray(diagonal_shift)

    def times(M: np.ndarray) -> np.ndarray:
        return (matrix @ M.astype(dtype)).astype(np.float64) + shift[:, None] * M

    # +M shifts the spectrum by one, so that the largest *algebraic* eigenvalues dominate
    # the power iterations (correlation-like matrices have eigenvalues >= -1)
    for _ in range(n_iter):
        Q, _ = np.linalg.qr(times(Q) + Q)
    Q, _ = np.linalg.qr(times(Q) + Q)
    B = Q.T @ times(Q)
    values, small = np.linalg.eigh((B + B.T) / 2)
    order = np.argsort(values)[::-1][:rank]
    return values[order], Q @ small[:, order]
