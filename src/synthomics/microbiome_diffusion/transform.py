"""The data representation of the microbiome diffusion model: presence and abundance scores.

A profile of ``p`` taxa becomes a ``(2, p)`` array:

channel 0, presence
    :math:`2y_j - 1` for presence :math:`y_j \\in \\{0, 1\\}`: :math:`\\pm 1`, the "analog
    bits" of Chen et al. (2023). The model predicts this channel through presence logits
    (:mod:`synthomics.microbiome_diffusion.decoder`); its denoised value is
    :math:`2P(y_j = 1 \\mid x_t) - 1`.
channel 1, abundance
    For present taxa, the *normal score* of a log abundance :math:`a_j` within taxon ``j``:
    :math:`z_j = \\Phi^{-1}(F_j(a_j))`, with :math:`F_j` the empirical distribution of
    :math:`a_j` over the training samples where taxon ``j`` is present (piecewise linear
    between at most ``knots`` quantiles); 0 (the taxon's median) for absent taxa.
    ``kind="clr"`` (default) takes the centred log-ratio over the present taxa,
    :math:`a_j = \\log p_j - \\overline{\\log p}_{\\text{present}}`; ``kind="log"`` the log
    relative abundance :math:`a_j = \\log p_j`.

Decoding inverts the per-taxon map, exponentiates the abundance of the present taxa and
closes the profile (rows sum to one); only ratios between present taxa matter.

Why these choices, measured on the Nielsen IBD table (296 training samples):

* zeros are kept exactly (as presence) instead of being smeared by a pseudocount;
* the normal-score map makes every taxon's abundance marginal standard normal, the
  distribution the model's independent-taxa preconditioner assumes
  (:meth:`~synthomics.microbiome_diffusion.module.MicrobiomeDenoiser.independent_evidence`),
  so a fresh model already reproduces each taxon's abundance distribution, skew included.
  With a plain standardisation the marginals are skewed; drawing them as Gaussians gives
  profiles dominated by one taxon (mean Shannon index 2.33 against 3.00 for the real
  profiles, and 2.98 when each taxon's real values are shuffled between samples);
* CLR rather than log proportions removes the sample-level shift (a rich sample has every
  taxon at a lower share) from the marginals.

Taxa present in fewer than ``min_quantile_samples`` training samples get a Gaussian map
instead (their mean and a standard deviation shrunk towards the pooled one with three
pseudo-observations). Beyond its extreme knots each map continues for one score unit with
the taxon's standard deviation as slope, then stays flat, so generated abundances stay near
the training range of the taxon.

The map is fitted per taxon on the present values only, which is why it is written here
rather than taken from :class:`sklearn.preprocessing.QuantileTransformer` (which would
fit one column at a time including its zeros).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

__all__ = [
    "KINDS",
    "EvennessCalibration",
    "MarginalCalibration",
    "PresenceLogAbundance",
    "floor_shares",
    "smallest_share",
]

KINDS: tuple[str, ...] = ("log", "clr")
"""Abundance transforms: log relative abundance or centred log-ratio over present taxa."""

SHRINKAGE = 3.0
"""Pseudo-observations of the pooled variance added to each taxon's variance."""

TAIL = 1.0
"""Score units by which each map extends beyond its extreme knots."""

BISECTION_STEPS = 30
"""Halvings of the log-power interval of :class:`EvennessCalibration` (to about 1e-8)."""


def _gaussian_knots(mean: float, scale: float, knots: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.linspace(-3.0, 3.0, knots)
    return mean + scale * scores, scores


def _quantile_knots(values: np.ndarray, scale: float, knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Knots (value, normal score) of the empirical distribution of ``values``, with tails."""
    values = np.sort(values)
    n = len(values)
    index = np.unique(np.round(np.linspace(0, n - 1, knots - 2)).astype(int))
    knot_values = values[index]
    scores = ndtri((index + 0.5) / n)
    # ties: keep the first score of each distinct value so that the map stays a function
    knot_values, first = np.unique(knot_values, return_index=True)
    scores = scores[first]
    knot_values = np.concatenate(
        [[knot_values[0] - TAIL * scale], knot_values, [knot_values[-1] + TAIL * scale]]
    )
    scores = np.concatenate([[scores[0] - TAIL], scores, [scores[-1] + TAIL]])
    pad = knots - len(scores)
    if pad > 0:  # equal lengths for every taxon: repeat the last knot (np.interp allows it)
        knot_values = np.concatenate([knot_values, np.repeat(knot_values[-1], pad)])
        scores = np.concatenate([scores, np.repeat(scores[-1], pad)])
    return knot_values, scores


def _rare_prior_variance(squares: np.ndarray, counts: np.ndarray, min_samples: int) -> float:
    """Within-taxon variance of the least prevalent well-observed taxa: the rare taxa's prior.

    Pooled over the quarter of taxa with at least ``min_samples`` presences that are least
    prevalent (rare taxa resemble them more than the abundant ones), within taxa only, so
    that differences between taxon means do not widen the rare taxa's maps.
    """
    observed = np.flatnonzero(counts >= max(min_samples, 2))
    if len(observed) == 0:
        observed = np.flatnonzero(counts >= 2)
    if len(observed) == 0:
        return 1.0
    band = observed[np.argsort(counts[observed], kind="stable")[: max(len(observed) // 4, 1)]]
    return max(float(squares[band].sum() / (counts[band] - 1).sum()), 1e-6)


@dataclass(frozen=True)
class PresenceLogAbundance:
    """Per-taxon maps of the presence / abundance-score representation.

    Attributes
    ----------
    values, scores
        ``(p, knots)``: for taxon ``j`` the map sends log abundance ``values[j]`` to normal
        score ``scores[j]`` (both non-decreasing), piecewise linearly.
    kind
        ``"clr"`` or ``"log"``.
    """

    values: np.ndarray
    scores: np.ndarray
    kind: str = "clr"

    @staticmethod
    def log_abundance(proportions: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Presence and log abundance (0 where absent) of ``n x p`` proportions."""
        if kind not in KINDS:
            raise ValueError(f"unknown abundance transform {kind!r}; expected one of {KINDS}")
        proportions = np.asarray(proportions, dtype=np.float64)
        present = proportions > 0
        logs = np.log(np.where(present, proportions, 1.0))
        if kind == "clr":
            richness = np.maximum(present.sum(axis=1, keepdims=True), 1)
            logs = np.where(present, logs - logs.sum(axis=1, keepdims=True) / richness, 0.0)
        return present, logs

    @classmethod
    def fit(
        cls,
        proportions: np.ndarray,
        kind: str = "clr",
        *,
        knots: int = 64,
        min_quantile_samples: int = 10,
    ) -> PresenceLogAbundance:
        """Learn the per-taxon maps from ``n x p`` relative abundances (rows sum to one).

        Parameters
        ----------
        proportions
            Training profiles.
        kind
            ``"clr"`` or ``"log"``.
        knots
            Quantiles kept per taxon (at least 8).
        min_quantile_samples
            Taxa present in fewer training samples get a Gaussian map.
        """
        if knots < 8:
            raise ValueError(f"knots must be at least 8, got {knots}")
        present, logs = cls.log_abundance(proportions, kind)
        counts = present.sum(axis=0)
        pooled_mean = logs[present].mean() if present.any() else 0.0
        sums = (logs * present).sum(axis=0)
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), pooled_mean)
        squares = (((logs - mean) ** 2) * present).sum(axis=0)
        pooled_var = _rare_prior_variance(squares, counts, min_quantile_samples)
        scale = np.sqrt(
            (squares + SHRINKAGE * pooled_var) / (np.maximum(counts - 1, 0) + SHRINKAGE)
        )
        values = np.empty((logs.shape[1], knots))
        scores = np.empty((logs.shape[1], knots))
        for j in range(logs.shape[1]):
            observed = logs[present[:, j], j]
            if len(observed) >= min_quantile_samples and np.ptp(observed) > 0:
                values[j], scores[j] = _quantile_knots(observed, scale[j], knots)
            else:
                values[j], scores[j] = _gaussian_knots(mean[j], scale[j], knots)
        return cls(values, scores, kind)

    @property
    def n_taxa(self) -> int:
        return self.values.shape[0]

    @property
    def low(self) -> float:
        """Smallest score of any map: sampling clips the abundance channel here."""
        return float(self.scores.min())

    @property
    def high(self) -> float:
        """Largest score of any map."""
        return float(self.scores.max())

    def encode(self, proportions: np.ndarray) -> np.ndarray:
        """``n x p`` relative abundances -> ``(n, 2, p)`` float32 representation."""
        proportions = np.asarray(proportions, dtype=np.float64)
        if proportions.ndim != 2 or proportions.shape[1] != self.n_taxa:
            raise ValueError(f"expected (n, {self.n_taxa}) proportions, got {proportions.shape}")
        present, logs = self.log_abundance(proportions, self.kind)
        abundance = np.zeros_like(logs)
        for j in range(self.n_taxa):
            rows = present[:, j]
            if rows.any():
                abundance[rows, j] = np.interp(logs[rows, j], self.values[j], self.scores[j])
        return np.stack([2.0 * present - 1.0, abundance], axis=1).astype(np.float32)

    def decode(self, present: np.ndarray, abundance: np.ndarray) -> np.ndarray:
        """Relative abundances from hard presence ``(n, p)`` and the abundance channel.

        Every row needs at least one present taxon. Returns float64 rows summing to one.
        """
        present = np.asarray(present, dtype=bool)
        abundance = np.asarray(abundance, dtype=np.float64)
        if present.shape != abundance.shape or present.shape[1] != self.n_taxa:
            raise ValueError("presence and abundance must both be (n, n_taxa)")
        if not present.any(axis=1).all():
            raise ValueError("every sample needs at least one present taxon")
        logs = np.full(present.shape, -np.inf)
        for j in range(self.n_taxa):
            rows = present[:, j]
            if rows.any():
                logs[rows, j] = np.interp(abundance[rows, j], self.scores[j], self.values[j])
        logs -= logs.max(axis=1, keepdims=True)
        weights = np.exp(logs)
        return weights / weights.sum(axis=1, keepdims=True)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save."""
        return {
            "values": self.values,
            "scores": self.scores,
            "kind": np.array([KINDS.index(self.kind)]),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> PresenceLogAbundance:
        """Inverse of :meth:`state`."""
        return cls(
            np.asarray(state["values"], np.float64),
            np.asarray(state["scores"], np.float64),
            KINDS[int(np.asarray(state["kind"])[0])],
        )


def _levels(k: int) -> np.ndarray:
    """The ``k`` probability levels ``(i + 1/2) / k`` of a quantile map."""
    return (np.arange(k) + 0.5) / k


@dataclass(frozen=True)
class MarginalCalibration:
    """Per-taxon maps that give generated abundance scores the marginal of the data.

    The denoiser learns the dependence between taxa well before it gets every taxon's
    abundance distribution exactly right (sampling from an imperfect network narrows or
    shifts the marginals). Fitted on the model's own draws, the map of taxon ``j`` sends
    the ``k``-th quantile of its generated present-abundance scores to the ``k``-th
    quantile of the standard normal, which is the training marginal by construction of
    :class:`PresenceLogAbundance`. Ranks, and so the learned dependence, are unchanged;
    it is the decoder of a copula whose marginals come from the data, as in MIDASim's
    nonparametric mode. Taxa with fewer than ``min_present`` generated presences keep the
    identity.

    Attributes
    ----------
    generated
        ``(p, K)`` non-decreasing quantiles of the generated scores at :attr:`levels`.
    """

    generated: np.ndarray

    @property
    def levels(self) -> np.ndarray:
        """Probability levels of the quantiles."""
        return _levels(self.generated.shape[1])

    @classmethod
    def fit(
        cls,
        present: np.ndarray,
        scores: np.ndarray,
        *,
        knots: int = 64,
        min_present: int = 30,
    ) -> MarginalCalibration:
        """Quantiles of the generated ``scores`` where ``present`` (both ``(n, p)``)."""
        present = np.asarray(present, dtype=bool)
        scores = np.asarray(scores, dtype=np.float64)
        levels = _levels(knots)
        generated = np.tile(ndtri(levels), (scores.shape[1], 1))
        for j in range(scores.shape[1]):
            values = scores[present[:, j], j]
            if len(values) >= min_present and np.ptp(values) > 0:
                generated[j] = np.maximum.accumulate(np.quantile(values, levels))
        return cls(generated)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated scores of ``(n, p)`` generated scores (absent entries pass through)."""
        scores = np.asarray(scores, dtype=np.float64)
        target = ndtri(self.levels)
        out = np.empty_like(scores)
        for j in range(scores.shape[1]):
            out[:, j] = _quantile_map(scores[:, j], self.generated[j], target)
        return out


@dataclass(frozen=True)
class EvennessCalibration:
    """A per-sample power of the shares that gives generated samples the data's Shannon index.

    The per-taxon maps fix each taxon's abundance distribution but not how even a whole
    sample is: with a few hundred training samples the network draws the Shannon index too
    spread out (too many samples dominated by one taxon). Fitted on the model's own draws,
    the map of condition level ``k`` sends the ``q``-th quantile of the generated Shannon
    index to the ``q``-th quantile of the training one; a sample is then moved to its
    target index by the power :math:`p_j^{\\beta} / \\sum_k p_k^{\\beta}` of its shares
    (:math:`\\beta` found by bisection), which keeps its present taxa and their order. The
    same monotone map for every sample keeps the ranks of the index, as
    :class:`MarginalCalibration` keeps the ranks of each taxon.

    Attributes
    ----------
    generated, target
        ``(levels, K)`` quantiles of the generated and of the training Shannon index (nats)
        at :func:`_levels` ``(K)``, one row per condition level.
    """

    generated: np.ndarray
    target: np.ndarray

    @classmethod
    def fit(
        cls,
        generated: np.ndarray,
        generated_codes: np.ndarray,
        training: np.ndarray,
        training_codes: np.ndarray,
        n_levels: int,
        *,
        knots: int = 64,
        min_samples: int = 20,
    ) -> EvennessCalibration:
        """Quantile maps from generated to training proportions (rows), per level code.

        A level with fewer than ``min_samples`` training or generated samples uses the
        map of all levels together.
        """
        from scipy.stats import entropy

        levels = _levels(knots)
        h_gen, h_train = entropy(generated, axis=1), entropy(training, axis=1)
        pooled = (
            np.maximum.accumulate(np.quantile(h_gen, levels)),
            np.quantile(h_train, levels),
        )
        rows_gen, rows_target = [], []
        for code in range(n_levels):
            gen, train = h_gen[generated_codes == code], h_train[training_codes == code]
            if min(len(gen), len(train)) < min_samples:
                rows_gen.append(pooled[0])
                rows_target.append(pooled[1])
            else:
                rows_gen.append(np.maximum.accumulate(np.quantile(gen, levels)))
                rows_target.append(np.quantile(train, levels))
        return cls(np.stack(rows_gen), np.stack(rows_target))

    def apply(self, proportions: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Proportions ``(n, p)`` of level ``codes`` moved to their target Shannon index."""
        from scipy.stats import entropy

        proportions = np.asarray(proportions, dtype=np.float64)
        current = entropy(proportions, axis=1)
        target = np.empty_like(current)
        for code in range(len(self.generated)):
            rows = codes == code
            target[rows] = _quantile_map(current[rows], self.generated[code], self.target[code])
        richness = (proportions > 0).sum(axis=1)
        target = np.clip(target, 0.0, np.log(np.maximum(richness, 1)))
        return _with_shannon(proportions, target)


def smallest_share(proportions: np.ndarray) -> float:
    """The smallest non-zero share of a table: its detection limit (0 for an empty table)."""
    proportions = np.asarray(proportions, dtype=np.float64)
    positive = proportions[proportions > 0]
    return float(positive.min()) if positive.size else 0.0


def floor_shares(proportions: np.ndarray, limit: float) -> np.ndarray:
    """Present shares raised to at least ``limit`` (the training detection limit), reclosed.

    A profiler reports nothing below its detection limit (a MetaPhlAn table's smallest share,
    one read of a count table), while a powered or quantile-mapped draw can put a present
    taxon far below it, a share no real sample has. Absent taxa stay at zero; after the
    closure a raised share is the limit divided by the row's new total, at most a few
    parts in a thousand below it.
    """
    proportions = np.asarray(proportions, dtype=np.float64)
    if limit <= 0:
        return proportions
    raised = np.where(proportions > 0, np.maximum(proportions, limit), 0.0)
    return raised / raised.sum(axis=1, keepdims=True)


def _quantile_map(values: np.ndarray, knots: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Piecewise-linear map of ``knots`` onto ``target``, shifted with slope one beyond."""
    out = np.interp(values, knots, target)
    low, high = values < knots[0], values > knots[-1]
    out[low] = target[0] + values[low] - knots[0]
    out[high] = target[-1] + values[high] - knots[-1]
    return out


def _powered(logs: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Rows of :math:`p^{\\beta}` closed to one, from log shares (``-inf`` where absent)."""
    scaled = logs * beta[:, None]
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)


def _with_shannon(
    proportions: np.ndarray, target: np.ndarray, *, low: float = 0.1, high: float = 10.0
) -> np.ndarray:
    """Each row raised to the power in ``[low, high]`` whose Shannon index is ``target``.

    The index falls as the power grows (towards the largest share) and rises as it shrinks
    (towards even shares), so a bisection on the log of the power finds it.
    """
    from scipy.stats import entropy

    with np.errstate(divide="ignore"):
        logs = np.log(proportions)
    lower, upper = np.full(len(logs), np.log(low)), np.full(len(logs), np.log(high))
    for _ in range(BISECTION_STEPS):
        middle = (lower + upper) / 2
        too_even = entropy(_powered(logs, np.exp(middle)), axis=1) > target
        lower = np.where(too_even, middle, lower)
        upper = np.where(too_even, upper, middle)
    return _powered(logs, np.exp((lower + upper) / 2))
