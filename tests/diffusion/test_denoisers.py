"""Denoiser building blocks on random tensors: shapes, initialisation, explicit references."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from synthomics.diffusion.denoisers import (
    ConditionEmbedding,
    FeatureEmbeddingLinear,
    FeatureEmbeddingReadout,
    MLPDenoiser,
    WindowDenoiser,
    timestep_embedding,
)
from synthomics.diffusion.process import NULL_CONDITION, GaussianDiffusion


def _inputs(batch: int, n_features: int, cond: torch.Tensor | None = None) -> dict:
    process = GaussianDiffusion(100)
    t = torch.randint(0, 100, (batch,))
    alpha, sigma = process.alpha_sigma(t)
    inputs = {"x_t": torch.randn(batch, n_features), "t": t, "alpha": alpha, "sigma": sigma}
    if cond is not None:
        inputs["cond"] = cond
    return inputs


def test_timestep_embedding_values():
    # hand computed: cos(t * f_k) then sin(t * f_k), f_k = 10000^(-k / half)
    emb = timestep_embedding(torch.tensor([0, 3]), 6)
    assert emb.shape == (2, 6)
    torch.testing.assert_close(emb[0], torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0]))
    freqs = [10000 ** (-k / 3) for k in range(3)]
    expected = [math.cos(3 * f) for f in freqs] + [math.sin(3 * f) for f in freqs]
    torch.testing.assert_close(emb[1], torch.tensor(expected))
    assert timestep_embedding(torch.tensor([1]), 5).shape == (1, 5)


def test_condition_embedding_null_row():
    table = ConditionEmbedding(3, 4)
    out = table(torch.tensor([0, 2, NULL_CONDITION]))
    torch.testing.assert_close(out[2], table.table.weight[3])
    torch.testing.assert_close(out[1], table.table.weight[2])
    with pytest.raises(ValueError, match="n_classes"):
        table(torch.tensor([3]))


def test_feature_embedding_linear_matches_explicit_sum():
    torch.manual_seed(0)
    n_features, n_channels, dim, k = 5, 2, 3, 4
    embedding = torch.randn(n_features, k)
    layer = FeatureEmbeddingLinear(n_features, n_channels, dim, embedding)
    x = torch.randn(7, n_channels, n_features)
    # reference: h_d = b_d + sum_{c,j} x_cj (sum_k e_jk P_ckd + W_cjd), written as loops
    expected = layer.bias.expand(7, dim).clone()
    for c in range(n_channels):
        for j in range(n_features):
            weight = embedding[j] @ layer.projection[c] + layer.free[c, j]
            expected += x[:, c, j, None] * weight[None, :]
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)
    assert layer.embedding.requires_grad is False  # a buffer, not trained


def test_feature_embedding_readout_starts_at_its_bias():
    bias = torch.randn(2, 6)
    readout = FeatureEmbeddingReadout(8, 6, 2, torch.randn(6, 3), bias=bias)
    out = readout(torch.randn(4, 8))
    assert out.shape == (4, 2, 6)
    torch.testing.assert_close(out, bias.expand(4, 2, 6))
    with pytest.raises(ValueError, match="bias shape"):
        FeatureEmbeddingReadout(8, 6, 2, bias=torch.zeros(6))


def test_learned_embedding_is_a_parameter():
    layer = FeatureEmbeddingLinear(4, 1, 3, torch.randn(4, 2), learn_embedding=True)
    assert any(p is layer.embedding for p in layer.parameters())
    with pytest.raises(ValueError, match="embedding shape"):
        FeatureEmbeddingLinear(4, 1, 3, torch.randn(5, 2))


@pytest.mark.parametrize("n_classes", [0, 3])
def test_mlp_denoiser_shapes_and_zero_start(n_classes):
    torch.manual_seed(0)
    net = MLPDenoiser(10, dim=16, n_blocks=2, n_classes=n_classes)
    cond = torch.tensor([0, 2, NULL_CONDITION, 1]) if n_classes else None
    out = net(_inputs(4, 10, cond))["prediction"]
    assert out.shape == (4, 10)
    assert float(out.detach().abs().max()) == 0.0  # zero-initialised output layer
    with pytest.raises(ValueError, match="x_t shape"):
        net(_inputs(4, 9, cond))


def _learns_a_fixed_batch(net: torch.nn.Module, n_features: int) -> None:
    """Sixty Adam steps on one batch halve the v-prediction loss."""
    process = GaussianDiffusion(100, prediction="v")
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    x0 = torch.randn(32, n_features)
    cond = torch.randint(0, 2, (32,))
    t = torch.randint(0, 100, (32,))
    noise = torch.randn(32, n_features)
    losses = []
    for _ in range(60):
        loss = process.training_losses(net, x0, t, cond=cond, noise=noise)["loss"].mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_mlp_denoiser_learns_a_fixed_batch():
    torch.manual_seed(0)
    net = MLPDenoiser(6, dim=32, n_blocks=2, n_classes=2, feature_embedding=torch.randn(6, 3))
    _learns_a_fixed_batch(net, 6)


OFFSETS = [0, 3, 7, 8, 12, 15]  # five windows of uneven width


@pytest.mark.parametrize(("n_classes", "self_conditioning"), [(0, False), (3, True)])
def test_window_denoiser_shapes_and_zero_start(n_classes, self_conditioning):
    torch.manual_seed(0)
    net = WindowDenoiser(
        15, OFFSETS, dim=8, n_blocks=2, n_classes=n_classes, self_conditioning=self_conditioning
    )
    cond = torch.tensor([0, 2, NULL_CONDITION, 1]) if n_classes else None
    out = net(_inputs(4, 15, cond))["prediction"]
    assert out.shape == (4, 15)
    assert float(out.detach().abs().max()) == 0.0  # zero-initialised readout
    with pytest.raises(ValueError, match="x_t shape"):
        net(_inputs(4, 14, cond))
    with pytest.raises(ValueError, match="offsets"):
        WindowDenoiser(15, [0, 3, 3, 15])
    with pytest.raises(ValueError, match="kernel"):
        WindowDenoiser(15, OFFSETS, kernel=2)


def test_window_denoiser_mixes_only_neighbouring_windows_without_the_mean():
    """With the mean-token path off, one block of width 3 carries a change in one window's
    columns to the neighbouring windows and no further; with it on, to every window."""
    torch.manual_seed(0)
    net = WindowDenoiser(15, OFFSETS, dim=8, n_blocks=1, kernel=3)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0, 0.3)
        net.blocks[0].pooled.weight.zero_()
        net.blocks[0].pooled.bias.zero_()
    inputs = _inputs(2, 15)
    changed = {**inputs, "x_t": inputs["x_t"].clone()}
    changed["x_t"][:, 0:3] += 1.0  # window 0
    with torch.no_grad():
        delta = (net(changed)["prediction"] - net(inputs)["prediction"]).abs().amax(dim=0)
    moved = [float(delta[a:b].max()) > 0 for a, b in itertools.pairwise(OFFSETS)]
    assert moved == [True, True, False, False, False]
    with torch.no_grad():
        net.blocks[0].pooled.weight.normal_(0, 0.3)
        delta = (net(changed)["prediction"] - net(inputs)["prediction"]).abs().amax(dim=0)
    assert all(float(delta[a:b].max()) > 0 for a, b in itertools.pairwise(OFFSETS))


def test_window_denoiser_learns_a_fixed_batch():
    torch.manual_seed(0)
    _learns_a_fixed_batch(WindowDenoiser(15, OFFSETS, dim=16, n_blocks=2, n_classes=2), 15)
