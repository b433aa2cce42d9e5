"""One way to build a Lightning trainer, shared by every synthomics model.

The masked autoencoder and the diffusion models train through :func:`build_trainer`, so
that checkpoints, early stopping, progress display, EMA and multi-device training behave
the same everywhere. With ``devices > 1`` Lightning picks a DDP strategy; the models need
no change for it (the data modules use ordinary samplers, which Lightning replaces with
distributed ones).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import lightning as L
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.loggers import CSVLogger

from synthomics.training.ema import EMAWeights

_LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "lightning")


@contextmanager
def quiet_lightning(enabled: bool = True) -> Iterator[None]:
    """Silence Lightning's informational lines ("GPU available: ...") inside the block."""
    if not enabled:
        yield
        return
    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def build_trainer(
    max_epochs: int,
    *,
    accelerator: str = "auto",
    devices: int | str | list[int] = "auto",
    strategy: str = "auto",
    num_nodes: int = 1,
    precision: str | int = "32-true",
    checkpoint_dir: str | os.PathLike[str] | None = None,
    early_stopping_metric: str | None = None,
    patience: int = 20,
    mode: Literal["min", "max"] = "min",
    ema_decay: float | None = None,
    progress: bool = True,
    gradient_clip_val: float | None = None,
    deterministic: bool | Literal["warn"] = "warn",
    max_time: str | None = None,
    log_every_n_steps: int = 10,
    callbacks: Iterable[Callback] = (),
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Build a :class:`lightning.Trainer` with the package's standard callbacks.

    Parameters
    ----------
    max_epochs
        Upper bound on training epochs.
    accelerator, devices, strategy, num_nodes
        Passed to Lightning (``"auto"`` uses a GPU when there is one). With more than one
        device Lightning chooses DDP (``ddp`` on GPUs, ``ddp_spawn`` on CPU processes).
    precision
        Lightning precision, e.g. ``"32-true"`` or ``"bf16-mixed"``.
    checkpoint_dir
        Folder for checkpoints and a CSV log of the metrics. A ``last.ckpt`` of the latest
        epoch is always kept (resume with ``trainer.fit(..., ckpt_path="last")`` or the
        file's path); with ``early_stopping_metric`` the best epoch is kept too
        (``epochNNNN.ckpt``). ``None``: no files.
    early_stopping_metric
        Logged metric (e.g. ``"val_loss"``) to stop on, and to choose the best checkpoint.
        ``None``: train for ``max_epochs``.
    patience
        Validation checks without improvement before stopping.
    mode
        Whether the metric is better when lower (``"min"``) or higher.
    ema_decay
        Keep an exponential moving average of the weights (:class:`EMAWeights`); the EMA
        weights are used for validation and end up in the module. ``None``: no EMA.
    progress
        Show a rich progress bar (and Lightning's setup messages).
    gradient_clip_val
        Clip gradient norms to this value (``None``: no clipping).
    deterministic
        Passed to Lightning; ``"warn"`` uses deterministic kernels where torch has them.
    max_time
        Stop after this long, ``"DD:HH:MM:SS"``.
    log_every_n_steps
        How often training metrics are logged.
    callbacks
        Extra callbacks, added after the standard ones.
    **trainer_kwargs
        Any other :class:`lightning.Trainer` argument.

    Returns
    -------
    lightning.Trainer
    """
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be at least 1, got {max_epochs}")
    chosen: list[Callback] = []
    if progress:
        chosen.append(RichProgressBar(leave=True))
    if ema_decay is not None:
        chosen.append(EMAWeights(ema_decay))
    if early_stopping_metric is not None:
        chosen.append(EarlyStopping(monitor=early_stopping_metric, patience=patience, mode=mode))
    logger: Any = False
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        # Two callbacks: a monitored one keeps the best epoch, an unmonitored one writes
        # last.ckpt after every epoch. (One monitored callback with save_last=True only
        # refreshes last.ckpt when the metric improves, so a resume would restart from the
        # best epoch rather than the latest.)
        if early_stopping_metric is not None:
            chosen.append(
                ModelCheckpoint(
                    dirpath=checkpoint_dir,
                    filename="epoch{epoch:04d}",
                    auto_insert_metric_name=False,
                    monitor=early_stopping_metric,
                    mode=mode,
                    save_top_k=1,
                )
            )
        chosen.append(
            ModelCheckpoint(
                dirpath=checkpoint_dir,
                filename="latest",
                monitor=None,
                save_top_k=0,
                save_last=True,
                every_n_epochs=1,
                save_on_train_epoch_end=True,
            )
        )
        logger = CSVLogger(checkpoint_dir, name="logs")
        chosen.append(LearningRateMonitor(logging_interval="epoch"))
    chosen.extend(callbacks)
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        num_nodes=num_nodes,
        precision=precision,
        callbacks=chosen,
        logger=logger,
        enable_checkpointing=checkpoint_dir is not None,
        enable_progress_bar=progress,
        enable_model_summary=False,
        gradient_clip_val=gradient_clip_val,
        deterministic=deterministic,
        max_time=max_time,
        log_every_n_steps=log_every_n_steps,
        num_sanity_val_steps=0,
        **trainer_kwargs,
    )


def last_checkpoint(checkpoint_dir: str | os.PathLike[str] | None) -> Path | None:
    """The ``last.ckpt`` in ``checkpoint_dir`` if there is one (to resume from), else None."""
    if checkpoint_dir is None:
        return None
    path = Path(checkpoint_dir) / "last.ckpt"
    return path if path.is_file() else None
