"""The demo dataset shipped with synthomics: Nielsen et al. (2014) IBD species profiles.

396 stool metagenomes (148 IBD, 248 controls) x 719 MetaPhlAn2 species, relative
abundance in percent, with sample metadata (``disease``) and a phylogeny pruned to the 460
species it covers. Origin, licences (MIT for the tables, GPL-3.0 for the tree) and how the
tree was pruned are in ``datasets/data/ATTRIBUTION.md``.

Examples
--------
>>> from synthomics.datasets import load_demo
>>> adata = load_demo()
>>> adata.shape
(396, 719)
>>> adata.obs["disease"].value_counts().to_dict()
{'control': 248, 'IBD': 148}
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import anndata as ad

__all__ = ["demo_path", "load_demo"]

_FILES: dict[str, str] = {
    "abundance": "nielsen_ibd_abundance.tsv.gz",
    "metadata": "nielsen_ibd_sample_metadata.tsv",
    "tree": "nielsen_ibd_tree.nwk",
    "attribution": "ATTRIBUTION.md",
}


def demo_path() -> dict[str, Path]:
    """Paths of the demo files inside the installed package.

    Returns
    -------
    dict
        ``{"abundance": ..., "metadata": ..., "tree": ..., "attribution": ...}``; pass them
        to the command line, e.g. ``synthomics info ABUNDANCE --metadata METADATA
        --tree TREE``.
    """
    root = Path(str(resources.files("synthomics.datasets") / "data"))
    return {key: root / name for key, name in _FILES.items()}


def load_demo() -> ad.AnnData:
    """Read the demo table with its metadata and tree through :func:`read_microbiome`.

    Returns
    -------
    anndata.AnnData
        396 x 719 microbiome container, ``uns["units"] = "percent"``, ``obs["disease"]``,
        ``uns["tree"]`` with 460 tips (``var["on_tree"]`` marks them).
    """
    from synthomics.io.microbiome import read_microbiome

    paths = demo_path()
    return read_microbiome(paths["abundance"], metadata=paths["metadata"], tree=paths["tree"])
