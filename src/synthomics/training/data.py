"""A small Lightning data module for in-memory tensors, split into training and validation.

Batches are dicts of tensors (``{"x": ..., "y": ...}``), the layout the torch modules of
synthomics take.
"""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class DictTensorDataset(Dataset):
    """Rows of several aligned tensors, returned as a dict per row."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]):
        lengths = {k: len(v) for k, v in tensors.items()}
        if not tensors or len(set(lengths.values())) != 1:
            raise ValueError(f"tensors must be non-empty and of equal length, got {lengths}")
        self.tensors = dict(tensors)
        self.n = next(iter(lengths.values()))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}


class EpochSeededSampler(Sampler[int]):
    """Random order of ``range(n)`` drawn from ``seed + epoch``.

    Lightning calls :meth:`set_epoch` before every epoch, so the order of each epoch depends
    only on the seed and the epoch number: a run resumed from a checkpoint sees the same
    batches as an uninterrupted one.
    """

    def __init__(self, n: int, seed: int = 0):
        self.n = int(n)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + 1_000_003 * self.epoch)
        return iter(torch.randperm(self.n, generator=generator).tolist())


def split_indices(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/validation split of ``range(n)``, reproducible from ``seed``.

    The validation set has ``round(n * validation_fraction)`` rows, at least one when the
    fraction is positive and ``n >= 2``; both index arrays are sorted.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    n_val = round(n * validation_fraction)
    if validation_fraction > 0 and n >= 2:
        n_val = max(n_val, 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _as_tensor(value: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(value)
    if torch.is_floating_point(tensor):
        tensor = tensor.to(torch.float32)
    return tensor


class TensorDataModule(L.LightningDataModule):
    """Serve in-memory arrays to a Lightning trainer, with a seeded validation split.

    Parameters
    ----------
    tensors
        Named arrays with the same first dimension, e.g. ``{"x": X}``; floating arrays are
        cast to float32. A single array is taken as ``{"x": array}``.
    validation_fraction
        Fraction of rows held out for validation (0: no validation loader).
    batch_size
        Rows per batch.
    seed
        Seeds the split and the shuffling order (a function of seed and epoch, see
        :class:`EpochSeededSampler`).
    num_workers
        Data-loader worker processes (0 keeps everything in the main process, the right
        choice for in-memory tensors).
    drop_last
        Drop the last incomplete training batch (useful with batch normalisation).
    """

    def __init__(
        self,
        tensors: Mapping[str, np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor,
        *,
        validation_fraction: float = 0.1,
        batch_size: int = 128,
        seed: int = 0,
        num_workers: int = 0,
        drop_last: bool = False,
    ):
        super().__init__()
        if not isinstance(tensors, Mapping):
            tensors = {"x": tensors}
        self.tensors = {k: _as_tensor(v) for k, v in tensors.items()}
        n = len(next(iter(self.tensors.values())))
        self.train_index, self.val_index = split_indices(n, validation_fraction, seed)
        if len(self.train_index) == 0:
            raise ValueError(f"no training rows left ({n} rows, validation {validation_fraction})")
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.num_workers = int(num_workers)
        self.drop_last = drop_last and len(self.train_index) > self.batch_size

    def _subset(self, index: np.ndarray) -> DictTensorDataset:
        idx = torch.as_tensor(index, dtype=torch.long)
        return DictTensorDataset({k: v[idx] for k, v in self.tensors.items()})

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            self._subset(self.train_index),
            batch_size=self.batch_size,
            sampler=EpochSeededSampler(len(self.train_index), self.seed),
            drop_last=self.drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def val_dataloader(self) -> DataLoader | list:
        if len(self.val_index) == 0:
            return []
        return DataLoader(
            self._subset(self.val_index),
            batch_size=max(self.batch_size, 1024),
            shuffle=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
