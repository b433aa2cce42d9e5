# Over 450 lines: one model, its two copula steps and the estimators they need (margins,
# tetrachoric and tie-averaged rank correlations, empirical-value assignment).
"""MIDASim's two-step simulator, nonparametric mode.

Follows He M, Zhao N, Satten GA (2024) MIDASim: a fast and simple simulator for realistic
microbiome data. Microbiome 12:135, and the authors' R package (MIDASim 2.0,
``MIDASim.setup`` / ``MIDASim.modify`` / ``MIDASim`` with the default
``mode = "nonparametric"`` and no modification). The parametric mode (generalized gamma
relative abundances) is not implemented.

Step 1, presence/absence
    Taxon ``j`` is present in sample ``i`` when ``Z_ij >= -(theta_j + eta_i)``, with
    ``Z_i ~ N(0, R)`` and ``R`` the (smoothed) tetrachoric correlation matrix of the
    training presence/absence table. ``theta`` and ``eta`` solve
    ``sum_i Phi(theta_j + eta_i) = n * prevalence_j`` and
    ``sum_j Phi(theta_j + eta_i) = richness_i``, so that the simulated per-taxon
    prevalence and per-sample richness match the template in expectation. Taxa present in
    every (or no) training sample are always (never) present.
Step 2, relative abundances of the present taxa (nonparametric mode)
    A second Gaussian copula, with the Spearman correlation of the relative abundances
    (ties broken at random, mapped by ``2 sin(pi r / 6)``), orders the samples within
    each taxon; the ``n1`` samples where the taxon is present receive a draw of the
    taxon's observed non-zero relative abundances (all of them plus draws with
    replacement when ``n1`` exceeds their number, else ``n1`` drawn without
    replacement), sorted and assigned by the rank of their latent normal. Rows are then
    rescaled to sum to one.
Reads
    As the package: each synthetic sample is built on one template (training) sample,
    whose ``eta`` and library size it keeps, so that deep samples stay rich; reads are
    ``round(proportion x depth)`` with at least one read for each present taxon.

Where this implementation departs from the package
    * Tetrachoric correlations use the closed-form approximation of Bonett & Price (2005),
      as the package does; "smoothing" is the projection onto correlation matrices
      (eigenvalues floored, as ``psych::cor.smooth``), held as low rank plus diagonal
      (the top 200 eigenpairs by a randomised eigen-decomposition) above 1,000 taxa, where
      the package would need ``p x p`` dense algebra. The same holds for the abundance
      correlation.
    * Instead of averaging the Spearman correlation over 100 random tie-breakings, its
      expectation under random tie-breaking is computed in closed form
      (:func:`tie_averaged_spearman`).
    * Tetrachoric correlations involving a taxon present (or absent) in fewer than
      ``min_count`` training samples are set to zero: a single co-occurrence of two rare
      taxa gives an estimate near 1, and thousands of such pairs (16S tables are full of
      singletons) would make whole blocks of rare taxa appear together.
    * MIDASim simulates as many samples as the template, one per template sample. Here
      any ``n`` can be drawn: the template samples are used in turn
      (:func:`balanced_draw`: each once before any twice). A depth given by the caller
      replaces the template's (MIDASim would then need new prevalences and richness).
    * A simulated sample with no taxon present gets its most likely taxon present.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from scipy import special

from synthomics.errors import InputError
from synthomics.generators.copula import LowRankCorrelation
from synthomics.generators.library_size import LibrarySizeKind, presence_preserving_counts
from synthomics.generators.microbiome import (
    LevelParameters,
    MicrobiomeDraw,
    MicrobiomeTrainingData,
    PerLevelMicrobiomeGenerator,
)

AbundanceCorrelation = Literal["spearman", "normal_scores"]
ABUNDANCE_CORRELATIONS: tuple[str, ...] = ("spearman", "normal_scores")


class MIDASimGenerator(PerLevelMicrobiomeGenerator):
    """MIDASim (He et al. 2024), nonparametric mode.

    Parameters
    ----------
    rank
        Rank of both copula correlations; None: exact up to 1,000 taxa, else 200.
    min_count
        Taxa present (or absent) in fewer training samples than this are given no
        tetrachoric correlation (independent presence); see :func:`tetrachoric_matrix`.
    template_depths
        Each synthetic sample keeps the ``eta`` and the library size of one training
        sample, as the package does (True). False: the ``eta`` of a random training
        sample and an independent depth from the ``library_size`` model.
    abundance_correlation
        Estimate of the abundance copula's correlation: ``"spearman"`` (the package's,
        :func:`tie_averaged_spearman` mapped by ``2 sin(pi r / 6)``) or
        ``"normal_scores"`` (:func:`tie_averaged_rank_scores`).
    seed, library_size, progress
        See :class:`~synthomics.generators.microbiome.MicrobiomeGenerator`.
    """

    name: ClassVar[str] = "midasim"
    description: ClassVar[str] = (
        "MIDASim: thresholded-normal presence matching prevalence and richness, then a "
        "Gaussian copula on empirical abundances"
    )
    reference: ClassVar[str] = "He, Zhao & Satten 2024, Microbiome 12:135"
    count_model: ClassVar[str] = "presence_preserving"

    def __init__(
        self,
        *,
        rank: int | None = None,
        min_count: int = 5,
        template_depths: bool = True,
        abundance_correlation: AbundanceCorrelation = "spearman",
        seed: int = 0,
        library_size: LibrarySizeKind = "lognormal",
        progress: bool | None = None,
    ) -> None:
        super().__init__(seed=seed, library_size=library_size, progress=progress)
        self.rank = rank
        self.min_count = int(min_count)
        if abundance_correlation not in ABUNDANCE_CORRELATIONS:
            raise InputError(
                None,
                f"unknown abundance_correlation {abundance_correlation!r}",
                expected=f"one of {ABUNDANCE_CORRELATIONS}",
            )
        self.template_depths = bool(template_depths)
        self.abundance_correlation = abundance_correlation

    def _fit_level(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> LevelParameters:
        P = data.proportions
        n = P.shape[0]
        present = P > 0
        prevalence = present.mean(axis=0)
        richness = present.sum(axis=1)
        always = prevalence >= 1.0
        never = prevalence <= 0.0
        free = np.flatnonzero(~always & ~never)
        task = self.fit_progress.task(f"midasim [{self._current_level}]: presence model", total=3)
        theta, eta = solve_presence_margins(prevalence[free], richness - always.sum())
        task.advance()
        # taxa seen present (or absent) fewer than min_count times get no correlation, so
        # the (dense, p x p) tetrachoric matrix is built for the others only
        counts = present[:, free].sum(axis=0)
        estimable = (counts >= self.min_count) & (n - counts >= self.min_count)
        tetra = LowRankCorrelation.from_matrix(
            tetrachoric_matrix(present[:, free[estimable]]), rank=self.rank, rng=rng
        ).embed(np.flatnonzero(estimable), len(free))
        task.advance()
        if self.abundance_correlation == "spearman":
            spearman = tie_averaged_spearman(P)
            spearman[:] = 2.0 * np.sin(np.pi / 6.0 * spearman)
            abundance_corr = LowRankCorrelation.from_matrix(spearman, rank=self.rank, rng=rng)
        else:
            abundance_corr = LowRankCorrelation.from_scores(
                tie_averaged_rank_scores(P),
                rank=self.rank,
                shrinkage=0.0,
                standardise=False,
                rng=rng,
            )
        task.advance()
        values, offsets = _pack_nonzero(P)
        arrays = {
            "free": free.astype(np.int64),
            "always": np.flatnonzero(always).astype(np.int64),
            "theta": theta,
            "eta": eta,
            "nonzero_values": values,
            "nonzero_offsets": offsets,
            **({} if data.library_sizes is None else {"library_sizes": data.library_sizes}),
            **{f"tetrachoric/{k}": v for k, v in tetra.state().items()},
            **{f"abundance/{k}": v for k, v in abundance_corr.state().items()},
        }
        info = {
            "n_free_taxa": len(free),
            "n_correlated_taxa": int(estimable.sum()),
            "n_always_present": int(always.sum()),
            "tetrachoric_rank": tetra.rank,
            "abundance_rank": abundance_corr.rank,
        }
        return LevelParameters(arrays, info)

    def _sample_level(
        self,
        params: LevelParameters,
        n: int,
        library_sizes: np.ndarray | None,
        user_library_sizes: bool,
        rng: np.random.Generator,
    ) -> MicrobiomeDraw:
        a = params.arrays
        p = len(self.feature_names_)
        free = a["free"]
        # step 1: presence/absence
        if self.template_depths:
            template = balanced_draw(len(a["eta"]), n, rng)
            if library_sizes is not None and not user_library_sizes and "library_sizes" in a:
                library_sizes = a["library_sizes"][template]
        else:
            template = rng.integers(0, len(a["eta"]), size=n)
        eta = a["eta"][template]
        present = np.zeros((n, p), dtype=bool)
        present[:, a["always"]] = True
        if len(free):
            margin = LowRankCorrelation.from_state(a, prefix="tetrachoric/").sample(n, rng)
            margin += a["theta"][None, :] + eta[:, None]
            present[:, free] = margin >= 0
            empty = np.flatnonzero(~present.any(axis=1))
            if empty.size:  # the most likely taxon of each empty sample is made present
                present[empty, free[np.argmax(margin[empty], axis=1)]] = True
        # step 2: abundances of present taxa, ordered by a Gaussian copula
        rows, cols = np.nonzero(present)
        latent = LowRankCorrelation.from_state(a, prefix="abundance/").sample_entries(
            n, rows, cols, rng
        )
        values = assign_empirical_abundances(
            rows, cols, latent, a["nonzero_values"], a["nonzero_offsets"], rng
        )
        rel = np.zeros((n, p))
        rel[rows, cols] = values
        rel /= rel.sum(axis=1, keepdims=True)
        if library_sizes is None:
            return MicrobiomeDraw(rel)
        return MicrobiomeDraw(rel, presence_preserving_counts(rel, library_sizes))


def balanced_draw(n_template: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` template indices, in random order, each used ``n // n_template`` or one more time.

    With ``n`` equal to the template size every template sample is used once, as MIDASim
    simulates; otherwise the spread of the template is kept as closely as whole draws
    allow (no index is drawn twice before every index has been drawn once).
    """
    whole, rest = divmod(n, n_template)
    drawn = np.concatenate(
        [np.tile(np.arange(n_template), whole), rng.choice(n_template, rest, replace=False)]
    )
    return rng.permutation(drawn)


def assign_empirical_abundances(
    rows: np.ndarray,
    cols: np.ndarray,
    latent: np.ndarray,
    values: np.ndarray,
    offsets: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """MIDASim's nonparametric step 2, vectorised over all present entries.

    For every taxon ``j`` with ``n1`` present entries and ``n2`` observed non-zero values:
    the pool is all ``n2`` values plus ``n1 - n2`` drawn with replacement when
    ``n1 > n2``, else ``n1`` values drawn without replacement; the ``k``-th smallest latent
    normal among the present entries gets the ``k``-th smallest pool value.

    Parameters
    ----------
    rows, cols
        The present entries.
    latent
        Their latent normals (the abundance copula).
    values, offsets
        Observed non-zero values of taxon ``j``: ``values[offsets[j]:offsets[j + 1]]``.

    Returns
    -------
    numpy.ndarray
        The value of each present entry, in the order of ``rows``/``cols``.
    """
    p = len(offsets) - 1
    n1 = np.bincount(cols, minlength=p)
    n2 = np.diff(offsets)
    if np.any((n1 > 0) & (n2 == 0)):
        raise ValueError("a taxon never seen non-zero in training is present")
    # pool indices into `values`, grouped by taxon
    taxa = np.flatnonzero(n1 > 0)
    pool_parts = []
    # (a) n1 <= n2: a random subset of size n1 (smallest random keys within the taxon)
    small = taxa[n1[taxa] <= n2[taxa]]
    if small.size:
        member = np.repeat(small, n2[small])
        index = _ranges(offsets[small], n2[small])
        key = rng.random(len(index))
        order = np.lexsort((key, member))
        member, index = member[order], index[order]
        position = np.arange(len(member)) - np.repeat(np.cumsum(n2[small]) - n2[small], n2[small])
        keep = position < n1[member]
        pool_parts.append((member[keep], index[keep]))
    # (b) n1 > n2: every value once, plus n1 - n2 draws with replacement
    large = taxa[n1[taxa] > n2[taxa]]
    if large.size:
        pool_parts.append((np.repeat(large, n2[large]), _ranges(offsets[large], n2[large])))
        extra = n1[large] - n2[large]
        member = np.repeat(large, extra)
        draws = offsets[member] + (rng.random(len(member)) * n2[member]).astype(np.int64)
        pool_parts.append((member, draws))
    pool_taxon = np.concatenate([m for m, _ in pool_parts])
    pool_value = values[np.concatenate([i for _, i in pool_parts])]
    pool_order = np.lexsort((pool_value, pool_taxon))
    sorted_pool = pool_value[pool_order]  # by taxon, ascending value within taxon
    entry_order = np.lexsort((latent, cols))  # by taxon, ascending latent within taxon
    out = np.empty(len(rows))
    out[entry_order] = sorted_pool
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for every start ``s`` and length ``l``."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    group_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + np.arange(total) - group_start


def solve_presence_margins(
    prevalence: np.ndarray, richness: np.ndarray, *, max_iter: int = 500, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """``theta`` (taxa) and ``eta`` (samples) with the wanted expected margins.

    Solves ``sum_i Phi(theta_j + eta_i) = n prevalence_j`` and
    ``sum_j Phi(theta_j + eta_i) = richness_i`` by alternating vectorised Newton steps
    (one block of unknowns at a time, each a monotone one-dimensional equation per
    unknown). Taxa with the same prevalence (samples with the same richness) share their
    solution, so the equations are solved over the distinct values only, weighted by
    their multiplicities: a few hundred by a few hundred instead of ``n x p``. ``eta`` is
    centred at the end (the equations fix only ``theta + eta``).

    Parameters
    ----------
    prevalence
        Per-taxon fraction of samples where it is present, strictly inside (0, 1).
    richness
        Per-sample number of these taxa present.
    """
    n, p = len(richness), len(prevalence)
    if p == 0:
        return np.zeros(0), np.zeros(n)
    prev_values, prev_index, prev_mult = np.unique(
        np.asarray(prevalence, dtype=np.float64), return_inverse=True, return_counts=True
    )
    rich_values, rich_index, rich_mult = np.unique(
        np.clip(np.asarray(richness, dtype=np.float64), 0.25, p - 0.25),
        return_inverse=True,
        return_counts=True,
    )
    target_taxa = n * prev_values
    theta = special.ndtri(np.clip(prev_values, 1e-6, 1 - 1e-6))
    eta = special.ndtri(np.clip(rich_values / p, 1e-6, 1 - 1e-6)) - special.ndtri(
        np.clip(np.mean(prevalence), 1e-6, 1 - 1e-6)
    )
    for _ in range(max_iter):
        eta_old, theta_old = eta.copy(), theta.copy()
        for _ in range(3):
            eta = _newton_step(eta, theta, prev_mult, rich_values)
        for _ in range(3):
            theta = _newton_step(theta, eta, rich_mult, target_taxa)
        change = max(np.max(np.abs(eta - eta_old)), np.max(np.abs(theta - theta_old)))
        if change < tol:
            break
    theta, eta = theta[prev_index], eta[rich_index]
    shift = eta.mean()
    return theta + shift, eta - shift


def _newton_step(
    x: np.ndarray, other: np.ndarray, weights: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """A safeguarded Newton step for ``sum_k w_k Phi(x + other_k) = target`` per entry."""
    s = x[:, None] + other[None, :]
    f = special.ndtr(s) @ weights - target
    df = (np.exp(-0.5 * s**2) / np.sqrt(2 * np.pi)) @ weights
    step = f / np.maximum(df, 1e-12)
    return np.clip(x - np.clip(step, -2.0, 2.0), -12.0, 12.0)


def tetrachoric_matrix(
    present: np.ndarray, *, min_count: int = 1, block_size: int = 1024
) -> np.ndarray:
    """Approximate tetrachoric correlation matrix of the columns of a 0/1 table (float32).

    Uses the closed form of Bonett DG, Price RM (2005) J Educ Behav Stat 30:213-225, with
    0.5 added to every cell of each 2x2 table (as MIDASim does):
    ``omega = (f11 + .5)(f00 + .5) / ((f10 + .5)(f01 + .5))``,
    ``c = (1 - |p1 - p2| / 5 - (1/2 - min(p1, p2))^2) / 2``,
    ``rho = cos(pi / (1 + omega^c))``. Computed in row blocks from sparse co-occurrence
    counts.

    Parameters
    ----------
    present
        ``n x p`` presence/absence.
    min_count
        Taxa present (or absent) in fewer than this many samples get zero correlation with
        every other taxon: one co-occurrence of two rare taxa gives an estimate near 1,
        which says nothing about their dependence.
    """
    B = sp.csc_matrix(present.astype(np.float64))
    n, p = present.shape
    col = np.asarray(B.sum(axis=0)).ravel()
    Bt = B.T.tocsr()
    out = np.empty((p, p), dtype=np.float32)
    total = n + 2.0
    for start in range(0, p, block_size):
        stop = min(start + block_size, p)
        f11 = np.asarray((Bt[start:stop] @ B).todense())
        f10 = col[start:stop, None] - f11
        f01 = col[None, :] - f11
        f00 = n - f11 - f10 - f01
        p_row = (f11 + f10 + 1.0) / total
        p_col = (f11 + f01 + 1.0) / total
        omega = (f11 + 0.5) * (f00 + 0.5) / ((f10 + 0.5) * (f01 + 0.5))
        c = (1.0 - np.abs(p_row - p_col) / 5.0 - (0.5 - np.minimum(p_row, p_col)) ** 2) / 2.0
        out[start:stop] = np.cos(np.pi / (1.0 + omega**c))
    rare = (col < min_count) | (n - col < min_count)
    out[rare, :] = 0.0
    out[:, rare] = 0.0
    np.fill_diagonal(out, 1.0)
    return out


def tie_averaged_rank_scores(P: np.ndarray) -> np.ndarray:
    """Normal scores of the within-column ranks, ties given their mean score, centred.

    The score of rank ``k`` is ``Phi^-1(k / (n + 1))``. A block of tied values (the zeros,
    above all) gets the mean score of the ranks it spans, which is the expectation of the
    score under random tie-breaking; since tie-breaking is independent between columns,
    ``scores.T @ scores / (n V)``, with ``V`` the variance of the untied scores, is the
    expected correlation over infinitely many random tie-breakings (MIDASim averages 100).
    Only the non-zeros are sorted, so the cost is ``O(nnz log nnz + n p)``.

    Returns
    -------
    numpy.ndarray
        ``n x p`` scores, centred per column and divided by ``sqrt(V)``.
    """
    n, p = P.shape
    untied = special.ndtri(np.arange(1, n + 1) / (n + 1.0))
    cumulative = np.concatenate([[0.0], np.cumsum(untied)])

    def block_mean(first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Mean untied score over ranks first..last (1-based, inclusive)."""
        return (cumulative[last] - cumulative[first - 1]) / (last - first + 1)

    C = sp.csc_matrix(P)
    C.sort_indices()
    n_nonzero = np.diff(C.indptr)
    n_zero = n - n_nonzero
    scores = np.empty((n, p))
    has_zero = n_zero > 0
    zero_score = np.zeros(p)
    zero_score[has_zero] = block_mean(np.ones(has_zero.sum(), dtype=np.int64), n_zero[has_zero])
    scores[:] = zero_score[None, :]
    cols = np.repeat(np.arange(p), n_nonzero)
    values = C.data
    order = np.lexsort((values, cols))
    sorted_cols, sorted_values = cols[order], values[order]
    # rank among the column's non-zeros, then the first and last rank of each tie group
    position = np.arange(len(order)) - C.indptr[sorted_cols]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (sorted_cols[1:] != sorted_cols[:-1]) | (
        sorted_values[1:] != sorted_values[:-1]
    )
    group = np.cumsum(new_group) - 1
    first = position[new_group][group] + 1
    group_size = np.bincount(group)
    last = first + group_size[group] - 1
    offset = n_zero[sorted_cols]
    scores[C.indices[order], sorted_cols] = block_mean(first + offset, last + offset)
    scores -= scores.mean(axis=0)
    return scores / np.sqrt(np.mean(untied**2))


def tie_averaged_spearman(P: np.ndarray, *, block_size: int = 1024) -> np.ndarray:
    """Spearman correlation of the columns averaged over random tie-breakings (float32).

    MIDASim ranks each column with ties broken at random and averages the Spearman
    correlation over 100 such rankings. Tie-breaking is independent between columns and
    leaves the variance of the ranks at that of ``1..n``, ``(n^2 - 1) / 12``, so the
    expected correlation is ``sum_i (m_ij - (n + 1) / 2)(m_ik - (n + 1) / 2) /
    (n (n^2 - 1) / 12)`` with ``m`` the mid-ranks (average ranks of ties): the limit of
    MIDASim's average, computed exactly. The diagonal is 1. Computed in row blocks, so
    that the only ``p x p`` array is the float32 result (as :func:`tetrachoric_matrix`).
    """
    from scipy.stats import rankdata

    n, p = P.shape
    ranks = rankdata(P, axis=0) - (n + 1) / 2.0
    ranks /= np.sqrt(n * (n * n - 1) / 12.0)
    out = np.empty((p, p), dtype=np.float32)
    for start in range(0, p, block_size):
        stop = min(start + block_size, p)
        out[start:stop] = ranks[:, start:stop].T @ ranks
    np.fill_diagonal(out, 1.0)
    return out


def _pack_nonzero(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each taxon's non-zero values, concatenated column by column, with offsets."""
    Pc = sp.csc_matrix(P)
    Pc.sort_indices()
    return np.asarray(Pc.data, dtype=np.float64), np.asarray(Pc.indptr, dtype=np.int64)
