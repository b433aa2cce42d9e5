"""What an evaluation returns: one :class:`MetricResult` per metric and set, and the
:class:`Evaluation` that holds them with the real-vs-real floor, settings and notes.

:func:`make_result` fills a record's metadata from its
:class:`~synthomics.metrics.specs.MetricSpec`; :meth:`Evaluation.to_dict` is the content of
``metrics.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from synthomics.metrics.specs import FAMILIES, Direction, Family, MetricSpec, Status, get_spec


@dataclass
class MetricResult:
    """One metric computed for one synthetic set (or for the real-vs-real floor).

    Attributes
    ----------
    name, family, direction
        As in the metric's :class:`MetricSpec`.
    value
        The value; ``None`` when the metric failed or does not apply.
    floor
        The value reached by two independent real samples of the same size, where it
        applies (filled in by :func:`~synthomics.metrics.evaluate`).
    target
        The ideal value, where one exists.
    status
        ``"pass"``, ``"warn"``, ``"fail"``, ``"info"`` (no rule), ``"n/a"`` (does not
        apply: no tree, no label...) or ``"error"``.
    details
        Numbers behind the value (sample sizes, per-set summaries, p-values...).
    error
        The error message when ``status == "error"``, the reason when ``"n/a"``.
    """

    name: str
    family: Family
    direction: Direction
    value: float | None
    floor: float | None = None
    target: float | None = None
    status: Status = "info"
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN and infinities become ``None``)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def make_result(
    name: str,
    value: float | None,
    details: dict[str, Any] | None = None,
    *,
    error: str | None = None,
    status: Status | None = None,
    specs: Mapping[str, MetricSpec] | None = None,
) -> MetricResult:
    """A :class:`MetricResult` for the registered metric ``name`` (metadata filled in).

    ``specs`` is the registry to look ``name`` up in, by name (default: :data:`METRICS`;
    the genotype evaluation passes its own).
    """
    spec = specs[name] if specs is not None else get_spec(name)
    value = None if value is None else float(value)
    return MetricResult(
        name=name,
        family=spec.family,
        direction=spec.direction,
        value=value,
        target=spec.target,
        status=status or ("error" if error else "info"),
        details=details or {},
        error=error,
    )


@dataclass
class Evaluation:
    """Everything :func:`~synthomics.metrics.evaluate` found, ready for a report.

    Attributes
    ----------
    omics
        ``"microbiome"`` (the genotype evaluation reuses this class).
    set_names
        The synthetic sets, in input order.
    results
        ``{set name: [MetricResult, ...]}`` in the order of ``specs``; each record carries
        the real-vs-real floor and its pass/fail status.
    floor
        The records of the real-vs-real comparison itself (their values are the floors).
    specs
        The metric registry used (:data:`METRICS` for microbiome data).
    settings
        Seed, sample sizes and caps actually used.
    notes
        Plain sentences on what was subsampled, skipped or assumed.
    figure_data
        Arrays the report draws (per-set summaries, PCoA coordinates...); not serialised.
    timings
        Seconds spent per step.
    """

    omics: str
    set_names: list[str]
    results: dict[str, list[MetricResult]]
    floor: list[MetricResult]
    specs: list[MetricSpec]
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    figure_data: dict[str, Any] = field(default_factory=dict, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    def result(self, set_name: str, metric: str) -> MetricResult:
        """The record of ``metric`` for synthetic set ``set_name``."""
        for record in self.results[set_name]:
            if record.name == metric:
                return record
        raise KeyError(f"no metric {metric!r} for set {set_name!r}")

    def value(self, set_name: str, metric: str) -> float | None:
        """Shortcut for ``result(set_name, metric).value``."""
        return self.result(set_name, metric).value

    def table(self) -> Any:
        """Wide :class:`pandas.DataFrame`: one row per metric, floor and one column per set.

        Columns: ``metric``, ``family``, ``group``, ``better``, ``floor``, then for each
        set ``<set>`` (value) and ``<set> status``.
        """
        import pandas as pd

        rows = []
        for spec in self.specs:
            floor = (
                next(
                    (r.floor for r in self.results[self.set_names[0]] if r.name == spec.name), None
                )
                if self.set_names
                else None
            )
            row: dict[str, Any] = {
                "metric": spec.name,
                "family": spec.family,
                "group": spec.group,
                "better": spec.arrow,
                "floor": floor,
            }
            for name in self.set_names:
                record = self.result(name, spec.name)
                row[name] = record.value
                row[f"{name} status"] = record.status
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{set: {family: {status: count}}}`` over all metrics."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for name in self.set_names:
            per_family: dict[str, dict[str, int]] = {f: {} for f in FAMILIES}
            for record in self.results[name]:
                counts = per_family.setdefault(record.family, {})
                counts[record.status] = counts.get(record.status, 0) + 1
            out[name] = per_family
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: settings, notes, timings, metric specs and records."""
        return _jsonable(
            {
                "omics": self.omics,
                "set_names": self.set_names,
                "settings": self.settings,
                "notes": self.notes,
                "timings_s": self.timings,
                "metrics": [asdict(s) for s in self.specs],
                "floor": [r.to_dict() for r in self.floor],
                "results": {k: [r.to_dict() for r in v] for k, v in self.results.items()},
            }
        )
