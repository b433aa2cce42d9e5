"""Checks shared by every microbiome reader: one function, :func:`validate_abundance`.

Every reader (BIOM, TSV/CSV, MetaPhlAn, h5ad) hands its samples x features matrix here
before building the container, so that all of them reject the same bad input with the same
message, naming the file and the line/column (text files) or the sample/feature id.

What is checked, in order
    1. the table is not empty (at least one sample and one feature);
    2. sample ids and feature ids are unique;
    3. every value is a finite number (no NaN, no +-inf);
    4. no value is negative;
    5. all-zero samples: dropped with a warning (``all_zero="drop"``, the default) or
       rejected (``all_zero="error"``); a table whose samples are all zero is rejected;
    6. units, unless given: integer-valued -> ``"counts"``; otherwise samples summing to 1
       -> ``"proportion"``, to 100 -> ``"percent"`` (both within ``sum_tolerance``);
    7. relative abundances: each sample must sum to its target (1 or 100) within
       ``sum_tolerance`` (relative; ``sum_rule="equal"``), or at most to it
       (``sum_rule="at-most"``, used for MetaPhlAn tables, whose rows at one rank omit
       unclassified reads and sum to 100 or a little less; Nielsen's species rows sum to
       97.75-100), or not at all (``sum_rule="none"``).

With ``sum_rule="at-most"`` and no units given, samples whose largest sum is at most
``1 + sum_tolerance`` are proportions, else percent.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from synthomics.container import UNITS
from synthomics.errors import InputError

AllZeroPolicy = Literal["drop", "error"]
SumRule = Literal["equal", "at-most", "none"]
UnitsOption = Literal["auto", "counts", "proportion", "percent"]

DEFAULT_SUM_TOLERANCE: float = 0.01
"""Relative tolerance on sample sums: 1 +- 0.01 for proportions, 100 +- 1 for percent."""

_TARGET = {"proportion": 1.0, "percent": 100.0}


@dataclass(frozen=True)
class CellLocator:
    """Where the cells of a samples x features matrix sit in a text file.

    Parameters
    ----------
    samples_as_rows
        Whether each sample is a line of the file (else each sample is a column).
    sample_positions
        1-based line (samples as rows) or column (samples as columns) of each sample.
    feature_positions
        1-based column or line of each feature.
    """

    samples_as_rows: bool
    sample_positions: Sequence[int]
    feature_positions: Sequence[int]

    def cell(self, i: int, j: int) -> str:
        """``"line L, column C"`` of sample ``i``, feature ``j``."""
        s, f = self.sample_positions[i], self.feature_positions[j]
        line, column = (s, f) if self.samples_as_rows else (f, s)
        return f"line {line}, column {column}"

    def sample(self, i: int) -> str:
        """``"line L"`` or ``"column C"`` of sample ``i``."""
        return f"{'line' if self.samples_as_rows else 'column'} {self.sample_positions[i]}"

    def feature(self, j: int) -> str:
        """``"line L"`` or ``"column C"`` of feature ``j``."""
        return f"{'column' if self.samples_as_rows else 'line'} {self.feature_positions[j]}"


@dataclass
class CheckedTable:
    """A validated samples x features table.

    Attributes
    ----------
    X
        Float64 matrix, all-zero samples removed when ``all_zero="drop"``.
    sample_ids, feature_ids
        Ids of the rows and columns of ``X``.
    units
        One of :data:`synthomics.container.UNITS`.
    kept
        Indices (into the input) of the samples kept.
    dropped
        Ids of the all-zero samples that were dropped.
    """

    X: np.ndarray
    sample_ids: list[str]
    feature_ids: list[str]
    units: str
    kept: np.ndarray
    dropped: list[str] = field(default_factory=list)


def _where(locator: CellLocator | None, text: str, position: str | None = None) -> str:
    return f"{position} ({text})" if locator is not None and position else text


def check_options(
    *,
    units: str = "auto",
    sum_rule: str = "equal",
    all_zero: str = "drop",
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    source: object = None,
) -> None:
    """Reject unknown option values with an :class:`~synthomics.errors.InputError`."""
    if units not in ("auto", *UNITS):
        raise InputError(source, f"unknown units {units!r}", expected=f"'auto' or one of {UNITS}")
    if sum_rule not in ("equal", "at-most", "none"):
        raise InputError(
            source, f"unknown sum_rule {sum_rule!r}", expected="'equal', 'at-most' or 'none'"
        )
    if all_zero not in ("drop", "error"):
        raise InputError(
            source, f"unknown all_zero policy {all_zero!r}", expected="'drop' or 'error'"
        )
    if not (np.isfinite(sum_tolerance) and sum_tolerance >= 0):
        raise InputError(
            source, f"sum_tolerance {sum_tolerance!r}", expected="a non-negative number"
        )


def _check_unique(
    ids: Sequence[str], what: str, source: object, locate: Callable[[int], str] | None
) -> None:
    seen: dict[str, int] = {}
    for k, name in enumerate(ids):
        if name in seen:
            where = f"{what} {name!r}"
            if locate is not None:
                where = f"{locate(seen[name])} and {locate(k)} ({what} {name!r})"
            raise InputError(
                source, f"duplicate {what} id", where=where, expected=f"unique {what} ids"
            )
        seen[name] = k
    if any(not str(name).strip() for name in ids):
        k = next(k for k, name in enumerate(ids) if not str(name).strip())
        where = locate(k) if locate is not None else f"{what} number {k + 1}"
        raise InputError(source, f"empty {what} id", where=where, expected=f"a {what} id")


def detect_units(
    X: np.ndarray, *, sum_rule: SumRule = "equal", sum_tolerance: float = DEFAULT_SUM_TOLERANCE
) -> str | None:
    """Units of a non-negative matrix with no all-zero sample, or ``None`` if undecidable.

    Integer-valued -> counts; samples summing to 1 -> proportion; to 100 -> percent
    (within ``sum_tolerance``). With ``sum_rule="at-most"``: largest sum at most
    ``1 + sum_tolerance`` -> proportion, at most ``100 (1 + sum_tolerance)`` -> percent.
    """
    if np.array_equal(X, np.round(X)):
        return "counts"
    sums = X.sum(axis=1)
    if sum_rule == "at-most":
        top = sums.max()
        if top <= 1.0 + sum_tolerance:
            return "proportion"
        if top <= 100.0 * (1.0 + sum_tolerance):
            return "percent"
        return None
    for units, target in _TARGET.items():
        if np.all(np.abs(sums - target) <= sum_tolerance * target):
            return units
    return None


def validate_abundance(
    X: np.ndarray,
    sample_ids: Sequence[str],
    feature_ids: Sequence[str],
    *,
    source: object = None,
    units: UnitsOption = "auto",
    sum_rule: SumRule = "equal",
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    all_zero: AllZeroPolicy = "drop",
    locator: CellLocator | None = None,
) -> CheckedTable:
    """Check a samples x features abundance matrix and settle its units.

    Parameters
    ----------
    X
        Samples x features values (anything :func:`numpy.asarray` turns into floats).
    sample_ids, feature_ids
        Ids of the rows and columns.
    source
        The file, named in every error.
    units
        ``"auto"`` to detect (see the module docstring) or one of
        :data:`~synthomics.container.UNITS`.
    sum_rule
        ``"equal"``, ``"at-most"`` or ``"none"``: how relative abundances must sum.
    sum_tolerance
        Relative tolerance of the sum check (default 0.01: 100 +- 1, 1 +- 0.01).
    all_zero
        ``"drop"`` (warn and remove all-zero samples) or ``"error"``.
    locator
        Where cells sit in a text file, to name lines and columns in errors.

    Returns
    -------
    CheckedTable
        The matrix as float64 with all-zero samples handled, and its units.

    Raises
    ------
    InputError
        For any of the problems listed in the module docstring.
    """
    check_options(
        units=units,
        sum_rule=sum_rule,
        all_zero=all_zero,
        sum_tolerance=sum_tolerance,
        source=source,
    )
    sample_ids = [str(s) for s in sample_ids]
    feature_ids = [str(f) for f in feature_ids]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape != (len(sample_ids), len(feature_ids)):
        raise InputError(
            source,
            f"matrix shape {X.shape} does not match {len(sample_ids)} "
            f"samples x {len(feature_ids)} features",
        )
    if X.size == 0:
        raise InputError(
            source,
            f"empty table ({X.shape[0]} samples x {X.shape[1]} features)",
            expected="at least one sample and one feature",
        )

    _check_unique(sample_ids, "sample", source, locator.sample if locator else None)
    _check_unique(feature_ids, "feature", source, locator.feature if locator else None)

    def cell(i: int, j: int) -> str:
        text = f"sample {sample_ids[i]!r}, feature {feature_ids[j]!r}"
        return _where(locator, text, locator.cell(i, j) if locator else None)

    def sample_where(i: int) -> str:
        text = f"sample {sample_ids[i]!r}"
        return _where(locator, text, locator.sample(i) if locator else None)

    bad = ~np.isfinite(X)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(
            source,
            f"value {float(X[i, j])!r} is not a finite number ({int(bad.sum())} such cells in all)",
            where=cell(i, j),
            expected="finite numbers (no NaN or inf)",
        )
    negative = X < 0
    if negative.any():
        i, j = map(int, np.argwhere(negative)[0])
        raise InputError(
            source,
            f"negative value {float(X[i, j])!r} ({int(negative.sum())} negative cells in all)",
            where=cell(i, j),
            expected="non-negative counts or abundances",
        )

    sums = X.sum(axis=1)
    zero = sums == 0
    kept = np.flatnonzero(~zero)
    dropped = [sample_ids[i] for i in np.flatnonzero(zero)]
    if zero.all():
        raise InputError(
            source,
            f"every sample is all zero ({len(sample_ids)} samples)",
            expected="at least one sample with a non-zero value",
        )
    if zero.any():
        listed = ", ".join(repr(s) for s in dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        if all_zero == "error":
            raise InputError(
                source,
                f"{len(dropped)} all-zero sample(s): {listed}",
                where=sample_where(int(np.flatnonzero(zero)[0])),
                expected="samples with at least one non-zero value (or all_zero='drop')",
            )
        warnings.warn(
            f"{source or 'table'}: dropped {len(dropped)} all-zero sample(s): {listed}",
            UserWarning,
            stacklevel=2,
        )
        X = X[kept]
        sums = sums[kept]

    if units == "auto":
        detected = detect_units(X, sum_rule=sum_rule, sum_tolerance=sum_tolerance)
        if detected is None:
            raise InputError(
                source,
                f"cannot tell the units: values are not all integers and sample sums run "
                f"from {sums.min():.6g} to {sums.max():.6g}",
                expected="counts (integers), proportions (samples sum to 1) or percent "
                "(samples sum to 100); pass units='counts' for non-integer counts",
            )
        units = detected

    if units in _TARGET and sum_rule != "none":
        target = _TARGET[units]
        if sum_rule == "equal":
            off = np.abs(sums - target) > sum_tolerance * target
            rule = f"sum to {target:g} within {sum_tolerance * target:g}"
        else:
            off = sums > target * (1.0 + sum_tolerance)
            rule = f"sum to at most {target:g} (+{sum_tolerance * target:g})"
        if off.any():
            k = int(np.flatnonzero(off)[0])
            raise InputError(
                source,
                f"sample sums to {sums[k]:.10g} ({int(off.sum())} samples off)",
                where=sample_where(int(kept[k])),
                expected=f"{units} whose samples {rule}; "
                "set units, sum_rule or sum_tolerance otherwise",
            )

    return CheckedTable(
        X=X,
        sample_ids=[sample_ids[i] for i in kept],
        feature_ids=feature_ids,
        units=str(units),
        kept=kept,
        dropped=dropped,
    )


__all__ = [
    "DEFAULT_SUM_TOLERANCE",
    "CellLocator",
    "CheckedTable",
    "check_options",
    "detect_units",
    "validate_abundance",
]
