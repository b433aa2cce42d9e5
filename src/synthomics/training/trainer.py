"""One way to build a Lightning trainer, shared by every synthomics model.

The masked autoencoder and the diffusion models train through :func:`build_trainer`, so
that checkpoints, early stopping, progress display, EMA and multi-device training behave
the same everywhere. With ``devices > 1`` Lightning picks a DDP strategy; the models need
no change for it (the data modules use ordinary samplers, which Lightning replaces with
distributed ones).

With a checkpoint folder, :class:`ResumableCheckpoint` writes ``last.ckpt`` at the end of
the first epoch, then at the end of an epoch every :data:`CHECKPOINT_EVERY_SECONDS`, and
when SIGINT or SIGTERM asks training to stop. :func:`resume_point` reads where such a
checkpoint continues and refuses, with the reason, one that cannot be resumed. A resumed
run reaches the same weights as an uninterrupted one: the checkpoint holds the optimiser,
scheduler, callbacks (EMA, early stopping, best weights) and torch's random state.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NamedTuple

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.loggers import CSVLogger

from synthomics.errors import InputError, TrainingInterrupted
from synthomics.training.ema import EMAWeights

CHECKPOINT_FILE = "last.ckpt"
CHECKPOINT_EVERY_SECONDS = 60.0
"""Seconds between periodic checkpoints (after the first epoch's, at epoch ends)."""

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
    run: dict[str, Any] | None = None,
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
        Folder for checkpoints and a CSV log of the metrics. A resumable ``last.ckpt`` is
        kept (:class:`ResumableCheckpoint`; resume with :func:`resume_point`); with
        ``early_stopping_metric`` the best epoch is kept too (``epochNNNN.ckpt``).
        ``None``: no files.
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
    run
        What identifies the run (options, data digest), stored in the checkpoint so that
        :func:`resume_point` refuses to continue it with other options or data.
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
        logger = CSVLogger(checkpoint_dir, name="logs")
        chosen.append(LearningRateMonitor(logging_interval="epoch"))
    chosen.extend(callbacks)
    if checkpoint_dir is not None:  # last, so that it saves what the others updated
        chosen.append(ResumableCheckpoint(checkpoint_dir, run=run))
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        num_nodes=num_nodes,
        precision=precision,
        callbacks=chosen,
        logger=logger,
        # Lightning's own ModelCheckpoint only for the best epoch; last.ckpt is ours
        enable_checkpointing=checkpoint_dir is not None and early_stopping_metric is not None,
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
    path = Path(checkpoint_dir) / CHECKPOINT_FILE
    return path if path.is_file() else None


class ResumableCheckpoint(Callback):
    """Write ``last.ckpt`` periodically and when SIGINT or SIGTERM asks training to stop.

    The checkpoint is written atomically at the end of an epoch: the first one, then one
    every ``every_seconds``. A first SIGINT (Ctrl-C) or SIGTERM lets the current epoch
    finish, saves, stops training and makes :meth:`raise_if_interrupted` raise
    :class:`~synthomics.errors.TrainingInterrupted`; a second one interrupts at once.
    The checkpoint also holds torch's random state and ``run`` (see :func:`resume_point`).
    """

    def __init__(
        self,
        dirpath: str | os.PathLike[str],
        *,
        every_seconds: float | None = None,
        run: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.dirpath = Path(dirpath)
        self.every_seconds = CHECKPOINT_EVERY_SECONDS if every_seconds is None else every_seconds
        self.run = run
        self.stop_signal: str | None = None
        self.saved_step: int | None = None
        self._last_save = -math.inf
        self._previous: dict[int, Any] = {}

    # signals -------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stop_signal is not None:
            raise KeyboardInterrupt
        self.stop_signal = signal.Signals(signum).name

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_save = time.monotonic() - self.every_seconds  # the first epoch saves
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    # saving --------------------------------------------------------------------------
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        due = time.monotonic() - self._last_save >= self.every_seconds
        # one decision for all processes (saving is collective under DDP)
        if trainer.strategy.reduce_boolean_decision(bool(due or self.stop_signal), all=False):
            self._save(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.saved_step != int(trainer.global_step):  # keep the final state too
            self._save(trainer)

    def _save(self, trainer: L.Trainer) -> None:
        path = self.dirpath / CHECKPOINT_FILE
        tmp = self.dirpath / f".{CHECKPOINT_FILE}.tmp"
        trainer.save_checkpoint(tmp)
        if trainer.is_global_zero:
            os.replace(tmp, path)
        self._last_save = time.monotonic()
        self.saved_step = int(trainer.global_step)
        if trainer.strategy.reduce_boolean_decision(bool(self.stop_signal), all=False):
            self.stop_signal = self.stop_signal or "a signal to another process"
            trainer.should_stop = True

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint["synthomics_rng"] = torch.get_rng_state()
        checkpoint["synthomics_run"] = self.run

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if "synthomics_rng" in checkpoint:
            torch.set_rng_state(checkpoint["synthomics_rng"])

    def raise_if_interrupted(self) -> None:
        """Raise :class:`~synthomics.errors.TrainingInterrupted` if a signal stopped training."""
        if self.stop_signal:
            raise TrainingInterrupted(
                f"training stopped by {self.stop_signal} at step {self.saved_step}; the "
                f"checkpoint is in {self.dirpath}: run the same command with --resume to continue"
            )


def resumable_checkpoint(trainer: L.Trainer) -> ResumableCheckpoint | None:
    """The trainer's :class:`ResumableCheckpoint` callback, if it has one."""
    return next((c for c in trainer.callbacks if isinstance(c, ResumableCheckpoint)), None)


def run_identity(
    arrays: dict[str, Any], module: torch.nn.Module, options: dict[str, Any]
) -> dict[str, Any]:
    """What identifies a training run, kept in its checkpoints (see :func:`resume_point`).

    A SHA-256 digest of the training arrays, one of the network's parameter shapes, and
    ``options`` (plain values: those that change the optimisation path).
    """
    import hashlib

    import numpy as np

    data = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        data.update(f"{key}{array.dtype}{array.shape}".encode())
        data.update(array.tobytes())
    shapes = [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
    network = hashlib.sha256(repr(shapes).encode())
    return {"data": data.hexdigest()[:16], "network": network.hexdigest()[:16], **options}


class ResumePoint(NamedTuple):
    """Where a checkpoint continues: the file, the optimiser step and the epoch."""

    path: Path
    step: int
    epoch: int


def resume_point(
    checkpoint_dir: str | os.PathLike[str] | None, run: dict[str, Any] | None = None
) -> ResumePoint:
    """Check that training can continue from ``checkpoint_dir/last.ckpt``, and from where.

    The checkpoint is read weights-only (no code runs). With ``run``, it must have been
    written by a run with the same options and data.

    Raises
    ------
    InputError
        Saying why the run cannot be resumed: no folder, no checkpoint in it, an unreadable
        checkpoint, or one from a run with other options or data.
    """
    if checkpoint_dir is None:
        raise InputError(
            None, "nothing to resume from: no checkpoint folder", expected="a checkpoint folder"
        )
    path = Path(checkpoint_dir) / CHECKPOINT_FILE
    if not path.is_file():
        raise InputError(
            checkpoint_dir,
            f"no {CHECKPOINT_FILE} to resume from (the run stopped before its first "
            "checkpoint, or finished and removed it)",
            expected="the checkpoint folder of an interrupted run",
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        step, epoch = int(checkpoint["global_step"]), int(checkpoint["epoch"])
    except Exception as exc:  # a damaged file may fail anywhere in the unpickler
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(path, f"unreadable checkpoint ({reason[:200]})") from None
    saved = checkpoint.get("synthomics_run")
    if run is not None and saved is not None and saved != run:
        differ = sorted(k for k in {*run, *saved} if run.get(k) != saved.get(k))
        raise InputError(
            path,
            f"was written by a run with other {', '.join(differ)}",
            expected="the same data and options as the interrupted run",
        )
    return ResumePoint(path, step, epoch)
