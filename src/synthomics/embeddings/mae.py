"""The masked autoencoder module: pure torch, no AnnData, no Lightning.

A profile ``x`` (samples x taxa, already transformed, e.g. log10 with a floor) is
corrupted by replacing a set fraction of its entries with a mask token; an MLP encoder
(blocks of linear layer, normalisation, GELU, dropout) maps the corrupted profile to an
embedding, the activations of its last block, and an MLP decoder reconstructs every taxon.
With ``encoder_sizes=(1024,)`` and ``norm="batch"`` the encoder has MBEmbed's layout
(Linear, BatchNorm1d, GELU, Dropout; Zahavi et al. 2025); the default uses LayerNorm, so
that a sample's embedding never depends on the batch it is computed in. The loss is the
mean squared error on the masked entries (plus, optionally, a small weight on the
visible ones).

Masking draws two sets per sample and masks their union:

* ``mask_rate`` of all taxa, uniformly;
* ``present_mask_rate`` of the taxa *present* in the sample (``present`` given with the
  batch, or ``x > absent_value``). Most taxa are absent from any one profile, so uniform
  masking alone mostly asks the model to predict zeros; masking present taxa separately
  makes it predict abundances too.

Each eligible entry is drawn independently with the set rate, so the expected masked
fraction is exactly the rate.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass
class MAELoss:
    """Loss record of one batch."""

    loss: torch.Tensor
    masked_mse: torch.Tensor
    visible_mse: torch.Tensor
    masked_fraction: torch.Tensor


def _mlp(sizes: Sequence[int], dropout: float, norm: str, final_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        last = i == len(sizes) - 2
        if last and not final_activation:
            break
        if norm == "layer":
            layers.append(nn.LayerNorm(n_out))
        elif norm == "batch":
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(nn.GELU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def choose_fraction(
    eligible: torch.Tensor, fraction: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pick each eligible entry independently with probability ``fraction``.

    Parameters
    ----------
    eligible
        Boolean ``(batch, taxa)``: which entries may be picked.
    fraction
        In [0, 1]: the expected fraction of each row's eligible entries that is picked.
    generator
        Torch generator for reproducible masks.

    Returns
    -------
    torch.Tensor
        Boolean, same shape, a subset of ``eligible``.

    Notes
    -----
    Independent draws rather than exactly ``round(fraction * n)`` picks per row: an exact
    count needs a sort of every row, which cost more than the network's forward and
    backward passes on CPU; the two differ only in the spread of the per-row count.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"mask fraction must be in [0, 1], got {fraction}")
    if fraction == 0.0:
        return torch.zeros_like(eligible)
    draws = torch.rand(eligible.shape, generator=generator, device=eligible.device)
    return (draws < fraction) & eligible


class MaskedAutoencoderModule(nn.Module):
    """MLP masked autoencoder over transformed abundance profiles.

    Parameters
    ----------
    n_taxa
        Number of input taxa.
    encoder_sizes
        Widths of the encoder blocks; the last is the embedding width, e.g. ``(1024,)``.
    decoder_sizes
        Hidden widths of the decoder between the embedding and the output layer
        (``()``: one linear layer).
    dropout
        Dropout after each hidden activation.
    norm
        ``"layer"`` (default; embeddings do not depend on the batch), ``"batch"`` or
        ``"none"``.
    mask_rate
        Fraction of all taxa masked per sample.
    present_mask_rate
        Fraction of the present taxa masked per sample (in addition).
    mask_token
        ``"learned"``: one learned value per taxon (initialised at ``absent_value``);
        ``"zero"``: the constant 0.
    absent_value
        Transformed value of an absent taxon (-2 for log10 with a 1e-4 floor); used to
        find present taxa when the batch has no ``present`` entry, and to initialise the
        learned token.
    visible_loss_weight
        Weight of the reconstruction error on visible entries (0: masked entries only).
    input_scaling
        ``"none"``: the encoder reads the transformed profile; ``"standard"``: each taxon
        is centred and scaled by statistics set with :meth:`set_input_statistics` (and
        clipped to +-10), as the raw-abundance baselines do, so that rare taxa weigh as
        much as common ones in the encoder's input. Reconstruction stays in the
        transformed scale either way.
    """

    def __init__(
        self,
        n_taxa: int,
        *,
        encoder_sizes: Sequence[int] = (1024,),
        decoder_sizes: Sequence[int] = (),
        dropout: float = 0.1,
        norm: Literal["layer", "batch", "none"] = "layer",
        mask_rate: float = 0.3,
        present_mask_rate: float = 0.3,
        mask_token: Literal["learned", "zero"] = "learned",
        absent_value: float = 0.0,
        visible_loss_weight: float = 0.0,
        input_scaling: Literal["none", "standard"] = "none",
    ):
        super().__init__()
        if input_scaling not in ("none", "standard"):
            raise ValueError(f"input_scaling must be 'none' or 'standard', got {input_scaling!r}")
        if norm not in ("layer", "batch", "none"):
            raise ValueError(f"norm must be 'layer', 'batch' or 'none', got {norm!r}")
        if mask_token not in ("learned", "zero"):
            raise ValueError(f"mask_token must be 'learned' or 'zero', got {mask_token!r}")
        for name, rate in (("mask_rate", mask_rate), ("present_mask_rate", present_mask_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {rate}")
        if mask_rate == 0 and present_mask_rate == 0:
            raise ValueError("at least one of mask_rate and present_mask_rate must be > 0")
        encoder_sizes, decoder_sizes = list(encoder_sizes), list(decoder_sizes)
        if not encoder_sizes or min(encoder_sizes) < 1 or min(decoder_sizes, default=1) < 1:
            raise ValueError(
                f"encoder_sizes must be one or more positive widths, got "
                f"{encoder_sizes}; decoder_sizes {decoder_sizes}"
            )
        self.n_taxa = int(n_taxa)
        self.embedding_dim = int(encoder_sizes[-1])
        self.mask_rate = float(mask_rate)
        self.present_mask_rate = float(present_mask_rate)
        self.absent_value = float(absent_value)
        self.visible_loss_weight = float(visible_loss_weight)
        self.encoder = _mlp([self.n_taxa, *encoder_sizes], dropout, norm, final_activation=True)
        self.decoder = _mlp(
            [self.embedding_dim, *decoder_sizes, self.n_taxa], dropout, norm, final_activation=False
        )
        if mask_token == "learned":
            self.mask_token = nn.Parameter(torch.full((self.n_taxa,), self.absent_value))
        else:
            self.register_buffer("mask_token", torch.zeros(self.n_taxa))
        self.input_scaling = input_scaling
        self.register_buffer("input_mean", torch.zeros(self.n_taxa))
        self.register_buffer("input_scale", torch.ones(self.n_taxa))

    @torch.no_grad()
    def set_input_statistics(self, x: torch.Tensor, min_scale: float = 0.1) -> None:
        """Set the centring and scaling of ``input_scaling="standard"`` from training data
        (per-taxon mean and standard deviation, the latter floored at ``min_scale``)."""
        self.input_mean.copy_(x.mean(dim=0))
        self.input_scale.copy_(x.std(dim=0).clamp(min=min_scale))

    def present(self, x: torch.Tensor) -> torch.Tensor:
        """Boolean ``(batch, taxa)``: entries above the absent value."""
        return x > self.absent_value + 1e-6

    def random_mask(
        self,
        x: torch.Tensor,
        present: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Boolean mask: ``mask_rate`` of all taxa united with ``present_mask_rate`` of the
        present ones (see the module docstring)."""
        if present is None:
            present = self.present(x)
        everywhere = torch.ones_like(present)
        mask = choose_fraction(everywhere, self.mask_rate, generator)
        return mask | choose_fraction(present, self.present_mask_rate, generator)

    def apply_mask(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` with masked entries replaced by the mask token."""
        return torch.where(mask, self.mask_token.to(x.dtype).expand_as(x), x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Embedding of profiles, ``(batch, embedding_dim)`` (call ``eval()`` first to
        turn dropout off)."""
        if x.shape[-1] != self.n_taxa:
            raise ValueError(f"expected {self.n_taxa} taxa, got {x.shape[-1]}")
        if self.input_scaling == "standard":
            x = ((x - self.input_mean) / self.input_scale).clamp(-10.0, 10.0)
        return self.encoder(x)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode the (masked) profile and reconstruct it: ``(embedding, reconstruction)``."""
        corrupted = x if mask is None else self.apply_mask(x, mask)
        z = self.encode(corrupted)
        return z, self.decoder(z)

    def loss(
        self,
        batch: dict[str, torch.Tensor],
        generator: torch.Generator | None = None,
    ) -> MAELoss:
        """Masked-reconstruction loss of a batch ``{"x": ..., "present": ... (optional)}``."""
        x = batch["x"]
        mask = self.random_mask(x, batch.get("present"), generator)
        _, reconstruction = self(x, mask)
        squared = (reconstruction - x) ** 2
        maskf = mask.to(x.dtype)
        n_masked = maskf.sum().clamp(min=1.0)
        n_visible = (1.0 - maskf).sum().clamp(min=1.0)
        masked_mse = (squared * maskf).sum() / n_masked
        visible_mse = (squared * (1.0 - maskf)).sum() / n_visible
        loss = masked_mse + self.visible_loss_weight * visible_mse
        return MAELoss(loss, masked_mse.detach(), visible_mse.detach(), maskf.mean().detach())
