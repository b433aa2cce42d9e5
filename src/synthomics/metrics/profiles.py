"""Inputs of the metrics: total-sum-scaled profiles with checked, aligned features.

Every abundance metric works on proportions (rows divided by their totals). The
:class:`Profiles` record holds them with the feature ids, the sample metadata and the raw
library sizes; :func:`as_profiles` builds one from an AnnData (or an array) and
:func:`align_features` makes a second set use the first one's feature order, failing
loudly when the feature sets differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthomics.errors import InputError


@dataclass
class Profiles:
    """Total-sum-scaled abundance profiles of one set of samples.

    Attributes
    ----------
    name
        Name of the set, used in messages and reports (``"real test"``, ``"bootstrap"``).
    proportions
        Samples x features, rows summing to one (all-zero rows stay zero).
    features
        Feature ids, in column order.
    obs
        Sample metadata, one row per sample.
    library_sizes
        Row totals before scaling (read depth for counts; 1 or 100 for relative data).
    units
        ``uns["units"]`` of the source (``"counts"``, ``"proportion"``, ``"percent"``).
    source
        File or description the set came from, for error messages.
    """

    name: str
    proportions: np.ndarray
    features: pd.Index
    obs: pd.DataFrame = field(default_factory=pd.DataFrame)
    library_sizes: np.ndarray | None = None
    units: str = "proportion"
    source: str | None = None

    @property
    def n_samples(self) -> int:
        return int(self.proportions.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.proportions.shape[1])

    def subset(self, rows: np.ndarray, name: str | None = None) -> Profiles:
        """The profiles of ``rows`` (integer indices), as a new record."""
        return Profiles(
            name=name or self.name,
            proportions=self.proportions[rows],
            features=self.features,
            obs=self.obs.iloc[rows],
            library_sizes=None if self.library_sizes is None else self.library_sizes[rows],
            units=self.units,
            source=self.source,
        )


def as_profiles(data: object, name: str, features: Sequence[str] | None = None) -> Profiles:
    """Build :class:`Profiles` from a microbiome AnnData or a samples x features array.

    Parameters
    ----------
    data
        :class:`anndata.AnnData` (microbiome container, any units) or a 2-D array.
    name
        Name of the set (for messages and reports).
    features
        Feature ids when ``data`` is an array (default ``taxon_0 ...``).

    Raises
    ------
    InputError
        If the values are not finite and non-negative, or the data is a genotype matrix.
    """
    import anndata as ad

    if isinstance(data, ad.AnnData):
        source = data.uns.get("source_file", name)
        omics = data.uns.get("omics", "microbiome")
        if omics != "microbiome":
            raise InputError(
                source,
                f"{name}: the data holds {omics!r}, not microbiome data",
                expected="a microbiome table",
            )
        X = data.X.toarray() if hasattr(data.X, "toarray") else data.X
        X = np.asarray(X, dtype=np.float64)
        feature_index = pd.Index(data.var_names.astype(str))
        obs = data.obs.copy()
        units = str(data.uns.get("units", "proportion"))
    else:
        source = name
        X = np.asarray(data, dtype=np.float64)
        if X.ndim != 2:
            raise InputError(
                source, f"{name}: expected a 2-D samples x features array, got shape {X.shape}"
            )
        ids = features if features is not None else [f"taxon_{j}" for j in range(X.shape[1])]
        if len(ids) != X.shape[1]:
            raise InputError(source, f"{name}: {len(ids)} feature ids for {X.shape[1]} columns")
        feature_index = pd.Index([str(f) for f in ids])
        obs = pd.DataFrame(index=pd.Index([f"{name}_{i}" for i in range(X.shape[0])]))
        units = "proportion"
    if X.shape[0] == 0:
        raise InputError(source, f"{name}: no samples", expected="at least one sample")
    bad = ~np.isfinite(X) | (X < 0)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(
            source,
            f"{name}: value {X[i, j]!r}",
            where=f"sample {obs.index[i]!r}, feature {feature_index[j]!r}",
            expected="finite, non-negative abundances",
        )
    if feature_index.has_duplicates:
        dup = feature_index[feature_index.duplicated()][0]
        raise InputError(
            source, f"{name}: duplicate feature id {dup!r}", expected="unique feature ids"
        )
    totals = X.sum(axis=1)
    proportions = np.divide(X, totals[:, None], out=np.zeros_like(X), where=totals[:, None] > 0)
    return Profiles(
        name=name,
        proportions=proportions,
        features=feature_index,
        obs=obs,
        library_sizes=totals,
        units=units,
        source=str(source),
    )


def align_features(reference: Profiles, other: Profiles) -> Profiles:
    """``other`` with its columns in ``reference``'s feature order.

    Raises
    ------
    InputError
        If the two sets do not hold exactly the same features; the message names how
        many are missing or extra and the first few of each.
    """
    if other.features.equals(reference.features):
        return other
    missing = reference.features.difference(other.features, sort=False)
    extra = other.features.difference(reference.features, sort=False)
    if len(missing) or len(extra):
        parts = []
        if len(missing):
            parts.append(
                f"{len(missing)} feature(s) of {reference.name!r} missing "
                f"(first: {', '.join(map(repr, missing[:3]))})"
            )
        if len(extra):
            parts.append(
                f"{len(extra)} feature(s) not in {reference.name!r} "
                f"(first: {', '.join(map(repr, extra[:3]))})"
            )
        raise InputError(
            other.source,
            f"{other.name}: features do not match {reference.name}: " + "; ".join(parts),
            expected="the same features in every set (subset both tables to shared taxa "
            "first, or sample the synthetic set from a model fitted on these features)",
        )
    order = other.features.get_indexer(reference.features)
    return Profiles(
        name=other.name,
        proportions=other.proportions[:, order],
        features=reference.features,
        obs=other.obs,
        library_sizes=other.library_sizes,
        units=other.units,
        source=other.source,
    )


def subsample(n_rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of ``min(n, n_rows)`` rows drawn without replacement."""
    if n >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=n, replace=False))


def check_same_width(a: np.ndarray, b: np.ndarray, what: str = "features") -> None:
    """Raise :class:`InputError` unless two samples x features arrays have equal widths."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InputError(
            None,
            f"mismatched {what}: arrays of shape {a.shape} and {b.shape}",
            expected=f"two samples x {what} arrays with the same {what}",
        )
