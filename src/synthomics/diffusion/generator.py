"""The base of the diffusion generators: the options, the process, the sampler and the state.

:class:`DiffusionGenerator` holds what the microbiome and genotype diffusion models
(:class:`~synthomics.microbiome_diffusion.model.MicrobiomeDiffusion`,
:class:`~synthomics.genotype_diffusion.model.GenotypeDiffusion`) share: the network size,
process, sampler and training options (one set of defaults, :data:`DIFFUSION_DEFAULTS` and
:class:`~synthomics.diffusion.fitting.DiffusionTrainingOptions`, with a per-class
``option_overrides``), their checks, the :class:`~synthomics.diffusion.process.GaussianDiffusion`,
the chunked sampler, saving and loading the module and the transform, and ``n_parameters``.
A model supplies its transform, denoiser and decoder; it lists its own options in its
constructor and passes the shared ones on as ``**options``::

    class MyDiffusion(DiffusionGenerator, MicrobiomeGenerator):
        sizes = {"tiny": {"dim": 32, "n_blocks": 1}, "default": {"dim": 128, "n_blocks": 2}}
        option_overrides = {"max_steps": 1000}

        def __init__(self, *, my_option=1, seed=0, progress=None, **options):
            super().__init__(seed=seed, progress=progress)
            self._set_diffusion_options(options)
            self.my_option = my_option
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from synthomics.diffusion.fitting import DiffusionTrainingOptions
from synthomics.errors import InputError
from synthomics.generators.base import Generator, jsonable

__all__ = ["DIFFUSION_DEFAULTS", "DiffusionGenerator", "check_choice", "shared_option_defaults"]

DIFFUSION_DEFAULTS: dict[str, Any] = {
    "size": "default",
    "dim": None,
    "n_blocks": None,
    "dropout": 0.0,
    "timesteps": 1000,
    "schedule": "cosine",
    "prediction": "v",
    "guidance_scale": 1.0,
    "sampler": "ddim",
    "sampling_steps": 50,
    "self_conditioning": False,
}
"""Network, process and sampler options of every diffusion model, with their defaults.

``size`` names an entry of the model's ``sizes`` (``dim`` and ``n_blocks`` override it);
``dropout`` is inside the residual blocks; ``timesteps``, ``schedule`` and ``prediction``
define the :class:`~synthomics.diffusion.process.GaussianDiffusion`; ``guidance_scale``,
``sampler`` (``"ddim"`` or ``"ddpm"``) and ``sampling_steps`` are the sampling defaults;
``self_conditioning`` feeds the network its previous estimate (Chen et al. 2023)."""

TRAINING_OPTIONS: tuple[str, ...] = tuple(
    f.name for f in fields(DiffusionTrainingOptions) if f.name not in {"seed", "gradient_clip_val"}
)
"""Constructor options passed to :func:`~synthomics.diffusion.fitting.train_diffusion`."""


def shared_option_defaults(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of the shared options (:data:`DIFFUSION_DEFAULTS` and the training options),
    with ``overrides`` applied."""
    training = DiffusionTrainingOptions()
    defaults = dict(DIFFUSION_DEFAULTS)
    defaults.update({name: getattr(training, name) for name in TRAINING_OPTIONS})
    unknown = sorted(set(overrides or {}) - set(defaults))
    if unknown:
        raise TypeError(f"option_overrides names unknown options {unknown}")
    defaults.update(overrides or {})
    return defaults


def check_choice(what: str, value: Any, allowed: tuple[str, ...]) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise InputError(None, f"unknown {what} {value!r}", expected=f"one of {list(allowed)}")


def check_positive(**values: Any) -> None:
    """Raise :class:`InputError` for the first value that is not a positive integer (a
    bool, a float or a string is not one, whatever its value)."""
    for what, value in values.items():
        integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if not integer or value < 1:
            raise InputError(None, f"{what} is {value!r}", expected="a positive integer")


class DiffusionGenerator(Generator):
    """A generator made of a data transform, a denoiser trained by the shared diffusion loop
    and a decoder (see the module docstring for how a model uses it).

    Subclasses set :attr:`sizes` and :attr:`option_overrides`, call
    :meth:`_set_diffusion_options` in their constructor and implement ``_fit`` (with
    :meth:`_build_process`, :meth:`training_options` and
    :func:`~synthomics.diffusion.fitting.train_diffusion`), ``_sample`` (with
    :meth:`_sample_chunks`), ``_build_module(architecture)`` and ``_set_state`` (with
    :meth:`_load_module`).
    """

    sizes: ClassVar[dict[str, dict[str, int]]] = {}
    """Network sizes by name: ``{"dim": width, "n_blocks": depth}``."""
    option_overrides: ClassVar[dict[str, Any]] = {}
    """This model's defaults where they differ from the shared ones
    (:func:`shared_option_defaults`)."""
    sample_chunk: ClassVar[int] = 4096
    """Rows denoised at a time when sampling."""

    module_: Any
    process_: Any
    transform_: Any
    architecture_: dict[str, Any]
    fit_record_: dict[str, Any]

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """The defaults of the shared options for this model."""
        return shared_option_defaults(cls.option_overrides)

    def _set_diffusion_options(self, options: dict[str, Any]) -> None:
        """Check the shared options given to the constructor and store them as attributes."""
        defaults = self.option_defaults()
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        values = {**defaults, **options}
        check_choice("size", values["size"], tuple(self.sizes))
        check_choice("sampler", values["sampler"], ("ddim", "ddpm"))
        check_choice("schedule", values["schedule"], ("cosine", "linear"))
        check_choice("prediction", values["prediction"], ("v", "epsilon", "x0"))
        if values["max_steps"] == "auto":
            if type(self).step_budget is DiffusionGenerator.step_budget:
                raise InputError(
                    None,
                    f"max_steps='auto' is not available for {type(self).__name__}",
                    expected="a positive integer",
                )
        else:
            check_positive(max_steps=values["max_steps"])
        check_positive(
            batch_size=values["batch_size"],
            sampling_steps=values["sampling_steps"],
            timesteps=values["timesteps"],
        )
        if not 0 <= values["condition_dropout"] < 1:
            raise InputError(
                None,
                f"condition_dropout is {values['condition_dropout']!r}",
                expected="a probability in [0, 1)",
            )
        self.size = values["size"]
        self.dim = values["dim"]
        self.n_blocks = values["n_blocks"]
        self.dropout = values["dropout"]
        self.timesteps = values["timesteps"]
        self.schedule = values["schedule"]
        self.prediction = values["prediction"]
        self.condition_dropout = values["condition_dropout"]
        self.guidance_scale = values["guidance_scale"]
        self.sampler = values["sampler"]
        self.sampling_steps = values["sampling_steps"]
        self.self_conditioning = values["self_conditioning"]
        self.max_steps = values["max_steps"]
        self.batch_size = values["batch_size"]
        self.lr = values["lr"]
        self.weight_decay = values["weight_decay"]
        self.ema_decay = values["ema_decay"]
        self.validation_fraction = values["validation_fraction"]
        self.validation_every = values["validation_every"]
        self.early_stopping = values["early_stopping"]
        self.patience = values["patience"]
        self.checkpoint_dir = values["checkpoint_dir"]
        self.resume = values["resume"]
        self.accelerator = values["accelerator"]
        self.devices = values["devices"]
        self.strategy = values["strategy"]
        self.num_nodes = values["num_nodes"]
        self.precision = values["precision"]
        self.module_ = None
        self.process_ = None
        self.transform_ = None
        self.architecture_ = {}
        self.fit_record_ = {}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments: the model's own and the shared options."""
        config = super().get_config()
        config.update({name: jsonable(getattr(self, name)) for name in self.option_defaults()})
        return config

    def step_budget(self, n_rows: int) -> int:
        """Optimiser steps of ``max_steps="auto"`` for a table of ``n_rows`` samples
        (models that offer it override this, usually with :meth:`steps_for_passes`)."""
        raise NotImplementedError

    def steps_for_passes(self, passes: float, n_rows: int, fewest: int, most: int) -> int:
        """Steps that make ``passes`` passes over ``n_rows`` samples in batches of
        ``batch_size``, at least ``fewest`` and at most ``most``."""
        return int(min(most, max(fewest, math.ceil(passes * n_rows / self.batch_size))))

    def training_steps(self, n_rows: int) -> int:
        """Optimiser steps of a fit on ``n_rows`` samples: ``max_steps``, or the model's
        :meth:`step_budget` when it is ``"auto"``."""
        if self.max_steps == "auto":
            return int(self.step_budget(n_rows))
        return int(self.max_steps)

    def training_options(self, n_rows: int) -> DiffusionTrainingOptions:
        """The options of :func:`~synthomics.diffusion.fitting.train_diffusion` for a fit on
        ``n_rows`` samples."""
        return DiffusionTrainingOptions(
            max_steps=self.training_steps(n_rows),
            batch_size=int(self.batch_size),
            lr=self.lr,
            weight_decay=self.weight_decay,
            ema_decay=self.ema_decay,
            validation_fraction=self.validation_fraction,
            validation_every=self.validation_every,
            early_stopping=self.early_stopping,
            patience=self.patience,
            condition_dropout=self.condition_dropout,
            checkpoint_dir=self.checkpoint_dir,
            resume=self.resume,
            accelerator=self.accelerator,
            devices=self.devices,
            strategy=self.strategy,
            num_nodes=self.num_nodes,
            precision=self.precision,
            seed=self.seed,
        )

    # ----------------------------------------------------------------- building blocks

    def size_entry(self, n_rows: int) -> dict[str, int]:
        """Width and depth of ``size`` for a table of ``n_rows`` samples, before the ``dim``
        / ``n_blocks`` overrides (models whose sizes follow the table override this)."""
        return dict(self.sizes[self.size])

    def _network_size(self, n_classes: int, n_rows: int) -> dict[str, Any]:
        """The shared part of the saved architecture: condition levels, width and depth
        (:meth:`size_entry` with ``dim`` / ``n_blocks`` overrides) and dropout."""
        base = self.size_entry(n_rows)
        return {
            "n_classes": int(n_classes),
            "dim": int(self.dim or base["dim"]),
            "n_blocks": int(self.n_blocks if self.n_blocks is not None else base["n_blocks"]),
            "dropout": float(self.dropout),
        }

    def _build_process(self):
        from synthomics.diffusion.process import GaussianDiffusion

        return GaussianDiffusion(self.timesteps, self.schedule, self.prediction)

    # ----------------------------------------------------------------- sampling

    @staticmethod
    def _torch_generator(rng: np.random.Generator):
        """A torch generator seeded from ``rng``."""
        import torch

        return torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))

    def _sample_chunks(
        self,
        codes: np.ndarray,
        shape: tuple[int, ...],
        generator: Any,
        *,
        guidance_scale: float | None = None,
        steps: int | None = None,
        denoised_fn: Any = None,
        network: Any = None,
    ) -> Iterator[tuple[slice, Any]]:
        """Denoised samples for rows of condition levels ``codes``, :attr:`sample_chunk` rows
        at a time: yields ``(rows, x0)`` with ``x0`` of shape ``(len(rows), *shape)``.

        ``guidance_scale`` and ``steps`` default to the model's; ``denoised_fn`` is applied
        to each estimate of the clean sample (e.g. clipping); ``network(rows)`` gives the
        denoiser of a chunk when it depends on the rows (default: the module).
        """
        import torch

        guidance = self.guidance_scale if guidance_scale is None else guidance_scale
        steps = self.sampling_steps if steps is None else steps
        conditional = self.condition_ is not None
        n = len(codes)
        for start in range(0, n, self.sample_chunk):
            rows = slice(start, min(start + self.sample_chunk, n))
            cond = torch.from_numpy(np.asarray(codes[rows])).long() if conditional else None
            net = self.module_ if network is None else network(rows)
            with torch.inference_mode():
                x0 = self.process_.sample(
                    net,
                    (rows.stop - rows.start, *shape),
                    cond=cond,
                    guidance_scale=guidance,
                    steps=steps,
                    method=self.sampler,
                    generator=generator,
                    denoised_fn=denoised_fn,
                    self_condition=self.module_.self_conditioning,
                )
            yield rows, x0

    # ----------------------------------------------------------------- state

    def _get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {f"module/{k}": v for k, v in self.module_.state_dict().items()}
        state.update({f"transform/{k}": v for k, v in self.transform_.state().items()})
        return state

    @staticmethod
    def _state_part(state: dict[str, Any], prefix: str) -> dict[str, Any]:
        """The entries of ``state`` under ``prefix/``, with the prefix removed."""
        return {k.split("/", 1)[1]: v for k, v in state.items() if k.startswith(f"{prefix}/")}

    def _load_module(self, module: Any, state: dict[str, Any]) -> None:
        """Load the saved weights into ``module``, freeze it and rebuild the process."""
        import torch

        weights = {k: torch.as_tensor(v) for k, v in self._state_part(state, "module").items()}
        module.load_state_dict(weights)
        self.module_ = module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        self.process_ = self._build_process()

    def _model_manifest(self) -> dict[str, Any]:
        return {"architecture": self.architecture_, "fit": self.fit_record_}

    def _set_model_manifest(self, info: dict[str, Any]) -> None:
        self.architecture_ = dict(info.get("architecture") or {})
        self.fit_record_ = dict(info.get("fit") or {})

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters of the fitted network."""
        self._require_fitted("n_parameters")
        return int(sum(p.numel() for p in self.module_.parameters()))
