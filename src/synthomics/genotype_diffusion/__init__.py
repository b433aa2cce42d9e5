"""The genotype diffusion model (:class:`GenotypeDiffusion`).

Modules: :mod:`.representation` (centred dosages or the windowed-PCA latent),
:mod:`.thresholds` (the decoder: per-variant thresholds calibrated to the training genotype
frequencies) and :mod:`.model` (the generator). The diffusion process, the denoiser and the
training loop are the shared ones of :mod:`synthomics.diffusion`.
"""

from __future__ import annotations

from synthomics.genotype_diffusion.model import SIZES, GenotypeDiffusion

__all__ = ["SIZES", "GenotypeDiffusion"]
