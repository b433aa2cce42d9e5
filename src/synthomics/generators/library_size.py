"""Library sizes (sequencing depths) and the read-count step shared by microbiome generators.

Depths are drawn from the training distribution, per condition level: a log-normal fitted
to the training library sizes (the read-depth model of SparseDOSSA 2, Ma et al. 2021), the
empirical distribution (resampling the training depths), or the empirical distribution
given the sample's richness (``"matched"``: the depth of one of the training samples
nearest in richness, so that the rich samples, which carry the rare taxa, get the depths
that let real samples carry them; on unrarefied tables an independent depth rounds a rare
taxon of a shallow sample up to one read, too large a share). Counts are then drawn from
the generated proportions, by one of three rules:

``multinomial``
    reads ~ Multinomial(depth, proportions): the usual sequencing model (SparseDOSSA 2,
    Dirichlet-multinomial). It adds sampling zeros where a proportion is small.
``presence_preserving``
    MIDASim's rule (He et al. 2024): round(proportion x depth), with at least one read for
    every taxon that is present. Keeps the generated presence/absence pattern.
``depth_matched``
    MIDASim's rule at a depth rescaled until the reads sum to about the drawn depth.
    Rounding alone loses reads where many taxa sit a little above one read (and adds some
    where they sit below), so the total, and with it the share of a single read, drifts
    from the depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from synthomics.errors import InputError

LibrarySizeKind = Literal["lognormal", "empirical", "matched"]
CountModel = Literal["multinomial", "presence_preserving", "depth_matched"]
LIBRARY_SIZE_KINDS: tuple[str, ...] = ("lognormal", "empirical", "matched")


@dataclass
class LibrarySizeModel:
    """Library-size distribution of each condition level.

    Attributes
    ----------
    kind
        ``"lognormal"``, ``"empirical"`` or ``"matched"``.
    log_mean, log_sd
        Per level: mean and standard deviation of log depth (log-normal; every kind keeps
        them as a summary).
    values, offsets
        Empirical and matched kinds: training depths of level ``k`` are
        ``values[offsets[k]:offsets[k + 1]]`` (matched: in order of ``keys``).
    keys
        Matched kind: the :func:`depth_key` of the training sample of each entry of
        ``values``.
    """

    kind: LibrarySizeKind
    log_mean: np.ndarray
    log_sd: np.ndarray
    values: np.ndarray
    offsets: np.ndarray
    keys: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        library_sizes: np.ndarray,
        codes: np.ndarray,
        n_groups: int,
        kind: LibrarySizeKind = "lognormal",
        keys: np.ndarray | None = None,
    ) -> LibrarySizeModel:
        """Fit one distribution per level code in ``range(n_groups)``.

        The matched kind needs ``keys``, the :func:`depth_key` of each training sample.
        """
        if kind not in LIBRARY_SIZE_KINDS:
            raise InputError(
                None,
                f"unknown library-size model {kind!r}",
                expected=f"one of {LIBRARY_SIZE_KINDS}",
            )
        sizes = np.asarray(library_sizes, dtype=np.float64)
        if kind == "matched":
            if keys is None or len(keys) != len(sizes):
                raise ValueError("the matched library-size model needs one key per sample")
            key = np.asarray(keys, dtype=np.float64)
        else:
            key = np.zeros(len(sizes))
        log_mean = np.zeros(n_groups)
        log_sd = np.zeros(n_groups)
        chunks, key_chunks = [], []
        for k in range(n_groups):
            rows = np.flatnonzero(codes == k)
            logs = np.log(sizes[rows])
            log_mean[k] = logs.mean()
            log_sd[k] = logs.std(ddof=1) if len(rows) > 1 else 0.0
            order = np.lexsort((sizes[rows], key[rows]))
            chunks.append(sizes[rows][order].astype(np.int64))
            key_chunks.append(key[rows][order])
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
        if kind == "lognormal":
            return cls(kind, log_mean, log_sd, np.zeros(0, dtype=np.int64), offsets)
        values = np.concatenate(chunks)
        return cls(
            kind,
            log_mean,
            log_sd,
            values,
            offsets,
            np.concatenate(key_chunks) if kind == "matched" else None,
        )

    @property
    def conditional(self) -> bool:
        """Whether depths depend on the generated sample (the matched kind)."""
        return self.kind == "matched"

    def draw(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        keys: np.ndarray | None = None,
    ) -> np.ndarray:
        """One depth (a positive integer) per row, from the distribution of its level.

        The matched kind takes each row's depth from one of the ``ceil(sqrt(m))`` training
        samples of its level (of ``m``) whose key is nearest to ``keys[row]``
        (:func:`depth_key` of the generated rows); without ``keys`` it resamples the level's
        depths as the empirical kind does.
        """
        codes = np.asarray(codes, dtype=np.int64)
        out = np.empty(len(codes), dtype=np.int64)
        for k in np.unique(codes):
            rows = np.flatnonzero(codes == k)
            start, stop = self.offsets[k], self.offsets[k + 1]
            if self.kind == "matched" and keys is not None:
                out[rows] = self.values[
                    start + _nearest_ranks(self.keys[start:stop], keys[rows], rng)
                ]
            elif self.kind != "lognormal":
                out[rows] = self.values[rng.integers(start, stop, size=len(rows))]
            else:
                draws = rng.normal(self.log_mean[k], self.log_sd[k], size=len(rows))
                out[rows] = np.maximum(1, np.rint(np.exp(draws))).astype(np.int64)
        return out

    def state(self) -> dict[str, np.ndarray]:
        """Arrays to save."""
        out = {
            "log_mean": self.log_mean,
            "log_sd": self.log_sd,
            "values": self.values,
            "offsets": self.offsets,
        }
        if self.keys is not None:
            out["keys"] = self.keys
        return out

    @classmethod
    def from_state(cls, kind: LibrarySizeKind, state: dict[str, np.ndarray]) -> LibrarySizeModel:
        """Inverse of :meth:`state`."""
        return cls(
            kind,
            state["log_mean"],
            state["log_sd"],
            state["values"],
            state["offsets"],
            state.get("keys"),
        )


def depth_key(proportions: np.ndarray) -> np.ndarray:
    """The per-sample statistic that the matched library-size model pairs depths with:
    richness, the number of taxa present (deeper samples show more of the rare taxa)."""
    return (np.asarray(proportions) > 0).sum(axis=1).astype(np.float64)


def _nearest_ranks(
    sorted_keys: np.ndarray, keys: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each of ``keys``, a random index among the ``ceil(sqrt(m))`` entries of
    ``sorted_keys`` (non-decreasing, length ``m``) nearest to it."""
    m = len(sorted_keys)
    k = min(m, int(np.ceil(np.sqrt(m))))
    keys = np.asarray(keys, dtype=np.float64)
    centre = np.searchsorted(sorted_keys, keys)
    # the k nearest of a sorted array form a window: slide it from centre - k towards the
    # side whose entries are closer
    start = np.clip(centre - k, 0, m - k)
    for _ in range(k):
        right = start + k
        move = (right < m) & (
            np.abs(sorted_keys[np.minimum(right, m - 1)] - keys) < np.abs(sorted_keys[start] - keys)
        )
        if not move.any():
            break
        start = start + move
    return start + rng.integers(0, k, size=len(start))


def check_library_sizes(library_size: int | np.ndarray, n: int) -> np.ndarray:
    """Validate a user's ``library_size`` (one integer, or one per row) as an int64 array."""
    sizes = np.asarray(library_size)
    if sizes.ndim == 0:
        sizes = np.full(n, sizes)
    if sizes.shape != (n,):
        raise InputError(
            None,
            f"{sizes.size} library sizes for {n} samples",
            expected="one integer, or one per sample",
        )
    if not np.issubdtype(sizes.dtype, np.number) or not np.all(np.isfinite(sizes)):
        raise InputError(None, "library sizes are not finite numbers", expected="positive integers")
    if np.any(sizes < 1) or np.any(sizes != np.rint(sizes)):
        bad = sizes[(sizes < 1) | (sizes != np.rint(sizes))][0]
        raise InputError(None, f"library size {bad!r}", expected="positive integers")
    return sizes.astype(np.int64)


def multinomial_counts(
    proportions: np.ndarray, library_sizes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Reads ~ Multinomial(depth_i, proportions_i) for every row ``i``."""
    p = np.clip(proportions, 0.0, None)
    p = p / p.sum(axis=1, keepdims=True)
    return rng.multinomial(np.asarray(library_sizes, dtype=np.int64), p).astype(np.int64)


def presence_preserving_counts(proportions: np.ndarray, library_sizes: np.ndarray) -> np.ndarray:
    """MIDASim's rounding: round(p x depth), at least one read where ``p > 0``."""
    counts = np.rint(proportions * np.asarray(library_sizes, dtype=np.float64)[:, None])
    counts[(proportions > 0) & (counts < 1)] = 1
    return counts.astype(np.int64)


def depth_matched_counts(
    proportions: np.ndarray, library_sizes: np.ndarray, rounds: int = 2
) -> np.ndarray:
    """:func:`presence_preserving_counts` at a depth rescaled ``rounds`` times by
    depth / total, so that each row's reads sum to about its depth (the reads gained or
    lost fall on the taxa above a few reads; those at one read keep it)."""
    target = np.asarray(library_sizes, dtype=np.float64)
    scaled = target.copy()
    for _ in range(rounds):
        total = presence_preserving_counts(proportions, scaled).sum(axis=1)
        scaled = np.maximum(1.0, scaled * target / np.maximum(total, 1))
    return presence_preserving_counts(proportions, scaled)


def draw_counts(
    rule: CountModel,
    proportions: np.ndarray,
    library_sizes: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Reads of ``proportions`` at ``library_sizes`` by ``rule`` (module docstring)."""
    if rule == "multinomial":
        return multinomial_counts(proportions, library_sizes, rng)
    if rule == "depth_matched":
        return depth_matched_counts(proportions, library_sizes)
    return presence_preserving_counts(proportions, library_sizes)
