"""Input transforms and the masked autoencoder module (random tensors, no AnnData)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthomics.embeddings.mae import MaskedAutoencoderModule, choose_fraction
from synthomics.embeddings.transforms import AbundanceTransform

torch.set_num_threads(1)


def test_log10_transform_hand_values():
    # log10(max(x, 1e-4)) + 2: 0 -> -2, 1e-5 -> -2 (floored), 1e-2 -> 0, 0.5 -> 1.69897, 1 -> 2
    x = np.array([[0.0, 1e-5, 1e-2, 0.5, 1.0]])
    np.testing.assert_allclose(
        AbundanceTransform("log10")(x), [[-2.0, -2.0, 0.0, np.log10(0.5) + 2, 2.0]], rtol=1e-6
    )
    # MBEmbed's variant replaces only exact zeros: 1e-5 -> -3
    np.testing.assert_allclose(AbundanceTransform("log10_zeros")(x)[0, :2], [-2.0, -3.0])
    assert AbundanceTransform("log10").absent_value == -2.0


def test_clr_matches_the_definition():
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(6), size=4)
    x[0, 2] = 0.0
    floored = np.maximum(x, 1e-4)
    # Aitchison's definition, by hand: ln x_i - mean_j ln x_j
    expected = np.log(floored) - np.log(floored).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(AbundanceTransform("clr")(x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(AbundanceTransform("clr")(x).sum(axis=1), 0.0, atol=1e-5)


def test_transform_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown transform"):
        AbundanceTransform("sqrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        AbundanceTransform()(np.array([[-0.1, 1.1]]))
    spec = AbundanceTransform("clr", 1e-5).to_dict()
    assert AbundanceTransform.from_dict(spec) == AbundanceTransform("clr", 1e-5)


def test_choose_fraction_picks_the_rate_among_eligible_only():
    generator = torch.Generator().manual_seed(0)
    eligible = torch.rand(400, 300, generator=generator) < 0.2
    picked = choose_fraction(eligible, 0.3, generator)
    assert not (picked & ~eligible).any()
    rate = picked.sum().item() / eligible.sum().item()
    # binomial: sd of the rate = sqrt(0.3 * 0.7 / ~24000) ~ 0.003
    assert abs(rate - 0.3) < 0.015
    assert not choose_fraction(eligible, 0.0).any()


def test_mask_unites_uniform_and_present_masks():
    module = MaskedAutoencoderModule(
        200, encoder_sizes=(8,), mask_rate=0.15, present_mask_rate=0.5, absent_value=-2.0
    )
    generator = torch.Generator().manual_seed(1)
    x = torch.full((300, 200), -2.0)
    present = torch.rand(300, 200, generator=generator) < 0.1
    x[present] = 0.5
    mask = module.random_mask(x, generator=generator)  # present found from x > -2
    absent_rate = mask[~present].float().mean().item()
    present_rate = mask[present].float().mean().item()
    # absent taxa: only the uniform mask (0.15); present: 1 - (1 - 0.15)(1 - 0.5) = 0.575
    assert abs(absent_rate - 0.15) < 0.01
    assert abs(present_rate - 0.575) < 0.03


def test_masked_entries_get_the_token_and_only_they_enter_the_loss():
    torch.manual_seed(0)
    module = MaskedAutoencoderModule(
        6, encoder_sizes=(5,), mask_rate=0.3, dropout=0.0, absent_value=-2.0
    )
    with torch.no_grad():
        module.mask_token.copy_(torch.arange(6.0) + 10)
    x = torch.randn(4, 6)
    mask = torch.zeros(4, 6, dtype=torch.bool)
    mask[0, 1] = mask[2, 5] = True
    corrupted = module.apply_mask(x, mask)
    assert corrupted[0, 1] == 11.0 and corrupted[2, 5] == 15.0
    assert torch.equal(corrupted[~mask], x[~mask])

    module.random_mask = lambda x, present=None, generator=None: mask  # fixed mask
    out = module.loss({"x": x})
    _, reconstruction = module(x, mask)
    expected = ((reconstruction - x)[mask] ** 2).mean()  # by hand: masked entries only
    torch.testing.assert_close(out.masked_mse, expected.detach())
    torch.testing.assert_close(out.loss, expected)
    assert out.masked_fraction.item() == pytest.approx(2 / 24)


def test_zero_token_is_a_constant_buffer_and_shapes():
    module = MaskedAutoencoderModule(
        10, encoder_sizes=(16, 8), decoder_sizes=(16,), mask_token="zero"
    )
    assert "mask_token" not in dict(module.named_parameters())
    assert torch.equal(module.mask_token, torch.zeros(10))
    z, reconstruction = module(torch.randn(3, 10))
    assert z.shape == (3, 8) and reconstruction.shape == (3, 10)
    assert module.embedding_dim == 8
    with pytest.raises(ValueError, match="expected 10 taxa"):
        module.encode(torch.randn(3, 9))


@pytest.mark.parametrize(
    "bad",
    [
        {"mask_rate": 1.0},
        {"mask_rate": 0.0, "present_mask_rate": 0.0},
        {"norm": "group"},
        {"encoder_sizes": ()},
    ],
)
def test_invalid_options_raise(bad):
    with pytest.raises(ValueError):
        MaskedAutoencoderModule(5, **bad)


def test_standard_input_scaling_centres_and_clips_encoder_input():
    module = MaskedAutoencoderModule(3, encoder_sizes=(4,), input_scaling="standard")
    x = torch.tensor([[0.0, -2.0, 1.0], [2.0, -2.0, 3.0], [4.0, -2.0, 5.0]])
    module.set_input_statistics(x)
    # by hand: means (2, -2, 3); sds (2, 0 -> floored 0.1, 2)
    torch.testing.assert_close(module.input_mean, torch.tensor([2.0, -2.0, 3.0]))
    torch.testing.assert_close(module.input_scale, torch.tensor([2.0, 0.1, 2.0]))
    seen = []
    module.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    module.encode(torch.tensor([[4.0, 0.0, 3.0]]))
    # (4 - 2) / 2 = 1; (0 + 2) / 0.1 = 20 -> clipped to 10; (3 - 3) / 2 = 0
    torch.testing.assert_close(seen[0], torch.tensor([[1.0, 10.0, 0.0]]))
