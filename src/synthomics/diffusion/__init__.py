"""The diffusion core shared by the microbiome and genotype diffusion models.

:mod:`~synthomics.diffusion.process`
    :class:`GaussianDiffusion`, the process with no trainable parameters: noise schedules,
    ``q_sample``, ``training_losses``, DDIM/DDPM samplers, classifier-free guidance.
:mod:`~synthomics.diffusion.denoisers`
    Pure-torch denoisers and their building blocks (timestep and condition embeddings,
    FiLM residual MLP, feature-embedding input and output layers).
:mod:`~synthomics.diffusion.plan`
    :class:`DiffusionTrainingPlan`, the Lightning training plan.
:mod:`~synthomics.diffusion.fitting`
    :func:`train_diffusion`, the one training routine, and its options.
:mod:`~synthomics.diffusion.generator`
    :class:`DiffusionGenerator`, the base of the diffusion generators (options, process,
    chunked sampler, saved state).

Names are imported on first use, so that importing a generator does not import torch.
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_LAZY = {
    "DiffusionTrainingPlan": "plan",
    "BestWeights": "plan",
    "EpochProgress": "plan",
    "MLPDenoiser": "denoisers",
    "GaussianDiffusion": "process",
    "NULL_CONDITION": "process",
    "DiffusionGenerator": "generator",
    "DiffusionTrainingOptions": "fitting",
    "train_diffusion": "fitting",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "NULL_CONDITION",
    "BestWeights",
    "DiffusionGenerator",
    "DiffusionTrainingOptions",
    "DiffusionTrainingPlan",
    "EpochProgress",
    "GaussianDiffusion",
    "MLPDenoiser",
    "train_diffusion",
]
