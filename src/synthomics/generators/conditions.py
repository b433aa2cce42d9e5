"""Conditional generation: the condition a generator was fitted on, and the rows to draw.

:func:`condition_codes` turns a categorical ``obs`` column into level codes and a
:class:`ConditionSpec`; :func:`plan_condition_rows` turns ``n`` or
``{column: {level: count}}`` into the level code of every row to generate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError

__all__ = ["ConditionSpec", "Conditions", "check_count", "condition_codes", "plan_condition_rows"]

Conditions = Mapping[str, Mapping[str, int]]
"""Requested rows per condition level, e.g. ``{"disease": {"IBD": 100, "control": 200}}``."""


@dataclass(frozen=True)
class ConditionSpec:
    """The categorical column a generator was fitted on and its levels, in order."""

    column: str
    levels: tuple[str, ...]
    frequencies: tuple[float, ...]


def condition_codes(adata: ad.AnnData, column: str) -> tuple[np.ndarray, ConditionSpec]:
    """Integer code of each sample's level of ``obs[column]`` and the level list.

    Levels are the observed values as strings: the category order for a categorical
    column, sorted otherwise.

    Raises
    ------
    InputError
        If the column is absent, has missing values, or has a single level.
    """
    source = adata.uns.get("source_file")
    if column not in adata.obs.columns:
        raise InputError(
            source,
            f"no sample metadata column {column!r} to condition on",
            expected=f"one of {sorted(map(str, adata.obs.columns))}",
        )
    values = adata.obs[column]
    missing = values.isna().to_numpy()
    if missing.any():
        ids = adata.obs_names[missing]
        raise InputError(
            source,
            f"sample {ids[0]!r} has no value in condition column {column!r} "
            f"({int(missing.sum())} samples in all)",
            expected="a level for every sample (drop or label those samples first)",
        )
    if isinstance(values.dtype, pd.CategoricalDtype):
        observed = set(values.astype(str))
        levels = [str(c) for c in values.cat.categories if str(c) in observed]
    else:
        levels = sorted({str(v) for v in values})
    strings = values.astype(str).to_numpy()
    codes = np.asarray(pd.Categorical(strings, categories=levels).codes, dtype=np.int64)
    frequencies = np.bincount(codes, minlength=len(levels)) / len(codes)
    spec = ConditionSpec(str(column), tuple(levels), tuple(float(f) for f in frequencies))
    return codes, spec


def plan_condition_rows(
    n: int | None,
    conditions: Conditions | None,
    spec: ConditionSpec | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Level code of every row to generate, grouped by level in the requested order.

    Parameters
    ----------
    n
        Rows wanted; may be None when ``conditions`` gives the counts.
    conditions
        ``{column: {level: count}}``; requires a conditional model.
    spec
        The model's condition, None for an unconditional model.
    rng
        Draws the level of each row from the training frequencies when a conditional
        model is sampled without ``conditions``.

    Returns
    -------
    numpy.ndarray
        ``int64`` codes (all zero for an unconditional model).

    Raises
    ------
    InputError
        For an unknown column or level, negative or non-integer counts, or an ``n`` that
        disagrees with the counts.
    """
    if conditions is None:
        if n is None:
            raise InputError(None, "no number of samples given", expected="n or conditions")
        n = check_count(n, "n")
        if n == 0:
            raise InputError(None, "zero rows requested", expected="at least one row")
        if spec is None:
            return np.zeros(n, dtype=np.int64)
        per_level = rng.multinomial(n, np.asarray(spec.frequencies))
        return np.repeat(np.arange(len(spec.levels)), per_level).astype(np.int64)
    if not isinstance(conditions, Mapping) or not conditions:
        raise InputError(
            None,
            f"conditions {conditions!r} are not a mapping",
            expected='{"column": {"level": count, ...}}',
        )
    if spec is None:
        raise InputError(
            None,
            f"conditions {sorted(conditions)} given to a model fitted without a condition",
            expected="no conditions, or a model fitted with condition=COLUMN",
        )
    unknown_columns = [c for c in conditions if c != spec.column]
    if unknown_columns:
        raise InputError(
            None,
            f"unknown condition column {unknown_columns[0]!r}",
            expected=f"the column the model was fitted on, {spec.column!r}",
        )
    requested = conditions[spec.column]
    if not isinstance(requested, Mapping) or not requested:
        raise InputError(
            None,
            f"condition {spec.column!r} has no level counts ({requested!r})",
            expected='{"level": count, ...}',
        )
    codes: list[np.ndarray] = []
    for level, count in requested.items():
        if str(level) not in spec.levels:
            raise InputError(
                None,
                f"unknown level {str(level)!r} of condition {spec.column!r}",
                expected=f"one of {list(spec.levels)}",
            )
        count = check_count(count, f"count of level {level!r}")
        codes.append(np.full(count, spec.levels.index(str(level)), dtype=np.int64))
    plan = np.concatenate(codes)
    if n is not None and check_count(n, "n") != len(plan):
        raise InputError(
            None,
            f"n = {n} disagrees with the {len(plan)} rows requested per level",
            expected="n equal to the sum of the level counts, or n left out",
        )
    if len(plan) == 0:
        raise InputError(None, "zero rows requested", expected="at least one row")
    return plan


def check_count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(None, f"{what} is {value!r}", expected="a non-negative integer")
    return int(value)
