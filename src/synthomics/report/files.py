"""Machine-readable outputs of an evaluation: ``metrics.json`` and ``metrics.tsv``.

Both are written atomically (:func:`synthomics.io.atomic.atomic_path`).

``metrics.tsv`` is long: one row per (set, metric), the real-vs-real floor included as
the set ``real-vs-real floor``; columns ``set, metric, family, group, direction, value,
floor, target, status, error``. ``metrics.json`` holds everything
(:meth:`~synthomics.metrics.results.Evaluation.to_dict`): settings, notes, timings, the
metric registry and every record with its details.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from synthomics.io.atomic import atomic_path
from synthomics.metrics.results import Evaluation

FLOOR_SET = "real-vs-real floor"

TSV_COLUMNS = (
    "set",
    "metric",
    "family",
    "group",
    "direction",
    "value",
    "floor",
    "target",
    "status",
    "error",
)


def metrics_frame(evaluation: Evaluation) -> object:
    """The long table written to ``metrics.tsv``, as a :class:`pandas.DataFrame`."""
    import pandas as pd

    groups = {s.name: s.group for s in evaluation.specs}
    rows = []
    for set_name, records in [(FLOOR_SET, evaluation.floor), *evaluation.results.items()]:
        for r in records:
            rows.append(
                {
                    "set": set_name,
                    "metric": r.name,
                    "family": r.family,
                    "group": groups.get(r.name, ""),
                    "direction": r.direction,
                    "value": r.value,
                    "floor": r.floor if set_name != FLOOR_SET else None,
                    "target": r.target,
                    "status": r.status,
                    "error": r.error or "",
                }
            )
    return pd.DataFrame(rows, columns=list(TSV_COLUMNS))


def write_metrics_tsv(evaluation: Evaluation, path: str | os.PathLike[str]) -> Path:
    """Write :func:`metrics_frame` as tab-separated text; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        metrics_frame(evaluation).to_csv(tmp, sep="\t", index=False, float_format="%.10g")
    return path


def write_metrics_json(evaluation: Evaluation, path: str | os.PathLike[str]) -> Path:
    """Write :meth:`Evaluation.to_dict` as indented JSON; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(evaluation.to_dict(), indent=1, allow_nan=False) + "\n", encoding="utf-8"
        )
    return path
