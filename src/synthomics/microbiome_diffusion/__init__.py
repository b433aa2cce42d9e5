"""The sparsity-preserving microbiome diffusion model (:class:`MicrobiomeDiffusion`).

Modules: :mod:`.transform` (presence / log-abundance representation), :mod:`.decoder`
(presence logits with prevalence-aware bias, straight-through hard presence, sparsity loss),
:mod:`.poincare` (hyperbolic taxonomic embeddings), :mod:`.module` (the pure-torch denoiser)
and :mod:`.model` (the generator). The diffusion process, the generic denoiser blocks and
the training plan live in :mod:`synthomics.diffusion`.
"""

from __future__ import annotations

from synthomics.microbiome_diffusion.model import SIZES, MicrobiomeDiffusion

__all__ = ["SIZES", "MicrobiomeDiffusion"]
