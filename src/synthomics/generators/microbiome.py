"""The microbiome layer of the generator interface: proportions, reads and library sizes.

Input
    Any microbiome container (:mod:`synthomics.container`): counts, proportions or percent.
    Values must be finite and non-negative and every sample must have a non-zero total.
    Counts must be integers; they give the library sizes (row totals). Every table is
    total-sum scaled into :attr:`MicrobiomeTrainingData.proportions`.

Output (:meth:`MicrobiomeGenerator.sample`)
    ``X``: relative abundances (rows sum to 1), ``float64``, the training features in the
    training order, ``var`` copied from the training data.
    ``layers["counts"]``: integer reads, present when the training data were counts (depths
    drawn from the training library sizes, per condition level) or when the caller gives
    ``library_size``. When the training data were counts, ``X`` is the total-sum scaling of
    these reads, so that it is comparable with the training ``X`` after scaling (sampling
    zeros included); otherwise ``X`` is the generator's proportions.
    ``obs``: the condition column (conditional models) and ``library_size``.
    ``uns``: ``omics``, ``units = "proportion"``, the training tree, ``generator`` (name,
    version, seed) and ``privacy_worst_case``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anndata as ad
import numpy as np
import scipy.sparse as sp

from synthomics.errors import InputError
from synthomics.generators.base import Generator, GeneratorOutputError
from synthomics.generators.library_size import (
    LIBRARY_SIZE_KINDS,
    CountModel,
    LibrarySizeKind,
    LibrarySizeModel,
    check_library_sizes,
    depth_key,
    draw_counts,
    presence_preserving_counts,
)

ROW_SUM_TOLERANCE = 1e-9

DrawTransform = Callable[[np.ndarray], np.ndarray]
"""Maps drawn ``n x p`` proportions to new ones (rows summing to one), before reads."""


def abundance_matrix(adata: ad.AnnData, source: object = None) -> np.ndarray:
    """The abundances of a microbiome container as a float array, checked.

    Raises :class:`~synthomics.errors.InputError` (naming ``source``, by default
    ``uns['source_file']``, and the sample and feature) when ``uns['units']`` is not
    ``counts``, ``proportion`` or ``percent``, or a value is not finite, is negative, or a
    sample is all zero.
    """
    source = source if source is not None else adata.uns.get("source_file")
    units = adata.uns.get("units")
    if units not in ("counts", "proportion", "percent"):
        raise InputError(
            source, f"uns['units'] is {units!r}", expected="'counts', 'proportion' or 'percent'"
        )
    X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    X = X.astype(np.float64, copy=False)
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            source,
            f"value {float(X[i, j])!r}",
            where=f"sample {adata.obs_names[i]!r}, feature {adata.var_names[j]!r}",
            expected="finite abundances",
        )
    if (X < 0).any():
        i, j = np.argwhere(X < 0)[0]
        raise InputError(
            source,
            f"negative abundance {float(X[i, j])!r}",
            where=f"sample {adata.obs_names[i]!r}, feature {adata.var_names[j]!r}",
            expected="non-negative abundances",
        )
    totals = X.sum(axis=1)
    empty = np.flatnonzero(totals <= 0)
    if empty.size:
        raise InputError(
            source,
            f"sample {adata.obs_names[empty[0]]!r} is all zero ({empty.size} such samples)",
            expected="samples with at least one non-zero abundance (drop empty samples first)",
        )
    return X


@dataclass(frozen=True)
class MicrobiomeTrainingData:
    """Validated training table handed to :meth:`Generator._fit`.

    Attributes
    ----------
    proportions
        ``n x p`` relative abundances, rows sum to 1.
    codes
        Condition level code of each sample (all 0 without a condition).
    counts
        ``n x p`` integer reads when the input was counts, else None.
    library_sizes
        Row totals of ``counts``, else None.
    """

    proportions: np.ndarray
    codes: np.ndarray
    counts: np.ndarray | None = None
    library_sizes: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return self.proportions.shape[0]

    @property
    def n_features(self) -> int:
        return self.proportions.shape[1]

    def group(self, code: int) -> MicrobiomeTrainingData:
        """The samples of one condition level."""
        rows = np.flatnonzero(self.codes == code)
        return MicrobiomeTrainingData(
            self.proportions[rows],
            self.codes[rows],
            None if self.counts is None else self.counts[rows],
            None if self.library_sizes is None else self.library_sizes[rows],
        )


@dataclass(frozen=True)
class SamplePlan:
    """What :meth:`Generator._sample` must draw.

    Attributes
    ----------
    codes
        Condition level code of each row to draw.
    library_sizes
        Depth of each row, or None when no reads are wanted (proportion training data and
        no ``library_size`` given).
    user_library_sizes
        Whether the caller chose the depths.
    """

    codes: np.ndarray
    library_sizes: np.ndarray | None
    user_library_sizes: bool = False

    @property
    def n(self) -> int:
        return len(self.codes)

    def rows(self, code: int) -> np.ndarray:
        """Indices of the rows of one level."""
        return np.flatnonzero(self.codes == code)


@dataclass
class MicrobiomeDraw:
    """What :meth:`Generator._sample` returns: proportions, and reads if the model made them."""

    proportions: np.ndarray
    counts: np.ndarray | None = None


class MicrobiomeGenerator(Generator):
    """Base of microbiome generators: see the module documentation for input and output.

    Parameters
    ----------
    seed
        Seeds fitting and the stream of sampling seeds.
    library_size
        How training depths are modelled, per condition level: ``"lognormal"`` (a
        log-normal fit, as SparseDOSSA 2), ``"empirical"`` (resampled training depths) or
        ``"matched"`` (the depth of a training sample of about the generated sample's
        richness; generators that draw their own reads, ``dmm``, ``midasim`` and
        ``bootstrap``, keep their own rule and are given depths as ``"empirical"``).
    progress
        Show a progress display during long fits (None: only on a terminal).
    """

    omics: ClassVar[str] = "microbiome"
    count_model: ClassVar[CountModel] = "multinomial"
    """How reads are drawn from generated proportions when the model draws none itself."""

    def __init__(
        self,
        *,
        seed: int = 0,
        library_size: LibrarySizeKind = "lognormal",
        progress: bool | None = None,
    ) -> None:
        super().__init__(seed=seed, progress=progress)
        if library_size not in LIBRARY_SIZE_KINDS:
            raise InputError(
                None,
                f"unknown library_size model {library_size!r}",
                expected=f"one of {', '.join(LIBRARY_SIZE_KINDS)}",
            )
        self.library_size = library_size
        self.library_size_model_: LibrarySizeModel | None = None
        self.units_: str = "proportion"

    def sample(
        self,
        n: int | None = None,
        conditions: Any = None,
        seed: int | None = None,
        *,
        library_size: int | np.ndarray | None = None,
        spike: DrawTransform | None = None,
    ) -> ad.AnnData:
        """Draw synthetic microbiome profiles.

        Parameters
        ----------
        n
            Number of samples (may be left out when ``conditions`` gives the counts).
        conditions
            ``{column: {level: count}}``, e.g. ``{"disease": {"IBD": 100, "control": 200}}``.
        seed
            Makes the draw repeatable (recorded in ``uns["generator"]["seed"]``).
        library_size
            Depth of the reads in ``layers["counts"]``: one integer or one per sample.
            By default depths are drawn from the training library sizes; training data
            without reads (proportions, percent) then get no ``counts`` layer.
        spike
            Changes the drawn proportions before reads are drawn (e.g. a
            :class:`~synthomics.generators.spike_in.SpikePlan`, which spikes known
            associations): called once with the ``n x p`` proportions, returns new ones.
            Reads are then drawn from them at each sample's depth by the model's count
            rule; a model that drew its own reads gets them by presence-preserving
            rounding of the new proportions at the depths of its reads.

        Returns
        -------
        anndata.AnnData
            See the module documentation.
        """
        return super().sample(n, conditions, seed, library_size=library_size, spike=spike)

    # ----------------------------------------------------------------- omics hooks

    def _prepare(self, adata: ad.AnnData, codes: np.ndarray) -> MicrobiomeTrainingData:
        source = adata.uns.get("source_file")
        units = adata.uns.get("units")
        X = abundance_matrix(adata)
        totals = X.sum(axis=1)
        counts = library_sizes = None
        if units == "counts":
            rounded = np.rint(X)
            off = np.abs(X - rounded) > 1e-6
            if off.any():
                i, j = np.argwhere(off)[0]
                raise InputError(
                    source,
                    f"non-integer count {float(X[i, j])!r}",
                    where=f"sample {adata.obs_names[i]!r}, feature {adata.var_names[j]!r}",
                    expected="integer read counts (or set uns['units'] to 'proportion')",
                )
            counts = rounded.astype(np.int64)
            library_sizes = counts.sum(axis=1)
            self.library_size_model_ = LibrarySizeModel.fit(
                library_sizes, codes, self.n_groups, self.library_size, depth_key(counts)
            )
        else:
            self.library_size_model_ = None
        self.units_ = str(units)
        self.training_["units"] = self.units_
        proportions = X / totals[:, None]
        return MicrobiomeTrainingData(proportions, codes, counts, library_sizes)

    def _sample_omics(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        *,
        library_size: int | np.ndarray | None = None,
        spike: DrawTransform | None = None,
    ) -> ad.AnnData:
        from synthomics.container import microbiome_anndata

        n = len(codes)
        if library_size is not None:
            sizes, given = check_library_sizes(library_size, n), True
        elif self.library_size_model_ is not None:
            sizes, given = self.library_size_model_.draw(codes, rng), False
        else:
            sizes, given = None, False
        plan = SamplePlan(codes, sizes, given)
        draw = self._sample(plan, rng)
        proportions = np.asarray(draw.proportions, dtype=np.float64)
        if proportions.shape != (n, len(self.feature_names_)):
            raise GeneratorOutputError(
                f"{self.name} drew proportions of shape {proportions.shape}, "
                f"expected {(n, len(self.feature_names_))}"
            )
        counts = draw.counts
        if spike is not None:
            proportions = np.asarray(spike(proportions), dtype=np.float64)
            if counts is not None:
                # the model's own reads no longer match; its proportions already carry its
                # sampling zeros, so round the new ones at the same depths
                counts = presence_preserving_counts(proportions, counts.sum(axis=1))
        if counts is None and sizes is not None:
            if not given and self.library_size_model_.conditional:
                sizes = self.library_size_model_.draw(codes, rng, depth_key(proportions))
            counts = draw_counts(self.count_model, proportions, sizes, rng)
        if counts is not None and self.units_ == "counts":
            X = counts / counts.sum(axis=1, keepdims=True)
        else:
            X = proportions / proportions.sum(axis=1, keepdims=True)
        width = len(str(n))
        ids = [f"synthetic_{i:0{width}d}" for i in range(1, n + 1)]
        adata = microbiome_anndata(X, ids, self.feature_names_, units="proportion")
        adata.var = self.var_.copy()
        if counts is not None:
            adata.layers["counts"] = np.asarray(counts, dtype=np.int64)
            adata.obs["library_size"] = adata.layers["counts"].sum(axis=1)
        if self.tree_ is not None:
            adata.uns["tree"] = self.tree_
            adata.uns["tree_source"] = self.training_.get("tree_source") or "file"
        return adata

    def _check_output(self, adata: ad.AnnData, codes: np.ndarray) -> None:
        check_microbiome_output(adata, self.feature_names_, len(codes), name=self.name)

    def _omics_state(self) -> dict[str, Any]:
        if self.library_size_model_ is None:
            return {}
        return {f"library_size/{k}": v for k, v in self.library_size_model_.state().items()}

    def _set_omics_state(self, state: dict[str, Any]) -> None:
        lib = {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith("library_size/")}
        self.library_size_model_ = (
            LibrarySizeModel.from_state(self.library_size, lib) if lib else None
        )

    def _omics_manifest(self) -> dict[str, Any]:
        return {"units": self.units_, "count_model": self.count_model}

    def _set_omics_manifest(self, info: dict[str, Any]) -> None:
        self.units_ = info.get("units", "proportion")


def check_microbiome_output(
    adata: ad.AnnData, feature_names: list[str], n: int, *, name: str = "generator"
) -> None:
    """Raise :class:`GeneratorOutputError` unless ``adata`` is a valid synthetic table.

    Checks: ``n`` rows; the training features in order; ``X`` finite, non-negative, rows
    summing to 1 (within 1e-9); ``layers["counts"]`` (when present) non-negative integers
    whose row totals equal ``obs["library_size"]``.
    """
    X = np.asarray(adata.X)
    problems = []
    if adata.n_obs != n:
        problems.append(f"{adata.n_obs} rows instead of {n}")
    if list(map(str, adata.var_names)) != list(feature_names):
        problems.append("features differ from the training features or their order")
    if not np.all(np.isfinite(X)):
        problems.append("non-finite values in X")
    elif (X < 0).any():
        problems.append("negative values in X")
    else:
        sums = X.sum(axis=1)
        worst = float(np.max(np.abs(sums - 1))) if len(sums) else 0.0
        if worst > ROW_SUM_TOLERANCE:
            problems.append(f"a row of X sums to {1 + worst:.12g}, not 1")
    counts = adata.layers.get("counts", None)
    if counts is not None:
        counts = np.asarray(counts)
        if not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
            problems.append("counts are not non-negative integers")
        elif not np.array_equal(counts.sum(axis=1), adata.obs["library_size"].to_numpy()):
            problems.append("obs['library_size'] differs from the row totals of the counts")
    if problems:
        raise GeneratorOutputError(f"{name} produced invalid output: " + "; ".join(problems))


# --------------------------------------------------------------------------- per-level models


@dataclass
class LevelParameters:
    """Learned arrays of one condition level (and small JSON facts about its fit)."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class PerLevelMicrobiomeGenerator(MicrobiomeGenerator):
    """A microbiome generator that fits one independent model per condition level.

    Subclasses implement :meth:`_fit_level` and :meth:`_sample_level`; conditioning,
    state saving and the level bookkeeping are done here. (Models with shared,
    condition-specific parameters, such as the diffusion model, implement ``_fit`` and
    ``_sample`` directly instead.)
    """

    def _fit(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> None:
        task = self.fit_progress.task(f"{self.name}: fitting levels", total=self.n_groups)
        self.levels_: list[LevelParameters] = []
        for code in range(self.n_groups):
            self._current_level = self.group_name(code)
            self.levels_.append(self._fit_level(data.group(code), rng))
            task.advance()

    def _sample(self, plan: SamplePlan, rng: np.random.Generator) -> MicrobiomeDraw:
        p = len(self.feature_names_)
        proportions = np.zeros((plan.n, p))
        counts = np.zeros((plan.n, p), dtype=np.int64)
        with_reads = []
        for code in np.unique(plan.codes):
            rows = plan.rows(code)
            sizes = None if plan.library_sizes is None else plan.library_sizes[rows]
            draw = self._sample_level(
                self.levels_[code], len(rows), sizes, plan.user_library_sizes, rng
            )
            proportions[rows] = draw.proportions
            with_reads.append(draw.counts is not None)
            if draw.counts is not None:
                counts[rows] = draw.counts
        if any(with_reads) and not all(with_reads):
            raise GeneratorOutputError(f"{self.name} drew reads for some levels only")
        return MicrobiomeDraw(proportions, counts if all(with_reads) else None)

    def _get_state(self) -> dict[str, Any]:
        state = {}
        for code, level in enumerate(self.levels_):
            for key, value in level.arrays.items():
                state[f"level{code}/{key}"] = np.asarray(value)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self.levels_ = [LevelParameters() for _ in range(self.n_groups)]
        for key, value in state.items():
            prefix, name = key.split("/", 1)
            self.levels_[int(prefix[len("level") :])].arrays[name] = value
        for level, info in zip(self.levels_, getattr(self, "_level_info", []), strict=False):
            level.info = info

    def _model_manifest(self) -> dict[str, Any]:
        return {"levels": [level.info for level in self.levels_]}

    def _set_model_manifest(self, info: dict[str, Any]) -> None:
        self._level_info = list(info.get("levels", []))

    def _fit_level(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> LevelParameters:
        """Fit the model to the samples of one level."""
        raise NotImplementedError

    def _sample_level(
        self,
        params: LevelParameters,
        n: int,
        library_sizes: np.ndarray | None,
        user_library_sizes: bool,
        rng: np.random.Generator,
    ) -> MicrobiomeDraw:
        """Draw ``n`` rows of one level (``library_sizes`` may be None: no reads wanted)."""
        raise NotImplementedError
