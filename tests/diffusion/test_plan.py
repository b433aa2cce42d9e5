"""The generic Lightning training plan with the shared trainer, on a tiny Gaussian problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthomics.diffusion.denoisers import MLPDenoiser
from synthomics.diffusion.plan import BestWeights, DiffusionTrainingPlan
from synthomics.diffusion.process import GaussianDiffusion
from synthomics.training import TensorDataModule, build_trainer, quiet_lightning

pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*")


def test_plan_trains_a_conditional_denoiser_and_keeps_the_best_weights():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    cond = rng.integers(0, 2, 256)
    x = rng.normal(size=(256, 4)) * 0.3 + np.where(cond[:, None] == 1, 2.0, -2.0)
    process = GaussianDiffusion(100, prediction="v")
    plan = DiffusionTrainingPlan(
        process,
        MLPDenoiser(4, dim=32, n_blocks=1, n_classes=2),
        lr=1e-2,
        warmup_steps=5,
        total_steps=204,
        condition_dropout=0.2,
    )
    data = TensorDataModule({"x": x, "cond": cond}, validation_fraction=0.25, batch_size=32, seed=0)
    best = BestWeights("val_loss")
    with quiet_lightning():
        trainer = build_trainer(
            34,
            accelerator="cpu",
            devices=1,
            progress=False,
            ema_decay=0.9,
            early_stopping_metric="val_loss",
            deterministic=False,
            callbacks=[best],
        )
        trainer.fit(plan, datamodule=data)
    assert trainer.global_step == 204
    metrics = trainer.callback_metrics
    assert {"val_loss", "val_diffusion", "train_loss"} <= set(metrics)
    assert best.best_state is not None and best.best_score == min(
        best.best_score, float(metrics["val_loss"])
    )
    # the module ends with the best (EMA) weights
    for name, value in plan.state_dict().items():
        torch.testing.assert_close(value, best.best_state[name])
    # the trained conditional model separates the two classes
    net = plan.module.eval()
    samples = process.sample(
        net,
        (200, 4),
        cond=torch.tensor([0, 1]).repeat(100),
        steps=20,
        generator=torch.Generator().manual_seed(0),
    )
    means = samples.reshape(100, 2, 4).mean(dim=(0, 2))
    assert float(means[0]) < -1.0 and float(means[1]) > 1.0
