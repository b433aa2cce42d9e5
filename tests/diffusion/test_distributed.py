"""A real multi-process run: Lightning DDP over two CPU processes (gloo)."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.datasets import synthetic_microbiome
from synthomics.generators import load_generator
from synthomics.microbiome_diffusion import MicrobiomeDiffusion


@pytest.mark.slow
def test_two_process_ddp_trains_saves_loads_and_samples(tmp_path):
    pytest.importorskip("torch.distributed")
    adata = synthetic_microbiome(n_samples=48, n_taxa=12, seed=0)
    model = MicrobiomeDiffusion(
        size="tiny",
        taxon_embedding="none",
        max_steps=6,
        batch_size=8,
        validation_fraction=0.0,
        sampling_steps=4,
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",  # "ddp" would re-run the pytest command in a second process
        progress=False,
        seed=0,
    )
    model.fit(adata)
    # each of the 2 processes sees half of the 48 rows per epoch in batches of 8: 3 steps
    # per epoch, so the 6 steps take 2 epochs (the step count is the same in each process)
    assert (model.fit_record_["steps"], model.fit_record_["epochs"]) == (6, 2)
    assert not model.fit_record_["stopped_early"]
    model.save(tmp_path / "model")
    loaded = load_generator(tmp_path / "model")
    a, b = model.sample(7, seed=2), loaded.sample(7, seed=2)
    assert a.shape == (7, adata.n_vars)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))
    np.testing.assert_allclose(np.asarray(a.X).sum(axis=1), 1.0)
