"""Privacy: how close synthetic samples come to the real samples the generator saw.

Every distance here is the Hellinger distance between profiles (Euclidean distance
between square-rooted proportions; Legendre & Gallagher 2001), chosen because it is an
established ecological distance that needs no pseudocount and is Euclidean, so nearest
neighbours come from BLAS matrix products computed block by block
(:func:`~synthomics.metrics.distances.nearest_neighbours`), in bounded memory.

Three real sets take part: ``train`` (what the generator saw), ``holdout`` (real samples
it did not see) and the ``synthetic`` candidates.

* DCR: distance to the closest training record. ``dcr_ratio`` = median DCR of synthetic
  samples / median DCR of held-out samples (about 1 for a generator that does not copy,
  near 0 for one that does); ``dcr_close_share`` = share of synthetic samples closer to
  training than the 5th percentile of held-out DCRs (0.05 expected).
* Copies: ``exact_copies`` = share at DCR <= 1e-9 (identical profiles up to rounding);
  ``near_copies`` = share below the 1st percentile of held-out DCRs (0.01 expected).
* Nearest-neighbour adversarial accuracy (Yale et al. 2020, Neurocomputing 416:244-255):
  ``AA = 1/2 [mean_i 1(d_RS(i) > d_RR(i)) + mean_i 1(d_SR(i) > d_SS(i))]`` for equal-size
  real and synthetic sets, where ``d_RS(i)`` is the distance of real sample ``i`` to its
  nearest synthetic sample and ``d_RR(i)`` to its nearest *other* real sample (strict
  inequalities, as in the paper). 0.5 is ideal; near 0 means synthetic samples sit on
  top of real ones. ``privacy_loss = AA(synthetic, holdout) - AA(synthetic, train)``.
* Membership inference: the AUC of telling training from held-out samples by the
  distance to their closest synthetic sample (closer = "member"); 0.5 is ideal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthomics.errors import InputError
from synthomics.metrics.distances import DEFAULT_BLOCK_ROWS, nearest_neighbours

EXACT_COPY_DISTANCE = 1e-9
"""Hellinger distance at or below which two profiles count as identical."""


def hellinger_features(P: np.ndarray) -> np.ndarray:
    """Square roots of proportions: Euclidean distances between them are Hellinger."""
    return np.sqrt(np.clip(np.asarray(P, dtype=np.float64), 0.0, None))


@dataclass(frozen=True)
class DCRResult:
    """Distances to closest training records and the metrics derived from them."""

    dcr_ratio: float
    dcr_close_share: float
    exact_copies: float
    near_copies: float
    synthetic_dcr: np.ndarray
    holdout_dcr: np.ndarray

    def details(self) -> dict[str, float]:
        return {
            "median_dcr_synthetic": float(np.median(self.synthetic_dcr)),
            "median_dcr_holdout": float(np.median(self.holdout_dcr)),
            "holdout_dcr_p05": float(np.quantile(self.holdout_dcr, 0.05)),
            "holdout_dcr_p01": float(np.quantile(self.holdout_dcr, 0.01)),
            "n_synthetic": len(self.synthetic_dcr),
            "n_holdout": len(self.holdout_dcr),
        }


def dcr(
    synthetic: np.ndarray,
    train: np.ndarray,
    holdout: np.ndarray,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> DCRResult:
    """DCR ratio, close share and copy shares (module docstring).

    Parameters
    ----------
    synthetic, train, holdout
        Feature matrices (Hellinger features for profiles) with the same columns.
    """
    d_syn, _ = nearest_neighbours(synthetic, train, block_rows=block_rows)
    d_hold, _ = nearest_neighbours(holdout, train, block_rows=block_rows)
    return dcr_from_distances(d_syn, d_hold)


def dcr_from_distances(synthetic_dcr: np.ndarray, holdout_dcr: np.ndarray) -> DCRResult:
    """:class:`DCRResult` from the distances to the closest training record."""
    d_syn, d_hold = np.asarray(synthetic_dcr), np.asarray(holdout_dcr)
    med_hold = float(np.median(d_hold))
    ratio = float(np.median(d_syn)) / med_hold if med_hold > 0 else float("inf")
    p05, p01 = np.quantile(d_hold, [0.05, 0.01])
    return DCRResult(
        dcr_ratio=ratio,
        dcr_close_share=float(np.mean(d_syn < p05)),
        exact_copies=float(np.mean(d_syn <= EXACT_COPY_DISTANCE)),
        near_copies=float(np.mean(d_syn < p01)),
        synthetic_dcr=d_syn,
        holdout_dcr=d_hold,
    )


class NeighbourSearch:
    """Nearest-neighbour distances between named sets, each search run once.

    ``search("S", "R")`` is the distance of each row of set ``S`` to its nearest row of
    set ``R`` (itself excluded when the two names are equal); the DCR, adversarial
    accuracy and membership inference metrics share these searches.
    """

    def __init__(self, sets: dict[str, np.ndarray], block_rows: int = DEFAULT_BLOCK_ROWS) -> None:
        self.sets = sets
        self.block_rows = block_rows
        self.cache: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, query: str, reference: str) -> np.ndarray:
        key = (query, reference)
        if key not in self.cache:
            self.cache[key] = nearest_neighbours(
                self.sets[query],
                self.sets[reference],
                exclude_self=query == reference,
                block_rows=self.block_rows,
            )[0]
        return self.cache[key]


NeighbourFn = Callable[[str, str], np.ndarray]


def adversarial_accuracy_from(nearest: NeighbourFn, real: str, synthetic: str) -> float:
    d_rs, d_rr = nearest(real, synthetic), nearest(real, real)
    d_sr, d_ss = nearest(synthetic, real), nearest(synthetic, synthetic)
    return 0.5 * (float(np.mean(d_rs > d_rr)) + float(np.mean(d_sr > d_ss)))


def adversarial_accuracy(
    real: np.ndarray, synthetic: np.ndarray, block_rows: int = DEFAULT_BLOCK_ROWS
) -> float:
    """Nearest-neighbour adversarial accuracy AA_RS of Yale et al. (2020).

    Parameters
    ----------
    real, synthetic
        Feature matrices with the same number of rows (at least 2) and columns.

    Examples
    --------
    Synthetic points far from two tight real pairs: every point's nearest neighbour is
    in its own set, so the adversary is always right.

    >>> real = np.array([[0.0], [0.1]]); synthetic = np.array([[5.0], [5.1]])
    >>> adversarial_accuracy(real, synthetic)
    1.0
    """
    real, synthetic = np.asarray(real), np.asarray(synthetic)
    _check_equal(real, synthetic)
    return adversarial_accuracy_from(
        NeighbourSearch({"R": real, "S": synthetic}, block_rows), "R", "S"
    )


def _check_equal(*sets: np.ndarray) -> None:
    sizes = [len(s) for s in sets]
    if len(set(sizes)) != 1 or sizes[0] < 2:
        raise InputError(
            None, f"sets of {sizes} samples", expected="sets of equal size, at least 2 each"
        )


def privacy_loss(
    train: np.ndarray,
    holdout: np.ndarray,
    synthetic: np.ndarray,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> tuple[float, float, float]:
    """``(AA(holdout, synthetic), AA(train, synthetic), their difference)``.

    The three sets must have equal sizes; nearest-neighbour searches shared by the two
    accuracies (synthetic to synthetic) run once.
    """
    _check_equal(train, holdout, synthetic)
    nearest = NeighbourSearch(
        {"R": np.asarray(train), "H": np.asarray(holdout), "S": np.asarray(synthetic)}, block_rows
    )
    aa_test, aa_train = (
        adversarial_accuracy_from(nearest, "H", "S"),
        adversarial_accuracy_from(nearest, "R", "S"),
    )
    return aa_test, aa_train, aa_test - aa_train


def membership_inference_auc(
    train: np.ndarray,
    holdout: np.ndarray,
    synthetic: np.ndarray,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> float:
    """AUC of a distance attack: members (``train``) vs non-members (``holdout``).

    The attack scores each real sample by minus its distance to the closest synthetic
    sample; the AUC is :func:`sklearn.metrics.roc_auc_score` of that score.
    """
    d_train, _ = nearest_neighbours(train, synthetic, block_rows=block_rows)
    d_hold, _ = nearest_neighbours(holdout, synthetic, block_rows=block_rows)
    return membership_inference_from_distances(d_train, d_hold)


def membership_inference_from_distances(
    member_distances: np.ndarray, non_member_distances: np.ndarray
) -> float:
    """Membership-inference AUC from distances to the closest synthetic sample."""
    from sklearn.metrics import roc_auc_score

    d_train, d_hold = np.asarray(member_distances), np.asarray(non_member_distances)
    y = np.r_[np.ones(len(d_train)), np.zeros(len(d_hold))]
    return float(roc_auc_score(y, -np.r_[d_train, d_hold]))


def adversarial_accuracy_scores(
    nearest: NeighbourFn,
    train_pair: tuple[str, str, int],
    holdout_pair: tuple[str, str, int],
    distance: str,
) -> dict[str, tuple[float, dict[str, Any]]]:
    """``aats_train``, ``aats_test`` and ``privacy_loss`` with their null standard errors.

    Parameters
    ----------
    nearest
        The neighbour search holding the named sets.
    train_pair, holdout_pair
        ``(real set, synthetic set, size)`` of equal-size pairs: training vs synthetic and
        held-out vs synthetic.
    distance
        Name of the distance, recorded in the details.
    """
    from synthomics.metrics.null_se import adversarial_accuracy_null_se

    (train_name, synth_train, n_train), (hold_name, synth_hold, n_hold) = train_pair, holdout_pair
    aa_train = adversarial_accuracy_from(nearest, train_name, synth_train)
    aa_test = adversarial_accuracy_from(nearest, hold_name, synth_hold)
    details = {"n_train_pair": n_train, "n_holdout_pair": n_hold, "distance": distance}
    se_train = adversarial_accuracy_null_se(n_train)
    se_test = adversarial_accuracy_null_se(n_hold)
    return {
        "aats_train": (aa_train, {**details, "null_se": se_train}),
        "aats_test": (aa_test, {**details, "null_se": se_test}),
        "privacy_loss": (
            aa_test - aa_train,
            {**details, "null_se": (se_train**2 + se_test**2) ** 0.5},
        ),
    }


def membership_inference_score(
    nearest: NeighbourFn, details: dict[str, Any]
) -> dict[str, tuple[float, dict[str, Any]]]:
    """``membership_inference_auc`` of training (``"R"``) vs held-out (``"H"``) rows by their
    distance to the closest synthetic row (``"S"``), with its null standard error."""
    from synthomics.metrics.null_se import auc_null_se

    d_members, d_non_members = nearest("R", "S"), nearest("H", "S")
    auc = membership_inference_from_distances(d_members, d_non_members)
    se = auc_null_se(len(d_members), len(d_non_members))
    return {"membership_inference_auc": (auc, {**details, "null_se": se})}
