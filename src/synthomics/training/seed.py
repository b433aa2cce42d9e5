"""Seeding: one call makes a run repeatable (Python, NumPy, torch, data-loader workers)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Seed every random number generator a training run touches.

    Seeds Python's :mod:`random`, NumPy's legacy global generator, torch (CPU and all
    CUDA devices) and sets ``PL_GLOBAL_SEED`` so that Lightning seeds data-loader workers
    and DDP processes the same way (what :func:`lightning.seed_everything` does with
    ``workers=True``).

    Parameters
    ----------
    seed
        The seed, a non-negative integer below 2**32.
    deterministic
        Also ask torch for deterministic kernels (``torch.use_deterministic_algorithms``
        in warn-only mode, cuDNN deterministic and not benchmarking, and the cuBLAS
        workspace setting CUDA needs for that). On CPU this changes nothing in speed.

    Returns
    -------
    int
        The seed, for logging.
    """
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    import lightning

    lightning.seed_everything(seed, workers=True, verbose=False)
    # lightning seeds these too; repeated here so the contract does not depend on it
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global generator, used by third-party code
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return seed


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded with ``seed`` (for sampling that must not touch global state)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
