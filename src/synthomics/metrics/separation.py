"""What separates synthetic from real samples: the features that alone tell them apart.

A classifier two-sample test says *whether* a synthetic set can be told from real samples;
this module says *by what*. Each candidate feature (a per-sample summary, or one taxon's
presence or abundance where present) is scored by the ROC AUC of that feature alone between
the two sets, folded so that 0.5 means no separation and 1 means full separation
(``max(AUC, 1 - AUC)``). The summaries are those a synthetic profile most often gets wrong:
richness, Shannon index, smallest non-zero share (the read depth shows here), the share of
taxa at that smallest value (singletons), the largest share (dominance), and the mean and
sd of the log shares of present taxa.

Use :func:`separating_features` on two tables of relative abundances (samples x taxa); the
evaluation report shows its top rows per synthetic set beside the same features between two
real samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthomics.metrics.alpha import observed_richness, shannon

__all__ = [
    "SUMMARIES",
    "Separation",
    "sample_summaries",
    "separating_features",
    "separation_figure_data",
]

SUMMARIES: tuple[str, ...] = (
    "richness",
    "Shannon index",
    "smallest share",
    "share of taxa at the smallest share",
    "largest share",
    "mean log share of present taxa",
    "sd of log shares of present taxa",
)
"""Names of the per-sample summaries, in the order :func:`sample_summaries` returns them."""

MIN_PRESENT = 20
"""Samples per set in which a taxon must be present for its abundance to be scored."""


@dataclass(frozen=True)
class Separation:
    """One feature's separation of two sets: ``auc`` is ``max(AUC, 1 - AUC)``; ``higher``
    says whether the second set has the larger values."""

    feature: str
    auc: float
    higher: bool


def sample_summaries(P: np.ndarray) -> dict[str, np.ndarray]:
    """The per-sample summaries of :data:`SUMMARIES` of relative abundances ``P``."""
    P = np.asarray(P, dtype=np.float64)
    present = P > 0
    richness = observed_richness(P)
    n = np.maximum(richness, 1)
    smallest = np.where(present, P, np.inf).min(axis=1)
    smallest = np.where(np.isfinite(smallest), smallest, 0.0)
    logs = np.where(present, np.log(np.where(present, P, 1.0)), 0.0)
    mean_log = logs.sum(axis=1) / n
    values = (
        richness,
        shannon(P),
        smallest,
        (np.isclose(P, smallest[:, None]) & present).sum(axis=1) / n,
        P.max(axis=1),
        mean_log,
        np.sqrt(np.maximum((logs**2).sum(axis=1) / n - mean_log**2, 0.0)),
    )
    return dict(zip(SUMMARIES, values, strict=True))


def _folded_auc(first: np.ndarray, second: np.ndarray) -> tuple[float, bool]:
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(first)), np.ones(len(second))]
    auc = float(roc_auc_score(y, np.r_[first, second]))
    return max(auc, 1.0 - auc), auc > 0.5


def separating_features(
    real: np.ndarray,
    synthetic: np.ndarray,
    names: list[str] | None = None,
    *,
    taxa: int = 200,
) -> list[Separation]:
    """Every scored feature of two sets of relative abundances, most separating first.

    Parameters
    ----------
    real, synthetic
        Samples x taxa relative abundances with the same columns.
    names
        Taxon names (default: column numbers).
    taxa
        The most prevalent taxa (over both sets) whose presence and abundance are scored.
    """
    real, synthetic = np.asarray(real, np.float64), np.asarray(synthetic, np.float64)
    names = [str(i) for i in range(real.shape[1])] if names is None else list(names)
    out = []
    first, second = sample_summaries(real), sample_summaries(synthetic)
    for key in SUMMARIES:
        out.append(Separation(key, *_folded_auc(first[key], second[key])))
    both = np.vstack([real, synthetic])
    for j in np.argsort(-(both > 0).mean(axis=0), kind="stable")[:taxa]:
        pr, ps = real[:, j] > 0, synthetic[:, j] > 0
        if 0 < pr.sum() + ps.sum() < len(both):
            out.append(Separation(f"presence of {names[j]}", *_folded_auc(pr, ps)))
        if pr.sum() >= MIN_PRESENT and ps.sum() >= MIN_PRESENT:
            auc = _folded_auc(np.log(real[pr, j]), np.log(synthetic[ps, j]))
            out.append(Separation(f"abundance of {names[j]} where present", *auc))
    return sorted(out, key=lambda s: -s.auc)


def separation_figure_data(
    reference: Any, floor: Any, candidates: list[tuple[str, Any]], rows: int = 8
) -> dict[str, Any]:
    """The report's table: per synthetic set its most separating features, with the floor.

    ``reference`` and ``floor`` are the real samples and a second real sample (the
    real-vs-real floor), ``candidates`` ``(name, profiles)`` pairs; each has
    ``proportions`` and ``features``. Features that separate two real samples as well (a
    taxon that differs between people) are shown with that floor beside them.
    """
    names = list(map(str, reference.features))
    floor_auc = {
        s.feature: s.auc
        for s in separating_features(reference.proportions, floor.proportions, names)
    }
    sets = {}
    for name, profiles in candidates:
        ranked = separating_features(reference.proportions, profiles.proportions, names)
        sets[name] = [
            {
                "feature": s.feature,
                "auc": s.auc,
                "synthetic_higher": s.higher,
                "floor": floor_auc.get(s.feature, 0.5),
            }
            for s in ranked[:rows]
        ]
    return {"sets": sets, "rows": rows}
