# Over 450 lines: the fit/sample/save/load template every generator shares, with its checks, as
# one class.
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

Condition planning is in :mod:`.conditions`, the saved-model folder in :mod:`.persistence`
(safetensors arrays and a JSON manifest, nothing pickled) and the progress display in
:mod:`synthomics.progress`; their names stay importable from here.
"""

from __future__ import annotations

import inspect
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError, SynthomicsError
from synthomics.generators.conditions import (
    Conditions,
    ConditionSpec,
    check_count,
    condition_codes,
    plan_condition_rows,
)
from synthomics.generators.persistence import (
    ARRAYS_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    TENSORS_FILE,
    TREE_FILE,
    frame_from_json,
    frame_to_json,
    jsonable,
    read_generator_folder,
    write_generator_folder,
)
from synthomics.progress import ProgressDisplay

FitProgress = ProgressDisplay
"""The progress display of a fit (:class:`synthomics.progress.ProgressDisplay`)."""

__all__ = [
    "ARRAYS_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "TENSORS_FILE",
    "TREE_FILE",
    "ConditionSpec",
    "Conditions",
    "FitProgress",
    "Generator",
    "GeneratorOutputError",
    "NotFittedError",
    "condition_codes",
    "frame_from_json",
    "frame_to_json",
    "jsonable",
    "plan_condition_rows",
]



_CLASS_LOOKUP: list[Callable[[str], type[Generator]]] = []
"""How :meth:`Generator.load` finds a class by name: the registry's ``generator_class``,
set by :mod:`synthomics.generators.registry` (imported with the package), so that this module
does not import the registry."""


def set_class_lookup(lookup: Callable[[str], type[Generator]]) -> None:
    """Let :meth:`Generator.load` find generator classes by name with ``lookup``."""
    _CLASS_LOOKUP[:] = [lookup]


class GeneratorOutputError(SynthomicsError, RuntimeError):
    """A generator produced output that breaks the contract (a bug, not bad input)."""


class NotFittedError(SynthomicsError, RuntimeError):
    """``sample`` or ``save`` was called before ``fit``."""


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
        self.seed = check_count(seed, "seed")
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
        with ProgressDisplay(self._progress_enabled()).running() as progress:
            self._fit_progress = progress
            try:
                self._fit(data, rng)
            finally:
                self._fit_progress = ProgressDisplay(False)
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
        seed = check_count(seed, "seed")
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
        state = {f"omics/{k}": v for k, v in self._omics_state().items()}
        state.update({f"model/{k}": v for k, v in self._get_state().items()})
        fields = {
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
        }
        return write_generator_folder(directory, fields, state, self.tree_)

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
        manifest, state, tree = read_generator_folder(directory)
        manifest_path = Path(directory) / MANIFEST_FILE
        klass = _CLASS_LOOKUP[0](manifest["name"])
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
        model.tree_ = tree
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
    def fit_progress(self) -> ProgressDisplay:
        """The progress display of the running fit (a no-op outside ``fit``)."""
        return getattr(self, "_fit_progress", None) or ProgressDisplay(False)

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


def _seed_frameworks(seed: int) -> None:
    """Seed torch as well when it is already imported (models that use it import it)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(int(seed) % (2**63))


def _version() -> str:
    from synthomics import __version__

    return __version__
