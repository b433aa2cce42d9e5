"""What every microbiome embedder shares: align, transform, encode.

:class:`TaxaEmbedder` is the template: subclasses give a reference taxa list, an input
transform and an encoder (a torch module from transformed profiles to embeddings);
:meth:`TaxaEmbedder.embed` does the rest the same way for all of them (our
:class:`~synthomics.embeddings.model.MicrobiomeMAE` and the imported MBEmbed encoder).
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import torch
from torch import nn

from synthomics.embeddings.alignment import (
    AlignedProfiles,
    AlignmentReport,
    DuplicatePolicy,
    UnitsOption,
    align_to_reference,
)
from synthomics.embeddings.transforms import AbundanceTransform


class TaxaEmbedder:
    """Base class of the embedders: subclasses set the attributes below.

    Attributes
    ----------
    reference_taxa
        The model's species, in input order.
    transform
        Input transform of relative abundances.
    duplicates
        Default policy for table taxa matching several reference entries.
    last_alignment
        Report of the most recent :meth:`embed` / :meth:`align` call.
    """

    reference_taxa: list[str]
    transform: AbundanceTransform
    duplicates: DuplicatePolicy = "error"
    last_alignment: AlignmentReport | None = None
    name: str = "embedder"

    def encoder(self) -> nn.Module:
        """Torch module mapping transformed profiles ``(n, n_taxa)`` to embeddings."""
        raise NotImplementedError

    @property
    def embedding_dim(self) -> int:
        """Width of the embeddings."""
        with torch.no_grad():
            probe = torch.zeros(2, len(self.reference_taxa))
            return int(self.encoder().eval()(probe).shape[-1])

    def align(
        self,
        adata: ad.AnnData,
        *,
        units: UnitsOption = "auto",
        duplicates: DuplicatePolicy | None = None,
    ) -> AlignedProfiles:
        """Align ``adata``'s taxa to the reference (see
        :func:`~synthomics.embeddings.alignment.align_to_reference`)."""
        aligned = align_to_reference(
            adata,
            self.reference_taxa,
            units=units,
            duplicates=duplicates or self.duplicates,
        )
        self.last_alignment = aligned.report
        return aligned

    @torch.no_grad()
    def embed_fractions(self, fractions: np.ndarray, *, batch_size: int = 8192) -> np.ndarray:
        """Embeddings of relative-abundance profiles already in reference order.

        Parameters
        ----------
        fractions
            Samples x reference taxa, fractions of each sample's community.
        batch_size
            Samples per forward pass.

        Returns
        -------
        numpy.ndarray
            float32, samples x embedding width.
        """
        fractions = np.asarray(fractions, dtype=np.float64)
        if fractions.ndim != 2 or fractions.shape[1] != len(self.reference_taxa):
            raise ValueError(
                f"expected samples x {len(self.reference_taxa)} reference taxa, "
                f"got shape {fractions.shape}"
            )
        encoder = self.encoder().eval()
        device = next(iter(encoder.parameters()), torch.empty(0)).device
        out = []
        for start in range(0, len(fractions), batch_size):
            x = torch.from_numpy(self.transform(fractions[start : start + batch_size]))
            out.append(encoder(x.to(device)).float().cpu().numpy())
        if not out:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        return np.concatenate(out, axis=0)

    def embed(
        self,
        adata: ad.AnnData,
        *,
        units: UnitsOption = "auto",
        duplicates: DuplicatePolicy | None = None,
        key_added: str | None = None,
        batch_size: int = 8192,
    ) -> np.ndarray:
        """Embed the samples of a microbiome table.

        The table's taxa are aligned to the reference (report in :attr:`last_alignment`,
        a warning when the overlap is poor), turned into relative abundances, transformed
        and encoded.

        Parameters
        ----------
        adata
            Microbiome container, e.g. from :func:`synthomics.io.read`.
        units
            ``"auto"`` or the units of ``adata.X``.
        duplicates
            Policy for taxa matching several reference entries (default: the model's).
        key_added
            Also store the embeddings in ``adata.obsm[key_added]``.
        batch_size
            Samples per forward pass.

        Returns
        -------
        numpy.ndarray
            float32, samples x embedding width, rows in ``adata``'s order.
        """
        aligned = self.align(adata, units=units, duplicates=duplicates)
        embedding = self.embed_fractions(aligned.fractions, batch_size=batch_size)
        if key_added:
            adata.obsm[key_added] = embedding
        return embedding
