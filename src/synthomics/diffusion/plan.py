"""The Lightning training plan of every synthomics diffusion model.

:class:`DiffusionTrainingPlan` is generic: it owns a
:class:`~synthomics.diffusion.process.GaussianDiffusion` (no parameters) and a denoising
module (pure torch), and adds whatever model-specific loss the module defines. The
microbiome and genotype models differ in their data transform, their module and their
decoder, not in their training loop.

The module contract (beyond the denoiser contract of :mod:`synthomics.diffusion.process`):

``module.diffusion_feature_weights`` (optional attribute)
    Per-feature weights of the denoising loss (see ``feature_weights`` of
    :meth:`~synthomics.diffusion.process.GaussianDiffusion.training_losses`).
``module.self_conditioning`` (optional attribute)
    True for a network that takes ``inputs["x0_self"]`` (self-conditioning).
``module.auxiliary_losses(x0, diffusion, generator=None)`` (optional method)
    Extra loss terms, already weighted, from the clean batch and the dict returned by
    ``training_losses``; each is logged under its name and added to the total.

Batches are dicts (see :class:`synthomics.training.TensorDataModule`): the clean data under
``"x"`` and, for conditional models, class indices under ``"cond"``.

Validation draws its timesteps and noise from a generator seeded by the batch index, so
the validation loss of two epochs differs only because the weights do; with the EMA
callback of :func:`synthomics.training.build_trainer` it judges the EMA weights, and it is
the metric early stopping and "best" checkpoints use (``"val_loss"``).
:class:`BestWeights` keeps, in memory, the weights of the best validation epoch so that the
model ends at its best state even without checkpoint files.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import lightning as L
import torch
from torch import nn

from synthomics.diffusion.process import GaussianDiffusion

__all__ = ["BestWeights", "DiffusionTrainingPlan", "EpochProgress"]


class DiffusionTrainingPlan(L.LightningModule):
    """Train a denoising module with a diffusion process.

    Parameters
    ----------
    process
        The diffusion process (schedule, parameterisation).
    module
        The denoiser (``nn.Module``; see the module docstring for the optional hooks).
    lr
        Peak AdamW learning rate.
    weight_decay
        AdamW weight decay.
    warmup_steps
        Linear learning-rate warm-up.
    cosine_decay
        Decay the learning rate to 10 % of its peak over ``total_steps`` with a cosine.
    total_steps
        Length of training in optimiser steps (needed for ``cosine_decay``).
    condition_dropout
        Probability of dropping the condition (classifier-free guidance training).
    validation_timesteps
        Noise levels at which every validation sample is scored (evenly spaced); more
        levels give a smoother early-stopping signal.
    x_key, cond_key
        Batch keys of the data and of the condition.
    """

    def __init__(
        self,
        process: GaussianDiffusion,
        module: nn.Module,
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 100,
        cosine_decay: bool = True,
        total_steps: int | None = None,
        condition_dropout: float = 0.1,
        validation_timesteps: int = 8,
        x_key: str = "x",
        cond_key: str = "cond",
    ) -> None:
        super().__init__()
        if not 0.0 <= condition_dropout < 1.0:
            raise ValueError(f"condition_dropout must be in [0, 1), got {condition_dropout}")
        self.process = process
        self.module = module
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.cosine_decay = cosine_decay
        self.total_steps = total_steps
        self.condition_dropout = condition_dropout
        self.validation_timesteps = validation_timesteps
        self.x_key = x_key
        self.cond_key = cond_key

    def on_train_start(self) -> None:
        # where this run started (non-zero when resumed from a checkpoint)
        self.start_step = int(self.global_step)

    # ----------------------------------------------------------------- losses

    def _losses(
        self,
        batch: dict[str, torch.Tensor],
        t: torch.Tensor,
        *,
        condition_dropout: float,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        x0 = batch[self.x_key]
        cond = batch.get(self.cond_key)
        weights = getattr(self.module, "diffusion_feature_weights", None)
        out = self.process.training_losses(
            self.module,
            x0,
            t,
            cond=cond,
            condition_dropout=condition_dropout,
            feature_weights=weights,
            self_condition=bool(getattr(self.module, "self_conditioning", False)),
            generator=generator,
        )
        losses = {"diffusion": out["loss"].mean()}
        hook = getattr(self.module, "auxiliary_losses", None)
        if hook is not None:
            losses.update(hook(x0, out, generator=generator))
        losses["loss"] = torch.stack(list(losses.values())).sum()
        return losses

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x0 = batch[self.x_key]
        t = self.process.sample_timesteps(x0.shape[0], device=x0.device)
        losses = self._losses(batch, t, condition_dropout=self.condition_dropout)
        batch_size = x0.shape[0]
        self.log("train_loss", losses["loss"], prog_bar=True, batch_size=batch_size)
        for name, value in losses.items():
            if name != "loss":
                self.log(f"train_{name}", value, batch_size=batch_size)
        return losses["loss"]

    def on_train_epoch_end(self) -> None:
        # the counters of the process that trains: with ``strategy="ddp_spawn"`` the main
        # process's trainer runs no epoch and learns them from these logged values
        self.log("trained_epochs", float(self.current_epoch + 1))
        self.log("trained_steps", float(self.global_step))

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x0 = batch[self.x_key]
        batch_size = x0.shape[0]
        generator = torch.Generator(device=x0.device).manual_seed(1_000_003 + batch_idx)
        levels = torch.linspace(0, self.process.num_timesteps - 1, self.validation_timesteps)
        totals: dict[str, torch.Tensor] = {}
        for level in levels.round().long().tolist():
            t = torch.full((batch_size,), level, device=x0.device, dtype=torch.long)
            losses = self._losses(batch, t, condition_dropout=0.0, generator=generator)
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value / len(levels)
        self.log("val_loss", totals["loss"], prog_bar=True, batch_size=batch_size, sync_dist=True)
        for name, value in totals.items():
            if name != "loss":
                self.log(f"val_{name}", value, batch_size=batch_size, sync_dist=True)
        return totals["loss"]

    # ----------------------------------------------------------------- optimiser

    def configure_optimizers(self) -> dict[str, Any]:
        decay, no_decay = [], []
        for name, parameter in self.module.named_parameters():
            if not parameter.requires_grad:
                continue
            # biases, norms and embedding tables are not decayed (the usual AdamW practice)
            (no_decay if parameter.ndim < 2 or "bias" in name else decay).append(parameter)
        groups = [
            {"params": decay, "weight_decay": self.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        try:  # the fused kernel is several times faster, on CPU too
            optimiser = torch.optim.AdamW(groups, lr=self.lr, fused=True)
        except (RuntimeError, TypeError):  # pragma: no cover - old torch or exotic device
            optimiser = torch.optim.AdamW(groups, lr=self.lr)
        warmup, total, cosine = self.warmup_steps, self.total_steps, self.cosine_decay

        def factor(step: int) -> float:
            if warmup > 0 and step < warmup:
                return (step + 1) / warmup
            if not cosine or not total or total <= warmup:
                return 1.0
            progress = min(1.0, (step - warmup) / (total - warmup))
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
        return {
            "optimizer": optimiser,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


class BestWeights(L.Callback):
    """Remember the module weights of the best validation epoch and restore them at the end.

    With an :class:`~synthomics.training.EMAWeights` callback in the trainer the EMA weights
    (those that were validated) are remembered. Without validation nothing is restored.

    Parameters
    ----------
    monitor
        Logged metric (lower is better).
    """

    def __init__(self, monitor: str = "val_loss") -> None:
        super().__init__()
        self.monitor = monitor
        self.best_score: float = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or not math.isfinite(float(value)) or float(value) >= self.best_score:
            return
        self.best_score = float(value)
        self.best_epoch = int(trainer.current_epoch)
        ema = next((c for c in trainer.callbacks if hasattr(c, "ema_state")), None)
        state = pl_module.state_dict()
        if ema is not None and ema.ema_state is not None:
            state = {**state, **ema.ema_state}
        self.best_state = {k: v.detach().clone() for k, v in state.items()}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.best_state is not None:
            pl_module.load_state_dict(copy.deepcopy(self.best_state))

    def state_dict(self) -> dict[str, Any]:
        # the weights too: a resumed run must end at the best state seen before the stop
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = float(state_dict.get("best_score", math.inf))
        self.best_epoch = state_dict.get("best_epoch")
        self.best_state = state_dict.get("best_state")


class EpochProgress(L.Callback):
    """Advance a progress task (anything with ``advance`` and ``update``) once per epoch.

    Lets a model report training progress inside a display it already shows (one rich live
    display at a time), instead of Lightning's own progress bar.
    """

    def __init__(self, task: Any, description: str) -> None:
        super().__init__()
        self.task = task
        self.description = description

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        parts = [self.description]
        for key in ("train_loss", "val_loss"):
            if key in metrics:
                parts.append(f"{key} {float(metrics[key]):.4f}")
        self.task.update(description=" ".join(parts))
        self.task.advance(1)
