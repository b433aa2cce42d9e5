"""The microbiome denoiser: a pure-torch module over (presence, abundance) x taxa.

:class:`MicrobiomeDenoiser` follows the denoiser contract of
:mod:`synthomics.diffusion.process` and the module contract of
:mod:`synthomics.diffusion.plan`. Layout of a sample: ``(2, n_taxa)``, channel 0 the
presence (:math:`\\pm 1`), channel 1 the standardised log abundance (see
:mod:`synthomics.microbiome_diffusion.transform`).

Architecture
    input layer :class:`~synthomics.diffusion.denoisers.FeatureEmbeddingLinear` over the two
    channels of every taxon (weights factorised through the taxon identity when a taxon
    embedding is given) -> residual MLP modulated by the timestep and condition
    -> two output heads: :class:`~synthomics.microbiome_diffusion.decoder.PresenceHead`
    (presence logits, bias at logit(prevalence)) and an abundance readout.

What it predicts: corrections to the denoiser of independent taxa
    The representation is standardised so that, taxon by taxon, it follows a simple
    independent model: present with probability :math:`p_j` (then :math:`z \\sim N(0, 1)`),
    absent otherwise (:math:`z = 0`). The exact denoiser of that model is known in closed
    form (:meth:`MicrobiomeDenoiser.independent_evidence`), and the network is
    preconditioned by it, as EDM (Karras et al. 2022) preconditions by a skip connection:

    * presence logits :math:`\\ell` = per-taxon bias (starts at logit(prevalence)) + the
      network's correction + each taxon's own evidence; :math:`\\hat x_0 =
      \\tanh(\\ell / 2) = 2\\sigma(\\ell) - 1`, the posterior mean of a :math:`\\pm 1`
      variable;
    * abundance: the network outputs, per taxon, the mean :math:`m` and log variance of the
      taxon's standardised abundance given the others, and :math:`\\hat x_0 =
      \\sigma(\\ell)\\, E[z \\mid x^z_t, \\text{present}]` is the closed-form Gaussian
      posterior mean (:meth:`MicrobiomeDenoiser.present_abundance_posterior`); the same
      prior enters the presence evidence. (A first version added an unconstrained gain to
      each taxon's own value; at low noise its errors are divided by :math:`\\sigma_t` in
      the v-loss and training diverged.)

    Both are converted to the process's parameterisation (``v`` by default) with the noise
    level of the inputs. A fresh network therefore samples exactly the independent
    zero-inflated model (every taxon at its observed prevalence); training adds the
    dependence between taxa and on the condition. Without the skip (``independent_skip``
    False) the abundance head predicts the process's parameterisation directly and the
    presence logits carry no evidence term.

    The presence channel is trained by a Bernoulli likelihood (binary cross-entropy on the
    logits, a proper scoring rule with the same optimum as the squared error on
    :math:`x_0`) instead of the squared error, whose weight on it is set to zero.

Losses (:meth:`MicrobiomeDenoiser.auxiliary_losses`)
    ``presence``: binary cross-entropy of the logits against the true presence, times
    ``presence_weight``; ``prevalence`` and ``richness``: the sparsity loss of
    :func:`~synthomics.microbiome_diffusion.decoder.sparsity_loss` on straight-through hard
    presences drawn from the logits (the batch the model generates from the noisy inputs),
    times ``sparsity_weight``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from synthomics.diffusion.denoisers import (
    FeatureEmbeddingLinear,
    FeatureEmbeddingReadout,
    NoiseLevelEmbedding,
    ResidualMLP,
)
from synthomics.diffusion.process import PREDICTIONS, Prediction, prediction_from_x0
from synthomics.microbiome_diffusion.decoder import (
    PresenceHead,
    sparsity_loss,
    straight_through_bernoulli,
)

__all__ = ["ABUNDANCE", "PRESENCE", "MicrobiomeDenoiser"]

PRESENCE, ABUNDANCE = 0, 1
"""Channel indices of a sample."""


class MicrobiomeDenoiser(nn.Module):
    """Denoiser with a sparsity-preserving presence decoder and taxon-identity layers.

    Parameters
    ----------
    n_taxa
        Number of taxa.
    dim
        Hidden width.
    n_blocks
        Residual blocks.
    expansion, dropout
        Of each residual block.
    n_classes
        Condition categories (0: unconditional).
    prediction
        The process's parameterisation (``"v"``, ``"epsilon"`` or ``"x0"``).
    prevalence
        Observed training prevalence per taxon (for the presence bias).
    n_samples
        Number of training samples (for the clip of the prevalence logit).
    class_prevalence, class_sizes
        Per-level prevalence and sample counts of a conditional model (see
        :class:`~synthomics.microbiome_diffusion.decoder.PresenceHead`).
    prevalence_init
        Mechanism 1: presence bias starts at logit(prevalence), and per-level offsets at the
        level's logit prevalence minus it (else all at 0).
    sparsity_weight
        Mechanism 2: weight of the prevalence and richness losses (0 switches them off).
    hard_sparsity
        Use straight-through hard presences in the sparsity loss (else soft
        probabilities: the relaxation-only ablation).
    taxon_embedding
        Mechanism 3: ``(n_taxa, K)`` taxon identity (e.g. the tangent-space image of the
        Poincaré embedding); ``None`` gives ordinary, unfactorised layers.
    learn_embedding
        Train ``taxon_embedding`` with the denoiser.
    presence_weight
        Weight of the presence cross-entropy.
    self_conditioning
        Take the previous estimate of :math:`x_0` as two more input channels
        (``inputs["x0_self"]``, self-conditioning).
    independent_skip
        Precondition the network by the exact denoiser of independent taxa
        (:meth:`independent_evidence`; the network predicts corrections to it).
    """

    def __init__(
        self,
        n_taxa: int,
        *,
        dim: int = 256,
        n_blocks: int = 3,
        expansion: int = 2,
        dropout: float = 0.0,
        n_classes: int = 0,
        prediction: Prediction = "v",
        prevalence: np.ndarray | None = None,
        n_samples: int | None = None,
        class_prevalence: np.ndarray | None = None,
        class_sizes: np.ndarray | None = None,
        prevalence_init: bool = True,
        sparsity_weight: float = 1.0,
        hard_sparsity: bool = True,
        taxon_embedding: torch.Tensor | np.ndarray | None = None,
        learn_embedding: bool = False,
        presence_weight: float = 1.0,
        independent_skip: bool = True,
        self_conditioning: bool = False,
    ) -> None:
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
        self.n_taxa = n_taxa
        self.prediction: Prediction = prediction
        self.sparsity_weight = float(sparsity_weight)
        self.hard_sparsity = bool(hard_sparsity)
        self.presence_weight = float(presence_weight)
        self.independent_skip = bool(independent_skip)
        self.self_conditioning = bool(self_conditioning)
        embedding = None if taxon_embedding is None else torch.as_tensor(taxon_embedding).float()
        self.embed = NoiseLevelEmbedding(dim, n_classes)
        channels = 4 if self_conditioning else 2
        self.input = FeatureEmbeddingLinear(n_taxa, channels, dim, embedding, learn_embedding)
        self.trunk = ResidualMLP(dim, dim, n_blocks, expansion, dropout)
        self.presence = PresenceHead(
            dim,
            n_taxa,
            prevalence,
            n_samples,
            prevalence_init=prevalence_init,
            taxon_embedding=embedding,
            learn_embedding=learn_embedding,
            n_classes=n_classes,
            class_prevalence=class_prevalence,
            class_sizes=class_sizes,
        )
        # with the skip: a correction and a gain of each taxon's own value (two channels)
        self.abundance = FeatureEmbeddingReadout(
            dim, n_taxa, 2 if independent_skip else 1, embedding, learn_embedding
        )
        weights = torch.zeros(2, n_taxa)
        weights[ABUNDANCE] = 1.0
        self.register_buffer("diffusion_feature_weights", weights, persistent=False)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Predict from the noisy batch; see the module docstring.

        Returns
        -------
        dict
            ``"prediction"`` ``(B, 2, n_taxa)`` in the process's parameterisation and
            ``"presence_logits"`` ``(B, n_taxa)``.
        """
        x_t = inputs["x_t"]
        if x_t.ndim != 3 or x_t.shape[1:] != (2, self.n_taxa):
            raise ValueError(f"x_t shape {tuple(x_t.shape)}; expected (B, 2, {self.n_taxa})")
        alpha, sigma = inputs["alpha"], inputs["sigma"]
        emb = self.embed(inputs["t"], inputs.get("cond"))
        features = x_t
        if self.self_conditioning:
            previous = inputs.get("x0_self")
            features = torch.cat([x_t, torch.zeros_like(x_t) if previous is None else previous], 1)
        h = self.trunk(self.input(features), emb)
        logits = self.presence(h, inputs.get("cond"))
        offset = inputs.get("presence_offset")
        if offset is not None:  # a per-sample shift of every presence logit (sampling only)
            logits = logits + offset[:, None]
        heads = self.abundance(h)
        if self.independent_skip:
            # the network gives each taxon's prior given the rest (presence logit; abundance
            # N(m, exp(log_v)) when present), the closed-form Bayes update adds its own
            # noisy values; m = log_v = 0 and zero network weights give independent taxa
            mean, log_var = heads[:, 0], heads[:, 1].clamp(-6.0, 3.0)
            logits = logits + self.independent_evidence(x_t, alpha, sigma, mean, log_var)
            abundance_x0 = torch.sigmoid(logits) * self.present_abundance_posterior(
                x_t[:, ABUNDANCE], alpha, sigma, mean, log_var
            )
            abundance = prediction_from_x0(
                self.prediction, abundance_x0, x_t[:, ABUNDANCE], alpha, sigma
            )
        else:
            abundance = heads[:, 0]
        presence_x0 = torch.tanh(logits / 2)
        presence = prediction_from_x0(self.prediction, presence_x0, x_t[:, PRESENCE], alpha, sigma)
        outputs = {
            "prediction": torch.stack([presence, abundance], dim=1),
            "presence_logits": logits,
        }
        if self.independent_skip:
            outputs["x0"] = torch.stack([presence_x0, abundance_x0], dim=1)
        return outputs

    @staticmethod
    def independent_evidence(
        x_t: torch.Tensor,
        alpha: torch.Tensor,
        sigma: torch.Tensor,
        mean: torch.Tensor | None = None,
        log_var: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Log-likelihood ratio of "present" carried by each taxon's own noisy values.

        Present: :math:`y = 1` and :math:`z \\sim N(m, v)`; absent: :math:`y = -1` and
        :math:`z = 0`; :math:`x_t = \\alpha_t x_0 + \\sigma_t \\varepsilon`. The presence
        channel contributes :math:`2 \\alpha_t x^{y}_t / \\sigma_t^2`, the abundance channel
        :math:`\\log N(x^{z}_t; \\alpha_t m, \\alpha_t^2 v + \\sigma_t^2) -
        \\log N(x^{z}_t; 0, \\sigma_t^2)`. With :math:`m = 0, v = 1` (the default, and a
        fresh network) this is the model the representation is standardised to.

        Added to the presence logits (whose bias starts at logit(prevalence)) it makes a
        fresh network the exact posterior of independent taxa, a skip connection: the
        network only learns what the other taxa and the condition add. Without it the
        network would have to carry every taxon's own value through a hidden layer narrower
        than the number of taxa to become certain at low noise, which it cannot do, and
        presences and abundances stay noisy to the end of sampling.
        """
        a = alpha[:, None]
        s2 = sigma[:, None] ** 2
        x_y, x_z = x_t[:, PRESENCE], x_t[:, ABUNDANCE]
        mean = torch.zeros_like(x_z) if mean is None else mean
        var = torch.ones_like(x_z) if log_var is None else torch.exp(log_var)
        total = a * a * var + s2
        presence = 2 * a * x_y / s2
        abundance = 0.5 * (x_z**2 / s2 - (x_z - a * mean) ** 2 / total + torch.log(s2 / total))
        return presence + abundance

    @staticmethod
    def present_abundance_posterior(
        x_z: torch.Tensor,
        alpha: torch.Tensor,
        sigma: torch.Tensor,
        mean: torch.Tensor,
        log_var: torch.Tensor,
    ) -> torch.Tensor:
        """:math:`E[z \\mid x^z_t, \\text{present}]` for the prior :math:`z \\sim N(m, v)`.

        :math:`m + \\alpha_t v (x^z_t - \\alpha_t m) / (\\alpha_t^2 v + \\sigma_t^2)`: the
        network's prior matters at high noise and fades as :math:`\\sigma_t^2` at low noise,
        where the taxon's own value decides, so the parameterisation stays well conditioned
        at every noise level.
        """
        a = alpha[:, None]
        var = torch.exp(log_var)
        return mean + a * var * (x_z - a * mean) / (a * a * var + sigma[:, None] ** 2)

    def auxiliary_losses(
        self,
        x0: torch.Tensor,
        diffusion: dict[str, Any],
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Presence cross-entropy and the sparsity loss (see the module docstring)."""
        logits = diffusion["outputs"]["presence_logits"]
        target = (x0[:, PRESENCE] > 0).to(logits.dtype)
        losses = {
            "presence": self.presence_weight
            * nn.functional.binary_cross_entropy_with_logits(logits, target)
        }
        if self.sparsity_weight > 0:
            if self.hard_sparsity:
                generated = straight_through_bernoulli(logits, generator)
            else:
                generated = torch.sigmoid(logits)
            for name, value in sparsity_loss(generated, target).items():
                losses[name] = self.sparsity_weight * value
        return losses

    def clip_denoised(self, low: float, high: float):
        """A ``denoised_fn`` for the sampler: presence to [-1, 1], abundance to [low, high]."""

        def clip(x0: torch.Tensor) -> torch.Tensor:
            return torch.stack(
                [x0[:, PRESENCE].clamp(-1.0, 1.0), x0[:, ABUNDANCE].clamp(low, high)], dim=1
            )

        return clip
