"""One training routine for every synthomics diffusion model.

:func:`train_diffusion` runs the Lightning :class:`~synthomics.diffusion.plan.DiffusionTrainingPlan`
on a dict of arrays with the options every diffusion model exposes
(:class:`DiffusionTrainingOptions`): step budget, AdamW with warm-up and cosine decay,
EMA, validation split, early stopping with the best weights kept, checkpoints and resume,
and the Lightning device options (one CPU, one GPU, or DDP over several GPUs and nodes
with no code change). The microbiome and genotype models differ in their transform,
denoiser and decoder; they share this loop.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DiffusionTrainingOptions", "train_diffusion"]


@dataclass(frozen=True)
class DiffusionTrainingOptions:
    """How a diffusion model is trained (the shared constructor options of the models).

    Attributes
    ----------
    max_steps
        Optimiser steps (rounded up to whole epochs).
    batch_size, lr, weight_decay
        AdamW with a linear warm-up (10 % of the steps, at most 100) and a cosine decay to
        10 % of the peak.
    ema_decay
        Exponential moving average of the weights, used for validation and kept at the end
        (None: no EMA).
    validation_fraction
        Training rows held out for the validation loss (none below 10 rows).
    validation_every
        Optimiser steps between validations (rounded to whole epochs).
    early_stopping, patience
        Stop when the validation loss has not improved for ``patience`` validations and
        keep the weights of the best validation.
    condition_dropout
        Probability of dropping the condition (classifier-free guidance training); only
        used for conditional data.
    checkpoint_dir, resume
        Lightning checkpoints and metrics log (a resumable ``last.ckpt`` is written
        periodically and on SIGINT/SIGTERM); with ``resume``, continue from it, or refuse
        with the reason (no checkpoint, other data or options).
    accelerator, devices, strategy, num_nodes, precision
        Passed to Lightning.
    gradient_clip_val
        Gradient-norm clipping.
    seed
        Seeds the validation split and the epoch order.
    """

    max_steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    ema_decay: float | None = 0.999
    validation_fraction: float = 0.1
    validation_every: int = 100
    early_stopping: bool = True
    patience: int = 10
    condition_dropout: float = 0.1
    checkpoint_dir: str | None = None
    resume: bool = False
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    gradient_clip_val: float = 1.0
    seed: int = 0


def train_diffusion(
    process: Any,
    module: Any,
    tensors: dict[str, np.ndarray],
    options: DiffusionTrainingOptions,
    *,
    task: Any,
    description: str = "diffusion: training",
) -> dict[str, Any]:
    """Train ``module`` with ``process`` on ``tensors`` and return the fit record.

    Parameters
    ----------
    process
        A :class:`~synthomics.diffusion.process.GaussianDiffusion`.
    module
        The denoiser (see :mod:`synthomics.diffusion.plan` for its optional hooks). Its
        weights end as the best validation (or last, EMA) weights, on the CPU, frozen.
    tensors
        ``{"x": clean data, "cond": class codes}`` (``"cond"`` only for conditional models).
    options
        :class:`DiffusionTrainingOptions`.
    task
        Progress task (``advance``/``update``), e.g. from ``Generator.fit_progress``.
    description
        Text of the progress line.

    Returns
    -------
    dict
        Parameters, epochs, steps, step resumed from, best epoch and validation loss,
        whether training stopped early, seconds.
    """
    import torch

    from synthomics.diffusion.plan import BestWeights, DiffusionTrainingPlan, EpochProgress
    from synthomics.training import (
        TensorDataModule,
        build_trainer,
        quiet_lightning,
        resumable_checkpoint,
        resume_point,
        run_identity,
    )

    start = time.perf_counter()
    n_rows = len(tensors["x"])
    conditional = "cond" in tensors
    validation_fraction = options.validation_fraction if n_rows >= 10 else 0.0
    datamodule = TensorDataModule(
        tensors,
        validation_fraction=validation_fraction,
        batch_size=options.batch_size,
        seed=options.seed,
    )
    n_train = len(datamodule.train_index)
    # each of the DDP processes sees 1 / world of the training rows per epoch
    world = options.devices if isinstance(options.devices, int) and options.devices > 0 else 1
    world *= max(int(options.num_nodes), 1)
    steps_per_epoch = math.ceil(n_train / (options.batch_size * world))
    max_epochs = max(1, math.ceil(options.max_steps / steps_per_epoch))
    val_every = min(max(1, round(options.validation_every / steps_per_epoch)), max_epochs)
    stop_early = len(datamodule.val_index) > 0 and options.early_stopping
    plan = DiffusionTrainingPlan(
        process,
        module,
        lr=options.lr,
        weight_decay=options.weight_decay,
        warmup_steps=min(100, options.max_steps // 10),
        total_steps=max_epochs * steps_per_epoch,
        condition_dropout=options.condition_dropout if conditional else 0.0,
    )
    task.update(total=max_epochs)
    best = BestWeights("val_loss")
    # a resume must continue the same run; max_steps may grow, the devices may change
    keep = ("batch_size", "lr", "weight_decay", "ema_decay", "validation_fraction")
    keep += ("condition_dropout", "gradient_clip_val", "seed")
    run = run_identity(tensors, module, {k: getattr(options, k) for k in keep})
    ckpt_path = resume_point(options.checkpoint_dir, run).path if options.resume else None
    with quiet_lightning(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
        trainer = build_trainer(
            max_epochs,
            accelerator=options.accelerator,
            devices=options.devices,
            strategy=options.strategy,
            num_nodes=options.num_nodes,
            precision=options.precision,
            checkpoint_dir=options.checkpoint_dir,
            early_stopping_metric="val_loss" if stop_early else None,
            patience=options.patience,
            ema_decay=options.ema_decay,
            progress=False,
            gradient_clip_val=options.gradient_clip_val,
            deterministic=False,
            log_every_n_steps=max(1, min(50, steps_per_epoch)),
            callbacks=[*([best] if stop_early else []), EpochProgress(task, description)],
            check_val_every_n_epoch=val_every,
            run=run,
        )
        trainer.fit(plan, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    checkpoints = resumable_checkpoint(trainer)
    if checkpoints is not None:
        checkpoints.raise_if_interrupted()
    trained = plan.module.to("cpu").eval()
    for parameter in trained.parameters():
        parameter.requires_grad_(False)
    # spawned processes (ddp_spawn) hand back their counters as logged metrics only
    logged = trainer.callback_metrics
    epochs = max(int(trainer.current_epoch), int(logged.get("trained_epochs", 0)))
    steps = max(int(trainer.global_step), int(logged.get("trained_steps", 0)))
    return {
        "parameters": int(sum(p.numel() for p in trained.parameters())),
        "epochs": epochs,
        "steps": steps,
        "resumed_from_step": int(getattr(plan, "start_step", 0)),
        "best_epoch": best.best_epoch,
        "best_val_loss": None if best.best_state is None else best.best_score,
        "stopped_early": bool(epochs < max_epochs),
        "fit_seconds": time.perf_counter() - start,
        "torch_version": torch.__version__,
    }

