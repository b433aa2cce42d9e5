"""Cluster centres of the training latents, window by window, and the pull toward them.

Within one PCA window, real individuals sit in tight clusters (the pairs of haplotypes
common in the population), and a diffusion model's draws fall between them: smoother than
the data, which costs short-range LD once the scores are thresholded. :class:`WindowCentres`
holds, per condition level and window, k-means centres of the training individuals'
whitened scores, and :meth:`WindowCentres.pull` moves each window of a drawn latent a share
of the way toward its nearest centre.

Privacy: a centre is the mean of at least :data:`MIN_MEMBERS` training individuals;
clusters with fewer members are dropped, so no stored centre is one individual's window.
A window of a level keeps its centres only where at least two remain (one would be the
level's mean: a pull toward it would shrink the draws rather than sharpen them).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> latents = np.r_[rng.normal(-3, 0.1, (20, 2)), rng.normal(3, 0.1, (20, 2))]
>>> centres = WindowCentres.fit(latents, np.zeros(40, int), 1, np.array([0, 2]), 2, seed=0)
>>> np.round(centres.pull(np.array([[2.0, 2.0]]), np.zeros(1, int), 1.0), 1)
array([[3., 3.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_MEMBERS", "WindowCentres"]

MIN_MEMBERS = 5
"""Fewest training individuals behind a kept centre."""


@dataclass
class WindowCentres:
    """Up to ``C`` centres per condition level and window of a windowed latent.

    Attributes
    ----------
    centres
        ``(L, C, d)`` float32: centre ``c`` of window ``i`` for level ``l`` is
        ``centres[l, c, offsets[i]:offsets[i + 1]]``.
    valid
        ``(L, C, w)`` bool: whether that centre exists (levels and windows may have fewer
        than ``C`` clusters of :data:`MIN_MEMBERS` or more).
    offsets
        ``(w + 1,)`` first latent column of each window, and ``d``.
    """

    centres: np.ndarray
    valid: np.ndarray
    offsets: np.ndarray

    @classmethod
    def fit(
        cls,
        latents: np.ndarray,
        codes: np.ndarray,
        n_levels: int,
        offsets: np.ndarray,
        n_centres: int,
        *,
        seed: int = 0,
        progress=None,
    ) -> WindowCentres:
        """k-means (``n_centres`` at most, :data:`MIN_MEMBERS` per cluster, two clusters at
        least) of each level's rows of ``latents`` ``(n, d)``, window by window;
        ``progress()`` after each window."""
        from sklearn.cluster import KMeans

        latents = np.asarray(latents, dtype=np.float32)
        codes = np.asarray(codes)
        offsets = np.asarray(offsets, dtype=np.int64)
        n_windows = len(offsets) - 1
        centres = np.zeros((n_levels, n_centres, latents.shape[1]), dtype=np.float32)
        valid = np.zeros((n_levels, n_centres, n_windows), dtype=bool)
        rows = [np.flatnonzero(codes == level) for level in range(n_levels)]
        for i in range(n_windows):
            o, p = int(offsets[i]), int(offsets[i + 1])
            for level, members in enumerate(rows):
                k = min(n_centres, len(members) // MIN_MEMBERS)
                if k < 2 or p == o:
                    continue
                points = latents[members, o:p]
                fitted = KMeans(k, n_init=1, max_iter=100, random_state=seed).fit(points)
                sizes = np.bincount(fitted.labels_, minlength=k)
                keep = np.flatnonzero(sizes >= MIN_MEMBERS)
                if len(keep) < 2:
                    continue
                centres[level, : len(keep), o:p] = fitted.cluster_centers_[keep]
                valid[level, : len(keep), i] = True
            if progress is not None:
                progress()
        return cls(centres, valid, offsets)

    def pull(self, latents: np.ndarray, codes: np.ndarray, share: float) -> np.ndarray:
        """``latents`` ``(n, d)`` with each window moved ``share`` of the way toward the
        nearest centre of its row's level (windows without centres are left as they are)."""
        from sklearn.metrics import pairwise_distances_argmin

        out = np.array(latents, dtype=np.float32, copy=True)
        codes = np.asarray(codes)
        for i in range(len(self.offsets) - 1):
            o, p = int(self.offsets[i]), int(self.offsets[i + 1])
            for level in np.unique(codes):
                kept = np.flatnonzero(self.valid[level, :, i])
                if len(kept) == 0:
                    continue
                rows = np.flatnonzero(codes == level)
                part = out[rows, o:p]
                centres = self.centres[level, kept, o:p]
                nearest = centres[pairwise_distances_argmin(part, centres)]
                out[rows, o:p] = part + float(share) * (nearest - part)
        return out

    def state(self) -> dict[str, np.ndarray]:
        return {"centres": self.centres, "valid": self.valid, "offsets": self.offsets}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> WindowCentres:
        return cls(
            np.asarray(state["centres"], dtype=np.float32),
            np.asarray(state["valid"], dtype=bool),
            np.asarray(state["offsets"], dtype=np.int64),
        )
