"""Tests of the shared Lightning plumbing on a tiny linear-regression module."""

from __future__ import annotations

import json
import random

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from synthomics.errors import InputError
from synthomics.training import (
    EMAWeights,
    TensorDataModule,
    build_trainer,
    last_checkpoint,
    load_torch_model,
    save_torch_model,
    seed_everything,
    split_indices,
)

torch.set_num_threads(1)


class TinyRegression(L.LightningModule):
    """y = x @ w, fitted by plain SGD (no randomness inside the module)."""

    def __init__(self, n_in: int = 3, lr: float = 0.1):
        super().__init__()
        self.linear = nn.Linear(n_in, 1)
        self.lr = lr

    def _loss(self, batch):
        return nn.functional.mse_loss(self.linear(batch["x"]).squeeze(-1), batch["y"])

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
    return {"x": x, "y": y}


def _fit(max_epochs, seed=0, ckpt_dir=None, ckpt_path=None, **kw):
    seed_everything(seed)
    model = TinyRegression()
    trainer = build_trainer(
        max_epochs, accelerator="cpu", devices=1, progress=False, checkpoint_dir=ckpt_dir, **kw
    )
    data = TensorDataModule(_data(), batch_size=16, seed=seed, validation_fraction=0.25)
    trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
    return model, trainer


def test_seed_everything_repeats_python_numpy_and_torch():
    draws = []
    for _ in range(2):
        seed_everything(123)
        draws.append((random.random(), np.random.rand(), torch.rand(1).item()))  # noqa: NPY002
    assert draws[0] == draws[1]
    seed_everything(124)
    assert torch.rand(1).item() != draws[0][2]


def test_split_indices_is_disjoint_complete_and_seeded():
    train, val = split_indices(10, 0.3, seed=1)
    assert len(val) == 3 and len(train) == 7
    assert sorted([*train, *val]) == list(range(10))
    assert np.array_equal(val, split_indices(10, 0.3, seed=1)[1])
    assert not np.array_equal(val, split_indices(10, 0.3, seed=2)[1])
    assert len(split_indices(3, 0.01, seed=0)[1]) == 1  # at least one validation row


def test_datamodule_serves_dict_batches():
    data = TensorDataModule(_data(n=20), batch_size=8, validation_fraction=0.25)
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"x", "y"}
    assert batch["x"].shape == (8, 3) and batch["x"].dtype == torch.float32
    assert sum(len(b["x"]) for b in data.val_dataloader()) == 5


def test_training_reduces_loss_and_learns_the_weights():
    model, trainer = _fit(30)
    # the data are noiseless: SGD must recover w = (1, -2, 0.5), b = 0.3
    np.testing.assert_allclose(model.linear.weight.detach().numpy()[0], [1.0, -2.0, 0.5], atol=1e-2)
    assert trainer.callback_metrics["val_loss"] < 1e-4


def test_checkpoint_resume_continues_exactly(tmp_path):
    full, _ = _fit(4)
    _fit(2, ckpt_dir=tmp_path)
    assert last_checkpoint(tmp_path) == tmp_path / "last.ckpt"
    resumed, trainer = _fit(4, ckpt_dir=tmp_path, ckpt_path=last_checkpoint(tmp_path))
    assert trainer.current_epoch == 4
    # the epoch order depends on (seed, epoch) only, so 2 + 2 epochs == 4 epochs
    torch.testing.assert_close(resumed.linear.weight, full.linear.weight)
    assert (tmp_path / "logs").is_dir()


def test_early_stopping_stops_before_max_epochs():
    _, trainer = _fit(200, early_stopping_metric="val_loss", patience=2)
    assert trainer.current_epoch < 200


def test_ema_weights_match_a_hand_computed_average():
    seen = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            seen.append(pl_module.linear.weight.detach().clone())

    seed_everything(0)
    model = TinyRegression()
    initial = model.linear.weight.detach().clone()
    trainer = build_trainer(
        2, accelerator="cpu", devices=1, progress=False, ema_decay=0.9, callbacks=[Record()]
    )
    trainer.fit(
        model, datamodule=TensorDataModule(_data(), batch_size=16, validation_fraction=0.25)
    )
    # expected: ema_0 = initial weights; ema_n = d_n ema_{n-1} + (1 - d_n) w_n with the
    # warm-up d_n = min(0.9, (1 + n) / (10 + n)), n = updates before this one (Record runs
    # after the EMA callback, so `seen` holds the post-step weights w_1, w_2, ...)
    ema = initial
    for n, weight in enumerate(seen, start=1):
        d = min(0.9, (1 + n) / (10 + n))
        ema = d * ema + (1 - d) * weight
    torch.testing.assert_close(model.linear.weight.detach(), ema)
    assert not torch.allclose(model.linear.weight.detach(), seen[-1])


def test_ema_is_used_for_validation_and_restored_after():
    ema = EMAWeights(0.5, warmup=False)
    module = nn.Linear(2, 1)
    ema.update(module)
    with torch.no_grad():
        module.weight.add_(1.0)
    raw = module.weight.detach().clone()
    ema.update(module)  # ema = 0.5 * old + 0.5 * raw
    ema.swap_in(module)
    torch.testing.assert_close(module.weight.detach(), raw - 0.5)
    ema.swap_out(module)
    torch.testing.assert_close(module.weight.detach(), raw)


def test_multi_device_uses_ddp_without_code_change():
    trainer = build_trainer(1, accelerator="cpu", devices=2, progress=False)
    assert "DDP" in type(trainer.strategy).__name__
    assert trainer.num_devices == 2


def test_save_load_round_trip_without_pickle(tmp_path):
    module = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    module.eval()
    config = {"sizes": [3, 4, 2], "name": "tiny"}
    extra = {"feature_mean": np.arange(3.0)}
    save_torch_model(tmp_path, module, config, extra_arrays=extra)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "arrays.safetensors",
        "config.json",
        "weights.safetensors",
    ]
    manifest = json.loads((tmp_path / "config.json").read_text())
    assert manifest["config"] == config

    def build(cfg):
        a, b, c = cfg["sizes"]
        return nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.Linear(b, c))

    loaded = load_torch_model(tmp_path, build)
    x = torch.randn(5, 3)
    torch.testing.assert_close(loaded.module(x), module(x))
    np.testing.assert_array_equal(loaded.arrays["feature_mean"], extra["feature_mean"])
    assert loaded.config == config

    with pytest.raises(InputError, match="missing weights"):
        load_torch_model(tmp_path, lambda cfg: nn.Sequential(*build(cfg), nn.Linear(2, 2)))
    with pytest.raises(InputError, match="shape mismatch"):
        load_torch_model(tmp_path, lambda cfg: build({"sizes": [3, 5, 2]}))
    with pytest.raises(InputError, match=r"no config\.json"):
        load_torch_model(tmp_path / "absent", build)


class WorseningValidation(TinyRegression):
    """Logs a validation loss that grows every epoch, so only epoch 0 is ever the best."""

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", torch.tensor(float(self.current_epoch)))


def test_last_checkpoint_is_the_latest_epoch_even_without_a_new_best(tmp_path):
    seed_everything(0)
    trainer = build_trainer(
        3,
        accelerator="cpu",
        devices=1,
        progress=False,
        checkpoint_dir=tmp_path,
        early_stopping_metric="val_loss",
        patience=10,
    )
    data = TensorDataModule(_data(), batch_size=16, seed=0, validation_fraction=0.25)
    trainer.fit(WorseningValidation(), datamodule=data)
    # our own file, written just above: safe to load with weights_only=False
    last = torch.load(last_checkpoint(tmp_path), map_location="cpu", weights_only=False)
    # 3 epochs x 3 batches: the state after the last epoch, not after the best one (epoch 0)
    assert last["global_step"] == trainer.global_step == 9
    best = [p for p in tmp_path.glob("epoch*.ckpt")]
    assert [p.name for p in best] == ["epoch0000.ckpt"]
