"""Exponential moving average (EMA) of model weights, as a Lightning callback.

Averaging the weights over the last steps of training gives smoother models; diffusion
models in particular are usually evaluated and saved with EMA weights (Ho et al. 2020;
Nichol & Dhariwal 2021, improved-diffusion's ``ema_rate``).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn


class EMAWeights(L.Callback):
    """Keep an EMA copy of the weights; validate, checkpoint and finish with it.

    After every optimiser step ``ema = d * ema + (1 - d) * weight`` for each floating-point
    parameter, where ``d = min(decay, (1 + n) / (10 + n))`` when ``warmup`` is on (``n``
    the number of updates so far; the warm-up keeps early averages from being dominated by
    the random initial weights). Buffers (e.g. batch-norm running statistics) are copied,
    not averaged.

    The EMA weights are swapped into the module for validation (so ``val_*`` metrics,
    early stopping and "best" checkpoints judge the EMA model) and swapped out again for
    training. Checkpoints hold the raw weights in ``state_dict`` (so training resumes
    exactly) and the averages under ``"ema_state_dict"``; resuming restores them. At the
    end of fitting the EMA weights are copied into the module (``apply_at_end``), so that
    what is saved afterwards is the averaged model.

    Parameters
    ----------
    decay
        The EMA decay, in (0, 1); 0.999 is typical.
    warmup
        Use the ``(1 + n) / (10 + n)`` warm-up of the decay.
    apply_at_end
        Copy the EMA weights into the module when fitting ends.
    """

    def __init__(self, decay: float = 0.999, *, warmup: bool = True, apply_at_end: bool = True):
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = float(decay)
        self.warmup = warmup
        self.apply_at_end = apply_at_end
        self.num_updates = 0
        self.ema_state: dict[str, torch.Tensor] | None = None
        self._backup: dict[str, torch.Tensor] | None = None

    # --- the average --------------------------------------------------------------------
    @staticmethod
    def _averaged(module: nn.Module) -> dict[str, torch.Tensor]:
        return {k: v for k, v in module.state_dict().items() if torch.is_floating_point(v)}

    def current_decay(self) -> float:
        """The decay used at the next update."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Fold the module's current weights into the average."""
        state = module.state_dict()
        if self.ema_state is None:
            self.ema_state = {k: v.detach().clone() for k, v in self._averaged(module).items()}
            self.num_updates = 1
            return
        d = self.current_decay()
        params = {name for name, _ in module.named_parameters()}
        for name, ema in self.ema_state.items():
            value = state[name].detach()
            if name in params:
                ema.mul_(d).add_(value.to(ema.dtype), alpha=1.0 - d)
            else:
                ema.copy_(value)
        self.num_updates += 1

    @torch.no_grad()
    def swap_in(self, module: nn.Module) -> None:
        """Put the EMA weights into ``module``, keeping the raw ones aside."""
        if self.ema_state is None or self._backup is not None:
            return
        state = module.state_dict()
        self._backup = {k: state[k].detach().clone() for k in self.ema_state}
        for name, ema in self.ema_state.items():
            state[name].copy_(ema)

    @torch.no_grad()
    def swap_out(self, module: nn.Module) -> None:
        """Put the raw weights back after :meth:`swap_in`."""
        if self._backup is None:
            return
        state = module.state_dict()
        for name, raw in self._backup.items():
            state[name].copy_(raw)
        self._backup = None

    # --- Lightning hooks ---------------------------------------------------------------
    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.ema_state is None:
            self.update(pl_module)
        else:  # restored from a checkpoint: move to the module's device
            device = next(iter(pl_module.state_dict().values())).device
            self.ema_state = {k: v.to(device) for k, v in self.ema_state.items()}

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.update(pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.swap_in(pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.swap_out(pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.swap_out(pl_module)
        if self.apply_at_end:
            self.swap_in(pl_module)
            self._backup = None  # keep the EMA weights in the module

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self._backup is not None:  # saved during validation: store the raw weights
            for name, raw in self._backup.items():
                checkpoint["state_dict"][name] = raw.clone()
        if self.ema_state is not None:
            checkpoint["ema_state_dict"] = {k: v.detach().cpu() for k, v in self.ema_state.items()}
            checkpoint["ema_num_updates"] = self.num_updates

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if "ema_state_dict" in checkpoint:
            self.ema_state = {k: v.clone() for k, v in checkpoint["ema_state_dict"].items()}
            self.num_updates = int(checkpoint.get("ema_num_updates", 0))

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "num_updates": self.num_updates}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.num_updates = int(state_dict.get("num_updates", self.num_updates))
