"""The published MBEmbed encoder (shared data): read without running its pickle, computed
like a plain re-implementation of its layers, and a malicious pickle beside it refused.

The layout checked here is the one SOURCE.md of ``embeddings/mbembed`` describes:
Linear(902 -> 1024), BatchNorm1d(1024), GELU, Dropout, inputs ``log10(x) + 2`` with exact
zeros at 1e-4 and a name listed k times getting 1/k of its abundance each.
"""

from __future__ import annotations

import builtins
import pickle
import shutil
import zipfile
from collections import Counter

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from synthomics.embeddings.alignment import AlignmentWarning
from synthomics.embeddings.mbembed import (
    CHECKPOINT_NAME,
    REFERENCE_NAME,
    InertObject,
    MBEmbedEncoder,
    read_species_reference,
    read_torch_zip_module,
    unpickle_torch_zip,
)
from synthomics.errors import InputError

pytestmark = pytest.mark.shared

PRIVATE_PACKAGE = "LabData"  # the authors' package named by the pickle (not installable)


@pytest.fixture
def folder(shared_data):
    path = shared_data / "embeddings" / "mbembed"
    if not (path / CHECKPOINT_NAME).is_file():
        pytest.skip(f"MBEmbed encoder not found in {path}")
    return path


def test_loading_runs_no_code_of_the_pickle(folder, monkeypatch):
    # the standard unpickler would import the authors' package to build the encoder
    with zipfile.ZipFile(folder / CHECKPOINT_NAME) as archive:
        data = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    assert f"{PRIVATE_PACKAGE}.".encode() in data
    with pytest.raises(ModuleNotFoundError, match=PRIVATE_PACKAGE):
        pickle.loads(data)  # no persistent_load either, but the import comes first

    imported: list[str] = []
    real_import = builtins.__import__

    def watching_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", watching_import)
    root = unpickle_torch_zip(folder / CHECKPOINT_NAME)
    embedder = MBEmbedEncoder.load(folder)
    monkeypatch.undo()
    assert not [name for name in imported if name.startswith(PRIVATE_PACKAGE)]
    assert isinstance(root, InertObject)  # the private class became an inert record
    assert root.class_path.startswith(PRIVATE_PACKAGE)
    assert root.class_path.endswith("FlexibleEncoder")
    assert embedder.embedding_dim == 1024
    assert len(embedder.reference_taxa) == 902


def test_weights_are_the_stored_bytes(folder):
    encoder, layers = read_torch_zip_module(folder / CHECKPOINT_NAME)
    linear, norm = encoder[0], encoder[1]
    assert [type(m) for m in encoder] == [nn.Linear, nn.BatchNorm1d, nn.GELU, nn.Dropout]
    with zipfile.ZipFile(folder / CHECKPOINT_NAME) as archive:
        storages = {
            name: torch.frombuffer(bytearray(archive.read(name)), dtype=torch.float32)
            for name in archive.namelist()
            if "/data/" in name and archive.getinfo(name).file_size in (902 * 1024 * 4, 4096)
        }
    # the one 902 x 1024 storage is the linear weight, read row-major
    big = [s for s in storages.values() if s.numel() == 902 * 1024]
    assert len(big) == 1
    torch.testing.assert_close(linear.weight.detach(), big[0].reshape(1024, 902))
    # the five 1024-long storages are the bias, the affine and the running statistics
    vectors = [linear.bias, norm.weight, norm.bias, norm.running_mean, norm.running_var]
    small = [s for s in storages.values() if s.numel() == 1024]
    assert len(small) == 5
    for vector in vectors:
        assert sum(torch.equal(vector.detach(), s) for s in small) == 1
    assert bool((norm.running_var > 0).all())
    assert [layer.path for layer in layers] == ["model.0", "model.1", "model.2", "model.3"]


class PlainEncoder(nn.Module):
    """MBEmbed's encoder written out: Linear, batch norm in eval mode, exact GELU
    (dropout is the identity in eval mode)."""

    def __init__(self, weight, bias, gamma, beta, mean, var, eps=1e-5):
        super().__init__()
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.linear.weight.copy_(weight)
            self.linear.bias.copy_(bias)
        self.gamma, self.beta, self.mean, self.var, self.eps = gamma, beta, mean, var, eps

    def forward(self, x):
        z = self.linear(x)
        z = (z - self.mean) / torch.sqrt(self.var + self.eps) * self.gamma + self.beta
        return 0.5 * z * (1.0 + torch.erf(z / np.sqrt(2.0)))


def test_embedding_equals_a_plain_reimplementation(folder):
    embedder = MBEmbedEncoder.load(folder)
    linear, norm = embedder.encoder()[0], embedder.encoder()[1]
    plain = PlainEncoder(
        linear.weight.detach(),
        linear.bias.detach(),
        norm.weight.detach(),
        norm.bias.detach(),
        norm.running_mean,
        norm.running_var,
        norm.eps,
    ).eval()
    reference = read_species_reference(folder / REFERENCE_NAME)
    counts = Counter(reference)
    duplicated = next(name for name, k in counts.items() if k > 1 and name != "unknown")
    unique = [name for name, k in counts.items() if k == 1][:40]
    names = [duplicated, *unique]
    rng = np.random.default_rng(0)
    fractions = rng.dirichlet(np.ones(len(names)), size=6)
    fractions[:, 5:15] = 0.0  # absent taxa
    fractions /= fractions.sum(axis=1, keepdims=True)
    table = ad.AnnData(fractions, var=pd.DataFrame(index=names))
    table.obs_names = [f"s{i}" for i in range(6)]

    # MBEmbed's preprocessing by hand: reference order, duplicates split, zeros at 1e-4
    inputs = np.zeros((6, len(reference)))
    for j, name in enumerate(names):
        positions = [p for p, r in enumerate(reference) if r == name]
        for p in positions:
            inputs[:, p] += fractions[:, j] / len(positions)
    inputs = np.log10(np.where(inputs == 0.0, 1e-4, inputs)) + 2.0
    with torch.no_grad():
        expected = plain(torch.as_tensor(inputs, dtype=torch.float32)).numpy()

    with pytest.warns(AlignmentWarning):  # 42 of 894 reference taxa present
        got = embedder.embed(table, units="proportion")
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert embedder.last_alignment.n_found == len(unique) + counts[duplicated]


def test_a_malicious_pickle_beside_the_encoder_is_refused(folder, tmp_path):
    for name in (CHECKPOINT_NAME, REFERENCE_NAME):
        shutil.copy(folder / name, tmp_path / name)
    flag = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {flag}",))

    torch.save({"model": Evil()}, tmp_path / "evil.pkl")
    with pytest.raises(InputError, match="not a pickled module"):
        MBEmbedEncoder.load(tmp_path, checkpoint="evil.pkl")
    assert not flag.exists()
    # the published checkpoint beside it still loads, by its name
    assert MBEmbedEncoder.load(tmp_path).embedding_dim == 1024
    assert not flag.exists()
