"""Safe import of an MBEmbed-style checkpoint: tensors read without running pickle code."""

from __future__ import annotations

import pickle
import sys
import types
import zipfile

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from synthomics.embeddings import load_embedder
from synthomics.embeddings.mbembed import (
    MBEmbedEncoder,
    read_species_reference,
    read_torch_zip_module,
    unpickle_torch_zip,
)
from synthomics.errors import InputError

CALLS: list[str] = []
N_TAXA, WIDTH = 12, 16


def _fake_private_package() -> types.ModuleType:
    """A throwaway module holding an encoder class whose code records every call."""
    module = types.ModuleType("private_mbembed_pkg")

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(N_TAXA, WIDTH), nn.BatchNorm1d(WIDTH), nn.GELU(), nn.Dropout(0.1)
            )

        def forward(self, x):
            CALLS.append("forward")
            return self.net(x)

        def __setstate__(self, state):
            CALLS.append("__setstate__")
            super().__setstate__(state)

    Encoder.__module__ = module.__name__
    Encoder.__qualname__ = "Encoder"
    module.Encoder = Encoder
    return module


@pytest.fixture
def mbembed_folder(tmp_path):
    """An MBEmbed-layout folder whose checkpoint pickles a class of a module that no longer
    exists, plus the original model's state and outputs to compare with."""
    fake = _fake_private_package()
    sys.modules[fake.__name__] = fake
    try:
        torch.manual_seed(0)
        model = fake.Encoder()
        with torch.no_grad():  # non-trivial batch-norm statistics
            model.net[1].running_mean.uniform_(-1, 1)
            model.net[1].running_var.uniform_(0.5, 2)
        model.eval()
        torch.save(model, tmp_path / "mae30_encoder_full.pkl")
        x = torch.randn(7, N_TAXA)
        expected = model(x).detach()
        state = {k: v.clone() for k, v in model.state_dict().items()}
    finally:
        del sys.modules[fake.__name__]
    species = [f"Genus{i} species{i}" for i in range(N_TAXA)]
    order = list(range(N_TAXA))[::-1]  # the order column reverses the file order
    pd.DataFrame(
        {"species_name": species, "rep_id": [f"Rep_{i}" for i in range(N_TAXA)], "order": order}
    ).to_csv(tmp_path / "model_species_reference.csv", index=False)
    CALLS.clear()
    return tmp_path, x, expected, state, species[::-1]


def test_normal_unpickling_fails_once_the_package_is_gone(mbembed_folder):
    folder = mbembed_folder[0]
    with pytest.raises((ModuleNotFoundError, AttributeError, pickle.UnpicklingError)):
        torch.load(folder / "mae30_encoder_full.pkl", weights_only=False)


def test_safe_reader_recovers_the_same_tensors_without_calling_class_code(mbembed_folder):
    folder, x, expected, state, _ = mbembed_folder
    encoder, layers = read_torch_zip_module(folder / "mae30_encoder_full.pkl")
    assert [la.class_path.rsplit(".", 1)[1] for la in layers] == [
        "Linear",
        "BatchNorm1d",
        "GELU",
        "Dropout",
    ]
    rebuilt = {f"net.{k}": v for k, v in encoder.state_dict().items()}
    assert rebuilt.keys() == state.keys()
    for key, value in state.items():
        torch.testing.assert_close(rebuilt[key], value, rtol=0, atol=0)
    torch.testing.assert_close(encoder(x), expected)
    assert CALLS == []  # neither __setstate__ nor forward of the pickled class ran


def test_mbembed_embedder_aligns_and_embeds(mbembed_folder):
    folder, _, _, _, reference = mbembed_folder
    embedder = load_embedder(folder)
    assert isinstance(embedder, MBEmbedEncoder)
    assert embedder.reference_taxa == reference
    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(N_TAXA), size=5) * 100  # percent
    names = [f"s__{n.replace(' ', '_')}" for n in reference]
    adata = ad.AnnData(X, var=pd.DataFrame(index=names))
    adata.uns["units"] = "percent"
    Z = embedder.embed(adata)
    # independent reference: MBEmbed's published preprocessing by hand
    x = torch.tensor(np.log10(np.where(X == 0, 1e-4, X / 100)) + 2, dtype=torch.float32)
    torch.testing.assert_close(torch.from_numpy(Z), embedder.encoder()(x).detach())
    assert Z.shape == (5, WIDTH)
    assert embedder.last_alignment.fraction_found == 1.0


def test_malicious_pickle_is_never_executed(tmp_path):
    flag = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {flag}",))

    torch.save({"model": Evil()}, tmp_path / "evil.pkl")
    obj = unpickle_torch_zip(tmp_path / "evil.pkl")  # os.system became an inert stub
    assert not flag.exists()
    assert type(obj["model"]).__name__ == "system"
    with pytest.raises(InputError, match="not a pickled module"):
        read_torch_zip_module(tmp_path / "evil.pkl")
    assert not flag.exists()


def test_unknown_layers_and_bad_files_are_refused(tmp_path):
    torch.save(nn.Sequential(nn.Linear(3, 3), nn.Conv1d(1, 1, 1)), tmp_path / "conv.pkl")
    with pytest.raises(InputError, match="Conv1d"):
        read_torch_zip_module(tmp_path / "conv.pkl")
    (tmp_path / "junk.pkl").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(InputError, match="not a torch zip"):
        read_torch_zip_module(tmp_path / "junk.pkl")
    with zipfile.ZipFile(tmp_path / "empty.pkl", "w") as z:
        z.writestr("x/other.txt", "")
    with pytest.raises(InputError, match=r"one data\.pkl"):
        read_torch_zip_module(tmp_path / "empty.pkl")


def test_reference_order_column_is_validated(tmp_path):
    path = tmp_path / "ref.csv"
    pd.DataFrame({"species_name": ["a b", "c d", "e f"], "order": [2, 0, 1]}).to_csv(
        path, index=False
    )
    assert read_species_reference(path) == ["c d", "e f", "a b"]
    pd.DataFrame({"species_name": ["a b", "c d"], "order": [0, 0]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="permutation"):
        read_species_reference(path)


def test_declared_layer_sizes_are_bounded_before_any_allocation(tmp_path):
    # a crafted pickle: a Linear whose attributes claim 10^9 x 10^9 weights (4 EB of float32)
    # over a 3 x 3 stored weight; nn.Linear(10**9, 10**9) would try to allocate all of it
    layer = nn.Linear(3, 3)
    layer.in_features = layer.out_features = 10**9
    torch.save(nn.Sequential(layer), tmp_path / "huge.pkl")
    with pytest.raises(InputError, match=r"huge\.pkl: layer '0' declares 1000000000000000000 w"):
        read_torch_zip_module(tmp_path / "huge.pkl")
    layer.in_features = layer.out_features = 4  # small, but not the stored 3 x 3 weight
    torch.save(nn.Sequential(layer), tmp_path / "lying.pkl")
    with pytest.raises(InputError, match=r"declares sizes \(4, 4\) but holds a weight of shape"):
        read_torch_zip_module(tmp_path / "lying.pkl")
    layer.in_features = -1
    torch.save(nn.Sequential(layer), tmp_path / "negative.pkl")
    with pytest.raises(InputError, match="declares the size -1"):
        read_torch_zip_module(tmp_path / "negative.pkl")
