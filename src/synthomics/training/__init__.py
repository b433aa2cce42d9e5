"""Training plumbing shared by every synthomics model (Lightning).

Model-agnostic pieces: seeding (:func:`seed_everything`), a trainer with the standard
callbacks (:func:`build_trainer`), an EMA-of-weights callback (:class:`EMAWeights`), a
data module for in-memory tensors (:class:`TensorDataModule`) and safetensors + JSON
persistence (:func:`save_torch_model`, :func:`load_torch_model`).
"""

from synthomics.training.data import (
    DictTensorDataset,
    EpochSeededSampler,
    TensorDataModule,
    split_indices,
)
from synthomics.training.ema import EMAWeights
from synthomics.training.persistence import (
    LoadedModel,
    load_torch_model,
    read_model_config,
    save_torch_model,
)
from synthomics.training.seed import seed_everything, torch_generator
from synthomics.training.trainer import (
    ResumableCheckpoint,
    ResumePoint,
    build_trainer,
    last_checkpoint,
    quiet_lightning,
    resumable_checkpoint,
    resume_point,
    run_identity,
)

__all__ = [
    "DictTensorDataset",
    "EMAWeights",
    "EpochSeededSampler",
    "LoadedModel",
    "ResumableCheckpoint",
    "ResumePoint",
    "TensorDataModule",
    "build_trainer",
    "last_checkpoint",
    "load_torch_model",
    "quiet_lightning",
    "read_model_config",
    "resumable_checkpoint",
    "resume_point",
    "run_identity",
    "save_torch_model",
    "seed_everything",
    "split_indices",
    "torch_generator",
]
