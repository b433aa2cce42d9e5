"""The step machinery shared by the microbiome and genotype evaluation protocols.

A protocol computes its metrics in *steps* (one function returning the values of one or
several metrics). :class:`StepRunner` runs each step, records every metric of it (a value,
the error that stopped it, "skipped on request" or why it does not apply, never dropping
one), times the steps and advances the progress bar. :func:`name_sets` names the synthetic
sets, :func:`stream` gives each step its own seeded random stream; the display is
:func:`synthomics.progress.progress_task`.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from synthomics.errors import InputError
from synthomics.metrics.records import MetricResult, MetricSpec, get_spec, judge, make_result
from synthomics.progress import NullTask

Values = dict[str, tuple[float, dict[str, Any]]]
"""What a step returns: ``{metric name: (value, details)}``."""

RESERVED_NAMES = ("real", "real-vs-real floor")
"""Names a synthetic set may not take (they label the real reference and the floor)."""


class StepRunner:
    """Runs metric steps: records values, errors and skips; times steps; shows progress.

    Parameters
    ----------
    skip
        Metric names or report groups not to compute.
    task
        The progress task the steps advance (:mod:`synthomics.progress`; None: none).
    specs
        Metric registry by name (default: the microbiome registry).
    """

    def __init__(
        self,
        skip: frozenset[str],
        task: Any | None,
        specs: Mapping[str, MetricSpec] | None = None,
    ) -> None:
        self.skip = skip
        self.task = task if task is not None else NullTask()
        self.specs = specs
        self.timings: dict[str, float] = {}

    def _spec(self, name: str) -> MetricSpec:
        return self.specs[name] if self.specs is not None else get_spec(name)

    def _result(self, name: str, value: float | None, details: Any = None, **kw: Any):
        return make_result(name, value, details, specs=self.specs, **kw)

    def step(
        self,
        step: str,
        names: Sequence[str],
        compute: Callable[[], Values],
        unavailable: str | None = None,
    ) -> dict[str, MetricResult]:
        """Compute the metrics ``names`` with ``compute`` (unless skipped or unavailable)."""
        out: dict[str, MetricResult] = {}
        wanted = [n for n in names if n not in self.skip and self._spec(n).group not in self.skip]
        for name in names:
            if name not in wanted:
                out[name] = self._result(name, None, status="n/a", error="skipped on request")
        if wanted and unavailable:
            for name in wanted:
                out[name] = self._result(name, None, status="n/a", error=unavailable)
        elif wanted:
            start = time.perf_counter()
            try:
                values = compute()
            except Exception as exc:  # recorded, never dropped
                message = f"{type(exc).__name__}: {exc}"
                for name in wanted:
                    out[name] = self._result(name, None, error=message)
            else:
                for name in wanted:
                    if name in values:
                        value, details = values[name]
                        out[name] = self._result(name, value, details)
                    else:
                        out[name] = self._result(name, None, error="not computed by its step")
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start
        self.advance()
        return out

    def advance(self) -> None:
        """Advance the progress bar by one step."""
        self.task.advance()

    def describe(self, text: str) -> None:
        """Show ``text`` as the progress bar's description."""
        self.task.update(description=text)


def name_sets(synthetic: Any, names: Sequence[str] | None) -> list[tuple[str, Any]]:
    """``[(name, data), ...]`` of the synthetic sets, with unique names.

    ``synthetic`` is one set, a list of sets or a ``{name: set}`` mapping; without names a
    set is called after ``uns["generator"]["name"]`` (or ``"synthetic"``); repeated names
    get ``_2``, ``_3``...
    """
    import anndata as ad

    if isinstance(synthetic, Mapping):
        items = [(str(k), v) for k, v in synthetic.items()]
    else:
        data = [synthetic] if isinstance(synthetic, ad.AnnData | np.ndarray) else list(synthetic)
        if names is not None:
            if len(names) != len(data):
                raise InputError(
                    None,
                    f"{len(names)} names for {len(data)} synthetic sets",
                    expected="one name per synthetic set",
                )
            items = [(str(n), d) for n, d in zip(names, data, strict=True)]
        else:
            items = []
            for d in data:
                generator = getattr(d, "uns", {}).get("generator", {})
                name = generator.get("name") if isinstance(generator, dict) else None
                items.append((str(name or "synthetic"), d))
    if not items:
        raise InputError(None, "no synthetic set given", expected="at least one synthetic set")
    seen: dict[str, int] = {}
    unique = []
    for name, d in items:
        seen[name] = seen.get(name, 0) + 1
        unique.append((name if seen[name] == 1 else f"{name}_{seen[name]}", d))
    if any(name in RESERVED_NAMES for name, _ in unique):
        raise InputError(None, "a synthetic set is named 'real'", expected="another name")
    return unique


def stream(seed: int, key: str) -> np.random.Generator:
    """A random stream for the step ``key`` derived from ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def judged_in_order(
    records: Mapping[str, MetricResult],
    floor: Mapping[str, MetricResult],
    specs: Sequence[MetricSpec],
) -> list[MetricResult]:
    """The records of one set in ``specs`` order, each given its floor and judged against it
    (records that failed or do not apply keep their status).

    The noise allowance of the pass rule is the floor's ``null_se``, when it has one: the
    standard error of two samples of one population is a property of the real data. A
    set's own permutation standard error mixes real and synthetic individuals, and the
    further the set is from the real data the wider it gets, which let a gap many times
    its floor pass.
    """
    out = []
    for spec in specs:
        record = records[spec.name]
        floor_record = floor.get(spec.name)
        record.floor = floor_record.value if floor_record is not None else None
        if record.status not in ("error", "n/a"):
            details = dict(record.details or {})
            floor_se = (floor_record.details or {}).get("null_se") if floor_record else None
            if floor_se is not None and math.isfinite(float(floor_se)):
                details["null_se"] = float(floor_se)
            record.status = judge(record.value, record.floor, spec, details)
        out.append(record)
    return out


def attack_steps(
    run: StepRunner,
    search: Any,
    pairs: Callable[[], tuple[tuple[str, str, int], tuple[str, str, int]]],
    sizes: Mapping[str, Any],
    distance: str,
    unavailable: str | None,
) -> dict[str, MetricResult]:
    """The attacks of both protocols: adversarial accuracy (AATS, privacy loss) and
    membership inference, on a nearest-neighbour ``search`` over the sets ``S`` (synthetic),
    ``R`` (training) and ``H`` (held out).

    ``pairs()`` returns the equal-size (real, synthetic) set names against ``R`` and ``H``
    (:func:`~synthomics.metrics.privacy.adversarial_accuracy_scores`); ``sizes`` are the
    details of :func:`~synthomics.metrics.privacy.membership_inference_score`.
    """
    from synthomics.metrics.privacy import (
        adversarial_accuracy_scores,
        membership_inference_score,
    )

    def aats_step() -> Values:
        return adversarial_accuracy_scores(search, *pairs(), distance)

    def mia_step() -> Values:
        return membership_inference_score(search, sizes)

    out = run.step("aats", ["aats_train", "aats_test", "privacy_loss"], aats_step, unavailable)
    out |= run.step("membership inference", ["membership_inference_auc"], mia_step, unavailable)
    return out
