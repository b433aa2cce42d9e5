"""Lightning training plan of the masked autoencoder (the only Lightning-aware piece)."""

from __future__ import annotations

import math

import lightning as L
import torch

from synthomics.embeddings.mae import MaskedAutoencoderModule


class MAETrainingPlan(L.LightningModule):
    """Train a :class:`MaskedAutoencoderModule` with AdamW and a warm-up + cosine schedule.

    Batches are ``{"x": transformed profiles, "present": bool}``. Training masks come from
    torch's global generator (seeded by :func:`synthomics.training.seed_everything`);
    validation masks from a generator re-seeded at every validation epoch, so that
    ``val_loss`` compares epochs on the same masks.

    Parameters
    ----------
    module
        The autoencoder.
    lr
        Peak learning rate.
    weight_decay
        AdamW weight decay.
    warmup_fraction
        Fraction of the training steps with a linear learning-rate warm-up; the rest
        follows a cosine decay to ``min_lr_ratio * lr``.
    min_lr_ratio
        Final learning rate as a fraction of ``lr``.
    validation_seed
        Seed of the validation masks.
    """

    def __init__(
        self,
        module: MaskedAutoencoderModule,
        *,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_fraction: float = 0.05,
        min_lr_ratio: float = 0.05,
        validation_seed: int = 0,
    ):
        super().__init__()
        self.module = module
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.warmup_fraction = float(warmup_fraction)
        self.min_lr_ratio = float(min_lr_ratio)
        self.validation_seed = int(validation_seed)
        self._val_generator: torch.Generator | None = None

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        out = self.module.loss(batch)
        n = batch["x"].shape[0]
        # epoch-level means; sync_dist averages them over DDP processes (once per epoch)
        self.log(
            "train_loss",
            out.loss,
            on_step=False,
            on_epoch=True,
            batch_size=n,
            prog_bar=True,
            sync_dist=True,
        )
        self.log(
            "train_masked_mse",
            out.masked_mse,
            on_step=False,
            on_epoch=True,
            batch_size=n,
            sync_dist=True,
        )
        return out.loss

    def on_validation_epoch_start(self) -> None:
        self._val_generator = torch.Generator(device=self.device)
        self._val_generator.manual_seed(self.validation_seed)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        out = self.module.loss(batch, generator=self._val_generator)
        n = batch["x"].shape[0]
        self.log("val_loss", out.loss, on_epoch=True, batch_size=n, prog_bar=True, sync_dist=True)
        self.log("val_masked_mse", out.masked_mse, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("val_visible_mse", out.visible_mse, on_epoch=True, batch_size=n, sync_dist=True)

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, param in self.module.named_parameters():
            (no_decay if param.ndim < 2 or name.endswith("mask_token") else decay).append(param)
        groups = [
            {"params": decay, "weight_decay": self.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        try:  # the fused kernel halves the step time on CPU (the element-wise update dominates)
            optimizer = torch.optim.AdamW(groups, lr=self.lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            optimizer = torch.optim.AdamW(groups, lr=self.lr)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = max(int(total * self.warmup_fraction), 1)
        floor = self.min_lr_ratio

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
