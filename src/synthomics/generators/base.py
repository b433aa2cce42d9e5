"""The face every synthomics generator shares: ``fit``, ``sample``, ``save``, ``load``.

A template method in the synthcity style. The public methods of :class:`Generator` do the
work that is the same for every model (seeding, validating the input and the requested
conditions, recording what the model was trained on, checking the output, saving and
loading); subclasses implement only

``_fit(data, rng)``
    learn from the prepared training data;
``_sample(plan, rng)``
    draw the rows described by ``plan``;
``_get_state()`` / ``_set_state(state)``
    the learned arrays (NumPy arrays or torch tensors) for :meth:`Generator.save`.

What differs between omics lives in an omics layer between the two, with one hook per
step: :class:`~synthomics.generators.microbiome.MicrobiomeGenerator` (proportions, read
counts and library sizes; output rows non-negative and summing to one) and
:class:`~synthomics.generators.genotype.GenotypeGenerator` (0/1/2 dosages or 0/1
haplotypes). The hooks are ``_prepare`` (AnnData -> training data), ``_sample_omics``
(plan -> AnnData), ``_check_output``, ``_omics_state`` / ``_set_omics_state`` and
``_omics_manifest`` / ``_set_omics_manifest``.

Saved models are a folder with ``manifest.json`` (name, version, configuration, seed,
features, taxonomy or variant table, preprocessing, condition levels), ``arrays.safetensors``
(NumPy arrays), ``tensors.safetensors`` (torch tensors, when the model has any) and
``tree.nwk`` when the training data carried a tree. Nothing is pickled; loading executes no
code from the files. The manifest is written last, so a folder with one holds a complete
model.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError, SynthomicsError
from synthomics.io.atomic import atomic_path

MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.safetensors"
TENSORS_FILE = "tensors.safetensors"
TREE_FILE = "tree.nwk"
FORMAT = "synthomics-generator"
FORMAT_VERSION = 1

Conditions = Mapping[str, Mapping[str, int]]
"""Requested rows per condition level, e.g. ``{"disease": {"IBD": 100, "control": 200}}``."""


class GeneratorOutputError(SynthomicsError, RuntimeError):
    """A generator produced output that breaks the contract (a bug, not bad input)."""


class NotFittedError(SynthomicsError, RuntimeError):
    """``sample`` or ``save`` was called before ``fit``."""


# --------------------------------------------------------------------------- progress


class _NullTask:
    def advance(self, steps: float = 1) -> None:
        """Do nothing."""

    def update(self, **fields: Any) -> None:
        """Do nothing."""


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, steps: float = 1) -> None:
        self._progress.advance(self._id, steps)

    def update(self, **fields: Any) -> None:
        self._progress.update(self._id, **fields)


class FitProgress:
    """One rich progress display per fit; generators add tasks to it.

    Disabled (every call a no-op) unless ``enabled``. A single display is shared because
    rich allows only one live display at a time.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None

    @contextlib.contextmanager
    def running(self) -> Iterator[FitProgress]:
        """Show the display while the block runs."""
        if not self.enabled:
            yield self
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        ) as progress:
            self._progress = progress
            try:
                yield self
            finally:
                self._progress = None

    def task(self, description: str, total: float | None = None) -> _NullTask | _RichTask:
        """Add a task (a bar with ``total`` steps, or a spinner when ``total`` is None)."""
        if self._progress is None:
            return _NullTask()
        return _RichTask(self._progress, self._progress.add_task(description, total=total))


# --------------------------------------------------------------------------- conditions


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
        n = _check_count(n, "n")
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
        count = _check_count(count, f"count of level {level!r}")
        codes.append(np.full(count, spec.levels.index(str(level)), dtype=np.int64))
    plan = np.concatenate(codes)
    if n is not None and _check_count(n, "n") != len(plan):
        raise InputError(
            None,
            f"n = {n} disagrees with the {len(plan)} rows requested per level",
            expected="n equal to the sum of the level counts, or n left out",
        )
    if len(plan) == 0:
        raise InputError(None, "zero rows requested", expected="at least one row")
    return plan


def _check_count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(None, f"{what} is {value!r}", expected="a non-negative integer")
    return int(value)


# --------------------------------------------------------------------------- JSON helpers


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (NumPy scalars and arrays, tuples, NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Index | pd.Series):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns of ``frame`` as JSON lists with their dtypes (the index is stored separately)."""
    return {
        "columns": {str(c): jsonable(frame[c].astype(object).to_numpy()) for c in frame.columns},
        "dtypes": {str(c): str(frame[c].dtype) for c in frame.columns},
    }


def frame_from_json(stored: Mapping[str, Any], index: list[str]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_json`: numbers, booleans and categories get their dtype
    back; other columns are objects with NaN for missing values."""
    frame = pd.DataFrame(index=pd.Index(index))
    dtypes = stored.get("dtypes", {})
    for name, values in stored.get("columns", {}).items():
        column = pd.Series(values, index=frame.index, dtype=object)
        column = column.where(column.notna(), np.nan)
        dtype = dtypes.get(name, "object")
        if dtype == "category":
            column = column.astype("category")
        elif dtype != "object" and not (dtype.startswith(("int", "bool")) and column.isna().any()):
            with contextlib.suppress(TypeError, ValueError):
                column = column.astype(dtype)
        frame[name] = column
    return frame


# --------------------------------------------------------------------------- the base class


class Generator(ABC):
    """Base class of every generator: the shared ``fit``/``sample``/``save``/``load``.

    Subclasses set the class attributes and implement :meth:`_fit`, :meth:`_sample`,
    :meth:`_get_state` and :meth:`_set_state`. Every constructor argument must be stored
    as an attribute of the same name and be JSON-serialisable (it is saved in the
    manifest and passed back to the constructor by :meth:`load`).

    Parameters
    ----------
    seed
        Seeds fitting, and the stream of sampling seeds used when ``sample`` gets none.
    progress
        Show a rich progress display during long fits; None (default) shows it only when
        standard error is a terminal. Not saved.

    Attributes
    ----------
    feature_names_
        Training feature ids, in order; every sample has these columns in this order.
    condition_
        The :class:`ConditionSpec` of a conditional fit, else None.
    """

    name: ClassVar[str] = "generator"
    """Registry name."""
    omics: ClassVar[str] = "any"
    """``"microbiome"`` or ``"genotype"``."""
    description: ClassVar[str] = ""
    """One line for ``synthomics models``."""
    reference: ClassVar[str] = ""
    """The paper the model follows."""
    privacy_worst_case: ClassVar[bool] = False
    """True for generators that copy training rows (flagged in every output)."""
    min_samples_per_level: ClassVar[int] = 2
    """Fewest training samples per condition level the model accepts."""
    fast_config: ClassVar[dict[str, Any]] = {}
    """Constructor options for a quick smoke fit on a tiny table (contract tests, demos)."""

    def __init__(self, *, seed: int = 0, progress: bool | None = None) -> None:
        self.seed = _check_count(seed, "seed")
        self.progress = progress
        self._fitted = False
        self._seed_stream = np.random.default_rng([self.seed, 1])
        self.feature_names_: list[str] = []
        self.var_: pd.DataFrame = pd.DataFrame()
        self.condition_: ConditionSpec | None = None
        self.preprocessing_: Any = None
        self.training_: dict[str, Any] = {}
        self.tree_: str | None = None

    # ----------------------------------------------------------------- public API

    def fit(self, adata: ad.AnnData, condition: str | None = None) -> Generator:
        """Learn the distribution of ``adata`` (optionally per level of ``obs[condition]``).

        Parameters
        ----------
        adata
            Training data following :mod:`synthomics.container`.
        condition
            A categorical ``obs`` column; ``sample`` can then ask for rows per level.

        Returns
        -------
        Generator
            ``self``, fitted.

        Raises
        ------
        InputError
            If ``adata`` is not a container of this generator's omics or its values are
            invalid (see the omics layer), or ``condition`` is unusable.
        """
        if not isinstance(adata, ad.AnnData):
            raise InputError(
                None, f"training data is a {type(adata).__name__}", expected="an AnnData"
            )
        self._check_omics(adata)
        if adata.n_obs == 0 or adata.n_vars == 0:
            raise InputError(
                adata.uns.get("source_file"),
                f"empty training data ({adata.n_obs} samples x {adata.n_vars} features)",
                expected="at least one sample and one feature",
            )
        if condition is not None:
            codes, spec = condition_codes(adata, condition)
        else:
            codes, spec = np.zeros(adata.n_obs, dtype=np.int64), None
        self._check_level_sizes(adata, codes, spec)
        _seed_frameworks(self.seed)
        rng = np.random.default_rng(self.seed)
        self.condition_ = spec
        self.feature_names_ = [str(f) for f in adata.var_names]
        self.var_ = adata.var.copy()
        self.preprocessing_ = jsonable(adata.uns.get("preprocessing"))
        tree = adata.uns.get("tree")
        self.tree_ = str(tree) if tree is not None else None
        source = adata.uns.get("source_file")
        self.training_ = {
            "n_samples": int(adata.n_obs),
            "n_features": int(adata.n_vars),
            "source_file": Path(str(source)).name if source is not None else None,
            "tree_source": adata.uns.get("tree_source"),
        }
        data = self._prepare(adata, codes)
        with FitProgress(self._progress_enabled()).running() as progress:
            self._fit_progress = progress
            try:
                self._fit(data, rng)
            finally:
                self._fit_progress = FitProgress(False)
        self._fitted = True
        return self

    def sample(
        self,
        n: int | None = None,
        conditions: Conditions | None = None,
        seed: int | None = None,
        **options: Any,
    ) -> ad.AnnData:
        """Draw ``n`` synthetic samples (or the counts per level in ``conditions``).

        Parameters
        ----------
        n
            Number of rows; may be left out when ``conditions`` gives the counts.
        conditions
            ``{column: {level: count}}`` for a model fitted with ``condition=column``.
            Without it a conditional model draws levels in their training proportions.
        seed
            Makes the draw repeatable; None takes the next seed of the generator's own
            seeded stream. The seed used is recorded in ``uns["generator"]["seed"]``.
        **options
            Omics-specific options (microbiome: ``library_size``).

        Returns
        -------
        anndata.AnnData
            The synthetic samples, with the training features in training order.
        """
        self._require_fitted("sample")
        if seed is None:
            seed = int(self._seed_stream.integers(0, 2**32 - 1))
        seed = _check_count(seed, "seed")
        _seed_frameworks(seed)
        rng = np.random.default_rng(seed)
        codes = plan_condition_rows(n, conditions, self.condition_, rng)
        adata = self._sample_omics(codes, rng, **options)
        if self.condition_ is not None:
            adata.obs[self.condition_.column] = pd.Categorical.from_codes(
                codes, categories=list(self.condition_.levels)
            )
        adata.uns["generator"] = {
            "name": self.name,
            "synthomics_version": _version(),
            "seed": int(seed),
            "privacy_worst_case": bool(self.privacy_worst_case),
        }
        adata.uns["privacy_worst_case"] = bool(self.privacy_worst_case)
        self._check_output(adata, codes)
        return adata

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the fitted model to ``directory`` (created; existing model files replaced).

        Returns
        -------
        pathlib.Path
            The folder.
        """
        self._require_fitted("save")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {f"omics/{k}": v for k, v in self._omics_state().items()}
        state.update({f"model/{k}": v for k, v in self._get_state().items()})
        arrays, tensors = _split_state(state)
        if arrays:
            from safetensors.numpy import save_file

            with atomic_path(directory / ARRAYS_FILE) as tmp:
                save_file({k: np.array(v, order="C") for k, v in arrays.items()}, str(tmp))
        if tensors:
            from safetensors.torch import save_file as save_torch

            with atomic_path(directory / TENSORS_FILE) as tmp:
                save_torch({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
        for stale, present in ((ARRAYS_FILE, arrays), (TENSORS_FILE, tensors)):
            if not present:
                (directory / stale).unlink(missing_ok=True)
        if self.tree_ is not None:
            with atomic_path(directory / TREE_FILE) as tmp:
                tmp.write_text(self.tree_)
        else:
            (directory / TREE_FILE).unlink(missing_ok=True)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "omics": self.omics,
            "synthomics_version": _version(),
            "reference": self.reference,
            "privacy_worst_case": self.privacy_worst_case,
            "seed": self.seed,
            "config": self.get_config(),
            "features": self.feature_names_,
            "var": frame_to_json(self.var_),
            "condition": None
            if self.condition_ is None
            else {
                "column": self.condition_.column,
                "levels": list(self.condition_.levels),
                "frequencies": list(self.condition_.frequencies),
            },
            "preprocessing": self.preprocessing_,
            "training": jsonable(self.training_),
            "omics_info": jsonable(self._omics_manifest()),
            "model_info": jsonable(self._model_manifest()),
            "arrays": sorted(arrays),
            "tensors": sorted(tensors),
            "tree": TREE_FILE if self.tree_ is not None else None,
        }
        with atomic_path(directory / MANIFEST_FILE) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1))
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Generator:
        """Read a model written by :meth:`save`.

        Called on :class:`Generator` it returns whichever registered generator the folder
        holds; called on a subclass it also checks that the folder holds that model.

        Raises
        ------
        InputError
            If the folder holds no model, another model, or a newer format.
        """
        from synthomics.generators.registry import generator_class
        from synthomics.io.model_folder import model_file, read_json, read_safetensors

        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        if not manifest_path.is_file():
            raise InputError(
                directory,
                "no saved generator here (manifest.json missing)",
                expected="a folder written by Generator.save or synthomics fit",
            )
        manifest = read_json(manifest_path)
        if manifest.get("format") != FORMAT:
            raise InputError(
                manifest_path, f"format {manifest.get('format')!r}", expected=repr(FORMAT)
            )
        if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
            raise InputError(
                manifest_path,
                f"format version {manifest['format_version']} is newer than "
                f"this synthomics reads ({FORMAT_VERSION})",
                expected="a newer synthomics",
            )
        klass = generator_class(manifest["name"])
        if cls is not Generator and not issubclass(klass, cls):
            raise InputError(
                manifest_path,
                f"holds a {manifest['name']!r} model",
                expected=f"a {cls.name!r} model",
            )
        model = klass(seed=int(manifest["seed"]), **manifest.get("config", {}))
        model.feature_names_ = list(manifest["features"])
        model.var_ = frame_from_json(manifest.get("var", {}), model.feature_names_)
        condition = manifest.get("condition")
        model.condition_ = (
            None
            if condition is None
            else ConditionSpec(
                condition["column"], tuple(condition["levels"]), tuple(condition["frequencies"])
            )
        )
        model.preprocessing_ = manifest.get("preprocessing")
        model.training_ = dict(manifest.get("training") or {})
        tree = manifest.get("tree")
        model.tree_ = _read_tree(model_file(directory, tree, manifest_path)) if tree else None
        state: dict[str, Any] = {}
        if manifest.get("arrays"):
            state.update(read_safetensors(directory / ARRAYS_FILE, "numpy"))
        if manifest.get("tensors"):
            state.update(read_safetensors(directory / TENSORS_FILE, "torch"))
        missing = sorted(set(manifest.get("arrays", [])) | set(manifest.get("tensors", [])))
        missing = [k for k in missing if k not in state]
        if missing:
            raise InputError(
                directory,
                f"saved arrays {missing[:3]} are missing",
                expected="the arrays listed in manifest.json",
            )
        model._set_omics_manifest(manifest.get("omics_info") or {})
        model._set_omics_state({k[6:]: v for k, v in state.items() if k.startswith("omics/")})
        model._set_model_manifest(manifest.get("model_info") or {})
        model._set_state({k[6:]: v for k, v in state.items() if k.startswith("model/")})
        model._fitted = True
        return model

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (except ``seed`` and ``progress``), JSON-serialisable."""
        config = {}
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if name in {"self", "seed", "progress"} or parameter.kind in (
                parameter.VAR_KEYWORD,
                parameter.VAR_POSITIONAL,
            ):
                continue
            config[name] = jsonable(getattr(self, name))
        return config

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`load`) has run."""
        return self._fitted

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- model hooks

    @abstractmethod
    def _fit(self, data: Any, rng: np.random.Generator) -> None:
        """Learn from the prepared training data (see the omics layer for its type)."""

    @abstractmethod
    def _sample(self, plan: Any, rng: np.random.Generator) -> Any:
        """Draw the rows described by ``plan`` (see the omics layer for the types)."""

    @abstractmethod
    def _get_state(self) -> dict[str, Any]:
        """Learned arrays by name: NumPy arrays or torch tensors."""

    @abstractmethod
    def _set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_get_state` returned."""

    def _model_manifest(self) -> dict[str, Any]:
        """Small JSON facts about the fit (e.g. a chosen number of components)."""
        return {}

    def _set_model_manifest(self, info: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`_model_manifest` returned."""

    # ----------------------------------------------------------------- omics hooks

    @abstractmethod
    def _prepare(self, adata: ad.AnnData, codes: np.ndarray) -> Any:
        """Validate ``adata`` and turn it into the model's training data."""

    @abstractmethod
    def _sample_omics(
        self, codes: np.ndarray, rng: np.random.Generator, **options: Any
    ) -> ad.AnnData:
        """Build the plan, call :meth:`_sample` and assemble the output container."""

    @abstractmethod
    def _check_output(self, adata: ad.AnnData, codes: np.ndarray) -> None:
        """Raise :class:`GeneratorOutputError` if ``adata`` breaks the contract."""

    def _omics_state(self) -> dict[str, Any]:
        return {}

    def _set_omics_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`_omics_state` returned."""

    def _omics_manifest(self) -> dict[str, Any]:
        return {}

    def _set_omics_manifest(self, info: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore what :meth:`_omics_manifest` returned."""

    # ----------------------------------------------------------------- helpers

    @property
    def n_groups(self) -> int:
        """Number of condition levels (1 for an unconditional model)."""
        return 1 if self.condition_ is None else len(self.condition_.levels)

    def group_name(self, code: int) -> str:
        """Level name of group ``code`` ("all" for an unconditional model)."""
        return "all" if self.condition_ is None else self.condition_.levels[code]

    @property
    def fit_progress(self) -> FitProgress:
        """The progress display of the running fit (a no-op outside ``fit``)."""
        return getattr(self, "_fit_progress", None) or FitProgress(False)

    def _progress_enabled(self) -> bool:
        if self.progress is None:
            return bool(getattr(sys.stderr, "isatty", lambda: False)())
        return bool(self.progress)

    def _check_omics(self, adata: ad.AnnData) -> None:
        kind = adata.uns.get("omics")
        if self.omics != "any" and kind != self.omics:
            raise InputError(
                adata.uns.get("source_file"),
                f"{self.name} generates {self.omics} data but the training data has "
                f"uns['omics'] = {kind!r}",
                expected=f"a {self.omics} container (read it with synthomics.io.read)",
            )

    def _check_level_sizes(
        self, adata: ad.AnnData, codes: np.ndarray, spec: ConditionSpec | None
    ) -> None:
        sizes = np.bincount(codes, minlength=1 if spec is None else len(spec.levels))
        small = np.flatnonzero(sizes < self.min_samples_per_level)
        if small.size:
            where = (
                "the training data"
                if spec is None
                else (f"level {spec.levels[small[0]]!r} of {spec.column!r}")
            )
            raise InputError(
                adata.uns.get("source_file"),
                f"{where} has {int(sizes[small[0]])} samples",
                expected=f"at least {self.min_samples_per_level} samples per level for {self.name}",
            )

    def _require_fitted(self, action: str) -> None:
        if not self._fitted:
            raise NotFittedError(f"{type(self).__name__}.{action} called before fit")


def _split_state(state: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray | np.generic | int | float | bool):
            arrays[key] = np.asarray(value)
        elif type(value).__module__.startswith("torch"):
            tensors[key] = value
        else:
            raise TypeError(
                f"state {key!r} is a {type(value).__name__}; "
                "expected a NumPy array or a torch tensor"
            )
        if key in arrays and arrays[key].dtype == object:
            raise TypeError(f"state {key!r} is an object array; store numbers only")
    return arrays, tensors


def _read_tree(path: Path) -> str:
    """The Newick text of a saved model's tree file."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found", expected="a complete model folder") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text", expected="the saved Newick tree") from None


def _seed_frameworks(seed: int) -> None:
    """Seed torch as well when it is already imported (models that use it import it)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(int(seed) % (2**63))


def _version() -> str:
    from synthomics import __version__

    return __version__
