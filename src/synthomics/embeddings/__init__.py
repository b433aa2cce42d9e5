"""Microbiome embeddings: a masked autoencoder pretrained on many profiles, and imports.

* :class:`MicrobiomeMAE` — pretrain on tables, embed new ones, save/load (safetensors +
  JSON);
* :class:`~synthomics.embeddings.mbembed.MBEmbedEncoder` — the published MBEmbed encoder,
  read without executing its pickle;
* :func:`load_embedder` — either, from a folder;
* :mod:`~synthomics.embeddings.alignment` — how a table's taxa are matched to a model's;
* the downstream benchmark on MetAML is ``benchmarks/embeddings.py`` (not in the package).

Importing this package does not import Lightning; training does.
"""

from __future__ import annotations

import os
from pathlib import Path

from synthomics.embeddings.alignment import (
    AlignedProfiles,
    AlignmentReport,
    AlignmentWarning,
    align_to_reference,
)
from synthomics.embeddings.base import TaxaEmbedder
from synthomics.embeddings.model import MicrobiomeMAE
from synthomics.embeddings.transforms import AbundanceTransform
from synthomics.errors import InputError


def load_embedder(path: str | os.PathLike[str]) -> TaxaEmbedder:
    """Load an embedding model from a folder: a :class:`MicrobiomeMAE` folder
    (``config.json`` + ``weights.safetensors``) or an MBEmbed folder
    (``mae30_encoder_full.pkl`` + ``model_species_reference.csv``)."""
    from synthomics.embeddings.mbembed import MBEmbedEncoder, is_mbembed_folder

    path = Path(path)
    if (path / "config.json").is_file():
        return MicrobiomeMAE.load(path)
    if is_mbembed_folder(path):
        return MBEmbedEncoder.load(path)
    raise InputError(
        path,
        "not an embedding model folder",
        expected="a folder written by `synthomics pretrain` (config.json, "
        "weights.safetensors) or an MBEmbed folder (mae30_encoder_full.pkl, "
        "model_species_reference.csv)",
    )


__all__ = [
    "AbundanceTransform",
    "AlignedProfiles",
    "AlignmentReport",
    "AlignmentWarning",
    "MicrobiomeMAE",
    "TaxaEmbedder",
    "align_to_reference",
    "load_embedder",
]
