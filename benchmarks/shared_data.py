"""The shared microbiome datasets of the benchmarks: where they live and how to read them.

The data folder is ``$SYNTHOMICS_SHARED_DATA``, else ``shared/data`` beside the repository;
the microbiome tables are under its ``microbiome`` folder (each dataset has a
``SOURCE.md``). :data:`DATASETS` names every table the benchmarks use, with the files to
read, the samples to keep, the subject column of repeated visits and the label column;
:func:`read_shared` reads one into a microbiome AnnData with
:func:`synthomics.io.microbiome.read_microbiome`. What a benchmark does next (taxa
filters, splits, caches) stays in its script.

The scripts import this module as ``shared_data`` (``benchmarks/`` is on ``sys.path`` when
a script runs); ``datasets`` would be shadowed by, or shadow, HuggingFace's package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHARED_DATA = Path(
    os.environ.get(
        "SYNTHOMICS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
MICROBIOME = SHARED_DATA / "microbiome"


@dataclass(frozen=True)
class SharedDataset:
    """One shared microbiome table: files relative to :data:`MICROBIOME`, and its columns.

    ``samples`` keeps the samples whose metadata column equals a value (compared as
    strings); ``group`` is the subject column of repeated visits; ``label`` the column a
    benchmark stratifies or conditions on.
    """

    table: str
    metadata: str | None = None
    tree: str | None = None
    taxonomy: str | None = None
    samples: tuple[str, str] | None = None
    group: str | None = None
    label: str | None = None


def _hmp(column: str, value: str) -> SharedDataset:
    """The HMP 16S samples of one body site (``HMPbodysubsite``) or supersite."""
    return SharedDataset(
        "hmp_16s/HMPv35_100nt_even1k.biom",
        metadata="hmp_16s/sample_metadata.tsv",
        samples=(column, value),
        group="hostsubjectid",
    )


DATASETS: dict[str, SharedDataset] = {
    "nielsen_ibd": SharedDataset(
        "nielsen_ibd/abundance.tsv.gz",
        metadata="nielsen_ibd/sample_metadata.tsv",
        tree="nielsen_ibd/tree.nwk",
        label="disease",
    ),
    "twins": SharedDataset(
        "twins/counts.tsv", metadata="twins/sample_metadata.tsv", label="phenotype"
    ),
    "global_patterns": SharedDataset(
        "global_patterns/counts.tsv.gz",
        metadata="global_patterns/sample_metadata.tsv",
        taxonomy="global_patterns/taxonomy.tsv",
    ),
    "metaml": SharedDataset("metaml/abundance.txt.bz2", group="subjectID", label="bodysite"),
    "metaml_stool": SharedDataset(
        "metaml/abundance.txt.bz2", samples=("bodysite", "stool"), group="subjectID"
    ),
    "hmp_16s": SharedDataset(
        "hmp_16s/HMPv35_100nt_even1k.biom",
        metadata="hmp_16s/sample_metadata.tsv",
        group="hostsubjectid",
        label="HMPbodysupersite",
    ),
    "hmp_stool": _hmp("HMPbodysubsite", "Stool"),
    "hmp_tongue_dorsum": _hmp("HMPbodysubsite", "Tongue_dorsum"),
    "hmp_supragingival_plaque": _hmp("HMPbodysubsite", "Supragingival_plaque"),
    "hmp_buccal_mucosa": _hmp("HMPbodysubsite", "Buccal_mucosa"),
    "hmp_oral": _hmp("HMPbodysupersite", "Oral"),
    "hmp_subgingival_plaque": _hmp("HMPbodysubsite", "Subgingival_plaque"),
    "hmp_anterior_nares": _hmp("HMPbodysubsite", "Anterior_nares"),
    "hmp_throat": _hmp("HMPbodysubsite", "Throat"),
    "hmp_retroauricular_crease": _hmp("HMPbodysubsite", "Right_Retroauricular_crease"),
}
ALIASES: dict[str, str] = {
    "hmp_16s_stool": "hmp_stool",
    "hmp_tongue": "hmp_tongue_dorsum",
    "hmp_plaque": "hmp_supragingival_plaque",
    "hmp_buccal": "hmp_buccal_mucosa",
    "hmp_subgingival": "hmp_subgingival_plaque",
    "hmp_nares": "hmp_anterior_nares",
    "hmp_skin": "hmp_retroauricular_crease",
}
"""Other names the scripts give some datasets on their command lines."""


def shared_dataset(name: str) -> SharedDataset:
    """The entry of :data:`DATASETS` called ``name`` (or one of its :data:`ALIASES`)."""
    return DATASETS[ALIASES.get(name, name)]


def read_shared(name: str, *, tree: bool = True) -> Any:
    """Read the shared dataset ``name`` into a microbiome AnnData, its samples selected.

    ``tree=False`` leaves the dataset's tree file unread.
    """
    from synthomics.io.microbiome import read_microbiome

    spec = shared_dataset(name)
    adata = read_microbiome(
        MICROBIOME / spec.table,
        metadata=MICROBIOME / spec.metadata if spec.metadata else None,
        tree=MICROBIOME / spec.tree if spec.tree and tree else None,
        taxonomy=MICROBIOME / spec.taxonomy if spec.taxonomy else None,
    )
    if spec.samples is not None:
        column, value = spec.samples
        adata = adata[adata.obs[column].astype(str) == value].copy()
    return adata


__all__ = [
    "ALIASES",
    "DATASETS",
    "MICROBIOME",
    "SHARED_DATA",
    "SharedDataset",
    "read_shared",
    "shared_dataset",
]
