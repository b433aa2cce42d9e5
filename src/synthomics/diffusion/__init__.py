"""The diffusion core shared by the microbiome and genotype diffusion models.

:mod:`~synthomics.diffusion.process`
    :class:`GaussianDiffusion`, the process with no trainable parameters: noise schedules,
    ``q_sample``, ``training_losses``, DDIM/DDPM samplers, classifier-free guidance.
:mod:`~synthomics.diffusion.denoisers`
    Pure-torch denoisers and their building blocks (timestep and condition embeddings,
    FiLM residual MLP, feature-embedding input and output layers).
:mod:`~synthomics.diffusion.plan`
    :class:`DiffusionTrainingPlan`, the Lightning training plan (imported on first use, so
    that the process and the networks do not import Lightning).
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports
from synthomics.diffusion.denoisers import MLPDenoiser
from synthomics.diffusion.process import NULL_CONDITION, GaussianDiffusion

_LAZY = {"DiffusionTrainingPlan": "plan", "BestWeights": "plan", "EpochProgress": "plan"}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "NULL_CONDITION",
    "BestWeights",
    "DiffusionTrainingPlan",
    "EpochProgress",
    "GaussianDiffusion",
    "MLPDenoiser",
]
