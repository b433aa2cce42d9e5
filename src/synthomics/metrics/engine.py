# Over 450 lines: the one evaluation run of both omics (sets and caps, the real-vs-real floor,
# the step runner and step tables, the utility steps, the results), kept together on purpose.
"""The evaluation engine shared by the microbiome and genotype protocols.

A protocol (:func:`synthomics.metrics.evaluate`,
:func:`synthomics.metrics.evaluate_genotypes`) supplies its data type, its metric registry
and the steps of each family; the engine does the rest, the same way for both omics:

- :func:`check_skip` and :func:`name_sets` check the request and name the synthetic sets;
- :func:`capped` caps a set's size, :func:`cap_note` says so in the notes;
- :func:`fidelity_split` draws the common fidelity size, the real reference and the real
  set that stands in for a synthetic one (the real-vs-real floor), :func:`draw_candidates`
  the synthetic sets at that size, :func:`privacy_halves` the two real halves of the
  privacy floor, :func:`utility_setup` the utility data or why there is none;
- each protocol declares its steps in tables of :class:`Step` (name, metrics it fills,
  computation), which :func:`run_table` runs; the attacks are shared (:data:`ATTACK_STEPS`);
- :func:`run_evaluation` runs the floor and every set's steps with a :class:`StepRunner`
  (which records every metric of a step: a value, the error that stopped it, "skipped on
  request" or why it does not apply, never dropping one; times the steps and advances the
  progress bar), judges each set against the floor and returns the
  :class:`~synthomics.metrics.results.Evaluation`.

:func:`stream` gives each step its own seeded random stream; the display is
:func:`synthomics.progress.progress_task`.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from synthomics.errors import InputError
from synthomics.metrics.profiles import subsample
from synthomics.metrics.results import Evaluation, MetricResult, make_result
from synthomics.metrics.specs import MetricSpec, get_spec, judge
from synthomics.progress import NullTask, progress_task

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

    def record(self, name: str, value: float | None, details: Any = None, **kw: Any):
        """A :class:`MetricResult` of ``name`` from this runner's registry."""
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
                out[name] = self.record(name, None, status="n/a", error="skipped on request")
        if wanted and unavailable:
            for name in wanted:
                out[name] = self.record(name, None, status="n/a", error=unavailable)
        elif wanted:
            start = time.perf_counter()
            try:
                values = compute()
            except Exception as exc:  # recorded, never dropped
                message = f"{type(exc).__name__}: {exc}"
                for name in wanted:
                    out[name] = self.record(name, None, error=message)
            else:
                for name in wanted:
                    if name in values:
                        value, details = values[name]
                        out[name] = self.record(name, value, details)
                    else:
                        out[name] = self.record(name, None, error="not computed by its step")
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


# --------------------------------------------------------------------------- the sets


class SampleSet(Protocol):
    """What the engine needs of a set of samples (microbiome profiles, genotypes)."""

    @property
    def n_samples(self) -> int: ...

    def subset(self, rows: np.ndarray, name: str | None = None) -> Any: ...


S = TypeVar("S", bound=SampleSet)

Draw = Callable[[str], np.random.Generator]
"""The random stream of a subsampling step, by its key (:func:`stream`, or one shared
generator whatever the key)."""


def check_skip(skip: Sequence[str], specs: Sequence[MetricSpec], registry: str) -> None:
    """Raise :class:`InputError` unless every name in ``skip`` is a metric or a group of
    ``specs`` (the registry called ``registry`` in the message)."""
    known = {s.name for s in specs} | {s.group for s in specs}
    unknown = [s for s in skip if s not in known]
    if unknown:
        raise InputError(
            None,
            f"unknown metric or group to skip: {unknown}",
            expected=f"names from {registry} or their groups",
        )


def capped(s: S, max_n: int, rng: np.random.Generator) -> S:
    """``s`` with at most ``max_n`` samples (a seeded subsample, rows kept in order)."""
    return s.subset(subsample(s.n_samples, max_n, rng))


def cap_note(full: Any, capped: Any, unit: str, option: str, max_n: int, seed: int) -> str | None:
    """The note that ``capped`` holds fewer samples than ``full`` (``None`` if it does not),
    naming the ``option`` that set the cap ``max_n``; ``unit`` is ``"sample"``..."""
    if capped.n_samples >= full.n_samples:
        return None
    return (
        f"{full.name}: {capped.n_samples:,} of {full.n_samples:,} {unit}s used "
        f"({option} = {max_n:,}, seed {seed})."
    )


@dataclass
class FidelitySplit:
    """The real sets of the fidelity comparisons, at the common size ``n``.

    Attributes
    ----------
    n
        Samples per set in every fidelity comparison.
    reference
        ``n`` real test samples, named ``"real"``: every set is compared with them.
    floor
        ``n`` other real samples, named ``"real (floor)"``, in a synthetic set's place.
    source
        ``"train"`` (the floor set is drawn from the training set) or ``"test halves"``
        (without a training set: the reference and the floor set are the two halves of
        the test set).
    """

    n: int
    reference: Any
    floor: Any
    source: str


def fidelity_split(
    test: S,
    train: S | None,
    synthetic_sizes: Sequence[int],
    draw: Draw,
    min_n: int,
    unit: str,
    hint: str = "",
) -> FidelitySplit:
    """The common fidelity size, the real reference and the floor set.

    ``n`` is the smallest of the test set, the synthetic sets and the training set; the
    reference and the floor set are seeded subsamples of the test and the training set
    (draws ``"fidelity real"``, ``"fidelity floor"``). Without a training set (or one
    under 2 samples) the test set is split in two halves of ``n`` at most (draw
    ``"fidelity halves"``).

    Raises
    ------
    InputError
        If fewer than ``min_n`` ``unit``\\ s per set remain (``hint`` follows the expected
        sizes).
    """
    n = min([test.n_samples, *synthetic_sizes])
    if train is not None and train.n_samples >= 2:
        n = min(n, train.n_samples)
        reference = test.subset(subsample(test.n_samples, n, draw("fidelity real")), "real")
        floor = train.subset(subsample(train.n_samples, n, draw("fidelity floor")), "real (floor)")
        source = "train"
    else:
        n = min(n, test.n_samples // 2)
        order = draw("fidelity halves").permutation(test.n_samples)
        reference = test.subset(np.sort(order[:n]), "real")
        floor = test.subset(np.sort(order[n : 2 * n]), "real (floor)")
        source = "test halves"
    if n < min_n:
        raise InputError(
            None,
            f"only {n} {unit}(s) per set to compare",
            expected=f"at least {min_n} real and {min_n} synthetic {unit}s{hint}",
        )
    return FidelitySplit(n, reference, floor, source)


def draw_candidates(
    sets: Sequence[tuple[str, S]], n: int, rng_of: Callable[[str], np.random.Generator]
) -> list[tuple[str, S]]:
    """Each synthetic set subsampled to ``n`` with its own stream ``rng_of(name)``."""
    return [(name, s.subset(subsample(s.n_samples, n, rng_of(name)), name)) for name, s in sets]


def privacy_halves(test: S, rng: np.random.Generator) -> tuple[S, S, int]:
    """The privacy floor's sets: two disjoint halves of the test set, ``"real half A"`` in a
    synthetic set's place and ``"real half B"`` held out; and the half size."""
    half = test.n_samples // 2
    order = rng.permutation(test.n_samples)
    a = test.subset(np.sort(order[:half]), "real half A")
    b = test.subset(np.sort(order[half : 2 * half]), "real half B")
    return a, b, half


@dataclass
class UtilityData:
    """The real side of the utility metrics, shared by every synthetic set.

    Attributes
    ----------
    columns
        Features (taxa, variants) the classifiers use.
    train, test
        ``(features, labels)`` of the labelled real training and test samples.
    features
        ``(features, labels)`` of a synthetic set's labelled samples, like ``train``.
    trtr, baseline
        Scores of the real-trained classifiers and of the augmentation baseline, computed
        by the first set and reused by the others.
    """

    columns: np.ndarray
    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    features: Callable[[Any], tuple[np.ndarray, np.ndarray]]
    trtr: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline: dict[float, float] = field(default_factory=dict)


@dataclass(frozen=True)
class UtilityModels:
    """The classifiers of one omics' utility metrics.

    ``kinds`` are the TSTR classifiers (metrics ``tstr_ratio_<kind>``); ``fit_and_score``
    fits one on ``(X, y)`` and scores it on ``(X_test, y_test)``; ``tstr_ratio`` and
    ``augmentation`` compute the TSTR ratio and the augmentation gain
    (:mod:`synthomics.metrics.utility`, :mod:`synthomics.metrics.genotype.utility`).
    """

    kinds: tuple[str, ...]
    fit_and_score: Callable[..., dict[str, float]]
    tstr_ratio: Callable[..., tuple[float, dict[str, Any]]]
    augmentation: Callable[..., tuple[float, dict[str, Any]]]

    @property
    def tstr_names(self) -> tuple[str, ...]:
        return tuple(f"tstr_ratio_{kind}" for kind in self.kinds)

    @property
    def names(self) -> tuple[str, ...]:
        """The utility metrics, in step order."""
        return (*self.tstr_names, "augmentation_gain")


@dataclass
class Utility:
    """The utility metrics of one evaluation: the classifiers, the real data they learn
    from (``data``; ``None`` with the reason ``unavailable``), the label, the seed and the
    shares of the real training set in the augmentation metric."""

    models: UtilityModels
    data: UtilityData | None
    unavailable: str | None
    label: str | None
    seed: int
    fractions: tuple[float, ...]


def utility_setup(
    models: UtilityModels,
    label: str | None,
    train: Any | None,
    build: Callable[[], UtilityData],
    seed: int,
    fractions: Sequence[float],
) -> Utility:
    """The :class:`Utility` of an evaluation, its data from ``build()``; without a label,
    a training set, or when ``build`` raises :class:`InputError`, the reason instead."""
    data, unavailable = None, None
    if label is None:
        unavailable = "needs a label column (label=...)"
    elif train is None:
        unavailable = "needs the training set (train=...)"
    else:
        try:
            data = build()
        except InputError as exc:
            unavailable = str(exc)
    return Utility(models, data, unavailable, label, seed, tuple(fractions))


def utility_steps(
    run: StepRunner, cand: Any, utility: Utility, figures: dict[str, Any] | None
) -> dict[str, MetricResult]:
    """The utility metrics of the synthetic set ``cand``: one TSTR ratio per classifier
    kind, then the augmentation gain (``"n/a"`` when the utility is unavailable)."""
    models, data, label, seed = utility.models, utility.data, utility.label, utility.seed

    def tstr_step(kind: str) -> Values:
        synthetic = data.features(cand)
        if kind not in data.trtr:
            data.trtr[kind] = models.fit_and_score(kind, *data.train, *data.test, seed=seed)
        ratio, details = models.tstr_ratio(
            kind, data.train, synthetic, data.test, seed, trtr=data.trtr[kind]
        )
        details = {**details, "label": label, "n_synthetic": len(synthetic[1])}
        return {f"tstr_ratio_{kind}": (ratio, details)}

    def augmentation_step() -> Values:
        synthetic = data.features(cand)
        gain, details = models.augmentation(
            data.train, synthetic, data.test, utility.fractions, seed, baseline=data.baseline
        )
        if figures is not None:
            figures.setdefault("augmentation", {})[cand.name] = details
        return {"augmentation_gain": (gain, {**details, "label": label})}

    unavailable = utility.unavailable
    out: dict[str, MetricResult] = {}
    for kind, name in zip(models.kinds, models.tstr_names, strict=True):
        out |= run.step(f"tstr {kind}", [name], lambda kind=kind: tstr_step(kind), unavailable)
    out |= run.step("augmentation", ["augmentation_gain"], augmentation_step, unavailable)
    return out


# --------------------------------------------------------------------------- the run

Steps = Callable[[StepRunner], dict[str, MetricResult]]
"""Steps run on a runner, returning the records they fill."""

SetSteps = Callable[[StepRunner, str], dict[str, MetricResult]]
"""The steps of one family for the synthetic set of the given name."""

TSTR_DEFINITION = {"definition": "TRTR / TRTR"}


def run_evaluation(
    *,
    omics: str,
    specs: Sequence[MetricSpec],
    skip: frozenset[str],
    progress: bool,
    title: str,
    steps_per_set: int,
    floor_steps: Steps,
    sets: Mapping[str, Any],
    fidelity: SetSteps,
    privacy: SetSteps,
    utility: Utility,
    prepare: Callable[[StepRunner], None] | None = None,
    figures: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> Evaluation:
    """Run the floor and every synthetic set, judge each set against the floor.

    ``prepare`` runs first (precomputations on the real reference). The floor is
    ``floor_steps`` (fidelity and privacy with real sets in the synthetic set's place)
    plus the ``utility`` metrics, which are ``"n/a"`` (a real set's utility is defined by
    construction; the TSTR ratios are 1, ``"info"``, when the utility can be computed).
    Then each set of ``sets`` (``{name: set}``, the set its utility is computed on) runs
    its ``fidelity``, ``privacy`` and utility steps, shown as ``"<name>: <family>"``.
    Settings are left for the protocol to fill.
    """
    figures = {} if figures is None else figures
    by_name = {s.name: s for s in specs}
    results: dict[str, list[MetricResult]] = {}
    total = steps_per_set * (len(sets) + 1)
    with progress_task(progress, title, total) as task:
        run = StepRunner(skip, task, by_name)
        if prepare is not None:
            prepare(run)
        run.describe("real-vs-real floor")
        floor = floor_steps(run)
        for name in utility.models.names:
            reason = utility.unavailable or "defined by construction"
            floor[name] = run.record(name, None, status="n/a", error=reason)
            run.advance()
        if utility.unavailable is None:
            for name in utility.models.tstr_names:
                floor[name] = run.record(name, 1.0, dict(TSTR_DEFINITION), status="info")
        for name, full in sets.items():
            run.describe(f"{name}: fidelity")
            records = fidelity(run, name)
            run.describe(f"{name}: privacy")
            records |= privacy(run, name)
            run.describe(f"{name}: utility")
            records |= utility_steps(run, full, utility, figures)
            results[name] = judged_in_order(records, floor, specs)
        run.describe("done")
    return Evaluation(
        omics=omics,
        set_names=list(sets),
        results=results,
        floor=[floor[s.name] for s in specs],
        specs=list(specs),
        notes=notes if notes is not None else [],
        figure_data=figures,
        timings=run.timings,
    )


# --------------------------------------------------------------------------- step tables


@dataclass(frozen=True)
class Step:
    """One row of a protocol's step table: the step's name (timings, progress), the metrics
    it fills (in registry names), and how it computes them from the comparison at hand.

    ``compute(case)`` returns :data:`Values`; ``needs(case)``, when given, says why the step
    cannot run on this case (no tree, no training set), or ``None``.
    """

    name: str
    metrics: tuple[str, ...]
    compute: Callable[[Any], Values]
    needs: Callable[[Any], str | None] | None = None


def run_table(run: StepRunner, table: Sequence[Step], case: Any) -> dict[str, MetricResult]:
    """Run every step of ``table`` on ``case``, in order; the records of all their metrics."""
    out: dict[str, MetricResult] = {}
    for step in table:
        unavailable = step.needs(case) if step.needs is not None else None
        out |= run.step(step.name, step.metrics, lambda step=step: step.compute(case), unavailable)
    return out


@dataclass
class PrivacyCase:
    """One privacy comparison: ``cand`` (a synthetic set, or real samples in its place)
    against the training set ``train``, calibrated by the held-out ``holdout``.

    ``search`` is the nearest-neighbour search over the sets ``S`` (synthetic), ``R``
    (training) and ``H`` (held out), on the ``distance`` named; ``sizes`` the set sizes
    for the details; ``pairs()`` the equal-size (real, synthetic) set names against ``R``
    and ``H`` (:func:`~synthomics.metrics.privacy.adversarial_accuracy_scores`).
    ``search`` is ``None`` without a training set.
    """

    cand: Any
    train: Any | None
    holdout: Any
    search: Any | None
    sizes: dict[str, Any]
    distance: str
    pairs: Callable[[], tuple[tuple[str, str, int], tuple[str, str, int]]]
    figures: dict[str, Any] | None


def needs_train(case: PrivacyCase) -> str | None:
    """Why a privacy step cannot run: no training set."""
    return None if case.train is not None else "needs the training set (train=...)"


def _aats_step(case: PrivacyCase) -> Values:
    from synthomics.metrics.privacy import adversarial_accuracy_scores

    return adversarial_accuracy_scores(case.search, *case.pairs(), case.distance)


def _membership_step(case: PrivacyCase) -> Values:
    from synthomics.metrics.privacy import membership_inference_score

    return membership_inference_score(case.search, case.sizes)


ATTACK_STEPS: tuple[Step, ...] = (
    Step("aats", ("aats_train", "aats_test", "privacy_loss"), _aats_step, needs_train),
    Step("membership inference", ("membership_inference_auc",), _membership_step, needs_train),
)
"""The attacks of both protocols: adversarial accuracy (AATS, privacy loss) and membership
inference, on a :class:`PrivacyCase`."""
