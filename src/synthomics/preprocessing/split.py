"""Train/test splits of a container's samples, by subject and by class when asked.

Works on microbiome and genotype containers alike: only ``obs`` is used.

Examples
--------
>>> from synthomics.datasets import synthetic_microbiome
>>> from synthomics.preprocessing import train_test_split
>>> adata = synthetic_microbiome(n_samples=40, n_taxa=10)
>>> train, test = train_test_split(adata, test_fraction=0.25, group_by="subject")
>>> set(train.obs["subject"]) & set(test.obs["subject"])
set()
"""

from __future__ import annotations

import anndata as ad
import numpy as np

from synthomics.errors import InputError
from synthomics.preprocessing.history import record_step

__all__ = ["train_test_split"]


def _column(adata: ad.AnnData, name: str, option: str) -> np.ndarray:
    source = adata.uns.get("source_file")
    if name not in adata.obs.columns:
        raise InputError(
            source,
            f"no sample column {name!r} for {option}",
            expected=f"one of {list(adata.obs.columns)}",
        )
    values = adata.obs[name]
    missing = values.isna().to_numpy()
    if missing.any():
        raise InputError(
            source,
            f"{int(missing.sum())} sample(s) have no value in column {name!r}",
            where=f"sample {adata.obs_names[missing][0]!r}",
            expected=f"a value for every sample to {option}",
        )
    return values.astype(str).to_numpy()


def train_test_split(
    adata: ad.AnnData,
    test_fraction: float = 0.2,
    seed: int = 0,
    group_by: str | None = None,
    stratify: str | None = None,
) -> tuple[ad.AnnData, ad.AnnData]:
    """Split the samples into a training and a test container.

    The splitter is scikit-learn's:

    ============  ============  ===============================================
    ``group_by``  ``stratify``  splitter
    ============  ============  ===============================================
    --            --            :class:`~sklearn.model_selection.ShuffleSplit`
    column        --            :class:`~sklearn.model_selection.GroupShuffleSplit`
    --            column        :class:`~sklearn.model_selection.StratifiedShuffleSplit`
    column        column        :class:`~sklearn.model_selection.StratifiedGroupKFold`
    ============  ============  ===============================================

    With ``group_by`` no group (subject) has samples on both sides, and
    ``test_fraction`` is the fraction of *groups* in the test set, so the fraction of
    samples is only approximately ``test_fraction`` when groups differ in size. With both
    options, the first fold of ``StratifiedGroupKFold(n_splits=round(1/test_fraction))``
    is the test set, which makes the test fraction ``1/n_splits``.

    Parameters
    ----------
    adata
        Any synthomics container.
    test_fraction
        Fraction in (0, 1) of the samples (or groups) in the test set.
    seed
        Seed of the shuffle.
    group_by
        ``obs`` column holding the subject (or family) of each sample.
    stratify
        ``obs`` column holding class labels whose proportions both sides keep.

    Returns
    -------
    (anndata.AnnData, anndata.AnnData)
        Training and test containers, samples in their input order, each with a
        ``"train_test_split"`` record in ``uns["preprocessing"]``.

    Raises
    ------
    InputError
        On an unknown or incomplete column, a fraction outside (0, 1), or a split that
        scikit-learn cannot make (e.g. a class with a single sample, too few groups).
    """
    from sklearn.model_selection import (
        GroupShuffleSplit,
        ShuffleSplit,
        StratifiedGroupKFold,
        StratifiedShuffleSplit,
    )

    source = adata.uns.get("source_file")
    if not 0.0 < float(test_fraction) < 1.0:
        raise InputError(
            source, f"test_fraction = {test_fraction!r}", expected="a number in (0, 1)"
        )
    if adata.n_obs < 2:
        raise InputError(source, f"{adata.n_obs} sample(s)", expected="at least 2 samples to split")
    groups = _column(adata, group_by, "group_by") if group_by is not None else None
    labels = _column(adata, stratify, "stratify") if stratify is not None else None
    placeholder = np.zeros((adata.n_obs, 1))
    if groups is not None and labels is not None:
        n_splits = max(2, round(1.0 / float(test_fraction)))
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    elif groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    elif labels is not None:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    else:
        splitter = ShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
    try:
        train_idx, test_idx = next(splitter.split(placeholder, labels, groups))
    except ValueError as exc:
        raise InputError(
            source,
            f"cannot split the samples: {exc}",
            expected="enough samples per class and group",
        ) from exc
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    if len(train_idx) == 0 or len(test_idx) == 0:
        raise InputError(
            source,
            "the split left one side empty",
            expected="more samples or groups, or another test_fraction",
        )
    params = {
        "test_fraction": float(test_fraction),
        "seed": int(seed),
        "group_by": group_by or "",
        "stratify": stratify or "",
        "splitter": type(splitter).__name__,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
    }
    train, test = adata[train_idx].copy(), adata[test_idx].copy()
    record_step(train, "train_test_split", side="train", **params)
    record_step(test, "train_test_split", side="test", **params)
    return train, test
