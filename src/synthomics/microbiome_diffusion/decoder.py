"""The sparsity-preserving decoder: per-taxon presence logits, hard presence and its loss.

Microbial profiles are mostly zeros (85 % of the Nielsen IBD table), and which taxa are
present carries much of their biology. The microbiome diffusion model therefore predicts,
for every taxon, a *presence logit* :math:`\\ell_j` next to its abundance, and decodes
generated profiles with hard 0/1 presence. Three pieces live here:

:class:`PresenceHead`
    :math:`\\ell = W h + b` with per-taxon weights (optionally factorised through the
    taxon embedding) that start at zero, and a bias that starts at
    :math:`\\operatorname{logit}(\\text{observed prevalence})` (*prevalence-aware
    initialisation*): a fresh model already predicts each taxon's presence rate, which is
    also the Bayes-optimal presence prediction from pure noise, the first thing the
    diffusion model has to learn.
:func:`straight_through_bernoulli` / :func:`straight_through_threshold`
    Hard presence with straight-through gradients (Bengio et al. 2013): the forward value is
    a 0/1 draw (or threshold) of :math:`\\sigma(\\ell)`, the backward pass uses the
    gradient of the soft relaxation :math:`\\sigma(\\ell)`.
:func:`sparsity_loss`
    Matches the per-taxon prevalence and the per-sample richness (number of present taxa)
    of a generated batch of hard presences to those of the real batch.

:func:`presence_from_x0` turns the denoised presence channel into hard presence at
sampling time, keeping at least one taxon per sample.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthomics.diffusion.denoisers import FeatureEmbeddingReadout, table_rows

__all__ = [
    "PresenceHead",
    "presence_from_x0",
    "prevalence_logit",
    "sparsity_loss",
    "straight_through_bernoulli",
    "straight_through_threshold",
]


def prevalence_logit(prevalence: np.ndarray | torch.Tensor, n_samples: int) -> torch.Tensor:
    """:math:`\\operatorname{logit}(p)` with ``p`` clipped to :math:`[1/(2n), 1 - 1/(2n)]`.

    The clip keeps taxa seen in no sample (or in every sample) finite, at the value of half
    a sample, the usual continuity correction.

    Parameters
    ----------
    prevalence
        Observed fraction of samples in which each taxon is present.
    n_samples
        Number of samples the prevalence was counted on.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    p = torch.as_tensor(np.asarray(prevalence, dtype=np.float64))
    half = 0.5 / n_samples
    p = p.clamp(half, 1 - half)
    return torch.log(p) - torch.log1p(-p)


class PresenceHead(nn.Module):
    """Per-taxon presence logits from the denoiser's hidden state.

    Parameters
    ----------
    dim
        Width of the hidden state.
    n_taxa
        Number of taxa.
    prevalence
        Observed per-taxon prevalence (training data); used for the bias when
        ``prevalence_init``.
    n_samples
        Number of training samples (for the clip of :func:`prevalence_logit`).
    prevalence_init
        Start the bias at logit(prevalence) (default) or at 0 (presence probability 1/2,
        the ablation).
    taxon_embedding
        Optional ``(n_taxa, K)`` taxon identity for a factorised weight (see
        :class:`~synthomics.diffusion.denoisers.FeatureEmbeddingReadout`).
    learn_embedding
        Train ``taxon_embedding`` too.
    n_classes
        Condition levels of a conditional model (0: unconditional). Each level gets a
        learned per-taxon offset of the bias; the null condition of classifier-free
        guidance gets none.
    class_prevalence, class_sizes
        ``(n_classes, n_taxa)`` observed prevalence and ``(n_classes,)`` number of training
        samples per level: with ``prevalence_init`` the offsets start at
        logit(level prevalence) - logit(prevalence), the level prevalence shrunk towards the
        overall one by one pseudo-sample, so that a fresh conditional model reproduces each
        level's presence rates too.
    """

    def __init__(
        self,
        dim: int,
        n_taxa: int,
        prevalence: np.ndarray | None = None,
        n_samples: int | None = None,
        *,
        prevalence_init: bool = True,
        taxon_embedding: torch.Tensor | None = None,
        learn_embedding: bool = False,
        n_classes: int = 0,
        class_prevalence: np.ndarray | None = None,
        class_sizes: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        bias = torch.zeros(1, n_taxa)
        offsets = torch.zeros(n_classes + 1, n_taxa)
        if prevalence_init:
            if prevalence is None or n_samples is None:
                raise ValueError("prevalence_init needs the observed prevalence and n_samples")
            if len(prevalence) != n_taxa:
                raise ValueError(f"{len(prevalence)} prevalences for {n_taxa} taxa")
            bias = prevalence_logit(prevalence, n_samples).float()[None, :]
            if n_classes and class_prevalence is not None and class_sizes is not None:
                class_prevalence = np.asarray(class_prevalence, dtype=np.float64)
                if class_prevalence.shape != (n_classes, n_taxa):
                    raise ValueError(
                        f"class_prevalence shape {class_prevalence.shape}; expected "
                        f"({n_classes}, {n_taxa})"
                    )
                for c, size in enumerate(np.asarray(class_sizes, dtype=np.float64)):
                    shrunk = (class_prevalence[c] * size + np.asarray(prevalence)) / (size + 1)
                    offsets[c] = prevalence_logit(shrunk, int(size) + 1).float() - bias[0]
        self.readout = FeatureEmbeddingReadout(
            dim, n_taxa, 1, taxon_embedding, learn_embedding, bias=bias
        )
        self.n_classes = n_classes
        self.class_offset = nn.Parameter(offsets) if n_classes else None

    @property
    def bias(self) -> torch.Tensor:
        """The per-taxon bias ``(n_taxa,)``."""
        return self.readout.bias[0]

    def forward(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, n_taxa)`` from hidden states ``(B, dim)`` (and class indices ``(B,)``)."""
        logits = self.readout(h)[:, 0, :]
        if self.class_offset is not None and cond is not None:
            index = torch.where(cond < 0, torch.full_like(cond, self.n_classes), cond)
            logits = logits + table_rows(self.class_offset, index)
        return logits


class _StraightThrough(torch.autograd.Function):
    """Forward: the given hard values; backward: the gradient of sigmoid(logits)."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        soft = torch.sigmoid(logits)
        ctx.save_for_backward(soft)
        return hard.to(logits.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (soft,) = ctx.saved_tensors
        return grad * soft * (1 - soft), None


def straight_through_bernoulli(
    logits: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Hard 0/1 draws of :math:`\\mathrm{Bernoulli}(\\sigma(\\ell))` with the soft gradient.

    The forward value is exactly 0 or 1; the gradient with respect to ``logits`` is that of
    :math:`\\sigma(\\ell)` (the straight-through estimator).
    """
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device)
    hard = uniform < torch.sigmoid(logits.detach())
    return _StraightThrough.apply(logits, hard)


def straight_through_threshold(logits: torch.Tensor) -> torch.Tensor:
    """Hard presence :math:`1[\\ell > 0]` with the gradient of :math:`\\sigma(\\ell)`."""
    return _StraightThrough.apply(logits, logits.detach() > 0)


def sparsity_loss(presence: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Prevalence and richness mismatch between generated and real presence batches.

    Parameters
    ----------
    presence
        Generated presences ``(B, n_taxa)`` (hard straight-through values, or soft
        probabilities for the ablation).
    target
        Real 0/1 presences of the same samples ``(B, n_taxa)``.

    Returns
    -------
    dict
        ``"prevalence"``: mean over taxa of the squared difference of the batch
        prevalences; ``"richness"``: mean over samples of the squared difference of the
        richness (number of present taxa) relative to the batch's mean real richness.
    """
    if presence.shape != target.shape or presence.ndim != 2:
        raise ValueError(
            f"presence {tuple(presence.shape)} and target {tuple(target.shape)} must both be "
            "(batch, taxa)"
        )
    target = target.to(presence.dtype)
    prevalence = ((presence.mean(0) - target.mean(0)) ** 2).mean()
    real_richness = target.sum(1)
    scale = real_richness.mean().clamp_min(1.0)
    richness = (((presence.sum(1) - real_richness) / scale) ** 2).mean()
    return {"prevalence": prevalence, "richness": richness}


def presence_from_x0(
    presence_x0: torch.Tensor,
    *,
    stochastic: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Hard presence from the denoised presence channel (values in [-1, 1]).

    The channel is :math:`\\mathbb E[2 y - 1]` for presence :math:`y`, so
    :math:`P(y = 1) = (x + 1) / 2`. Samples with no taxon present keep their most probable
    taxon, since a composition needs at least one.

    Parameters
    ----------
    presence_x0
        ``(B, n_taxa)`` denoised presence channel.
    stochastic
        Draw Bernoulli presences (default, keeps rare taxa at their rate when the model is
        unsure) or threshold at 1/2.
    generator
        Random source of the draws.

    Returns
    -------
    torch.Tensor
        ``(B, n_taxa)`` boolean presence.
    """
    probability = ((presence_x0.clamp(-1, 1) + 1) / 2).float()
    if stochastic:
        uniform = torch.rand(probability.shape, generator=generator, device=probability.device)
        present = uniform < probability
    else:
        present = probability > 0.5
    empty = ~present.any(dim=1)
    if empty.any():
        rows = torch.nonzero(empty).squeeze(1)
        # the most probable taxon, ties broken at random
        jitter = torch.rand(probability[rows].shape, generator=generator, device=probability.device)
        present[rows, (probability[rows] + 1e-6 * jitter).argmax(dim=1)] = True
    return present
