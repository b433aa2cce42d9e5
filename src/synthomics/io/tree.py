"""Phylogenetic trees: Newick files matched to the features of a table (scikit-bio).

Tip-name rule (:func:`match_tree`)
    Each feature is matched to at most one tip and each tip to at most one feature, in
    three passes; a later pass only sees what earlier passes left unmatched:

    1. **exact**: the tip name equals the feature id, or else its lineage (``var["lineage"]``);
    2. **accession**: the tip name with a trailing genome accession ``|GCF_...`` or
       ``|GCA_...`` removed equals the feature id or lineage (MetaPhlAn trees: Nielsen's tips
       are ``<7-level lineage>|GCF_000007185``; 460 of its 719 features match this way);
    3. **species**: the tip's species (its ``s__`` level, or the whole name when it has no
       rank levels; spaces read as underscores) equals the feature's species, provided no
       other unmatched feature has that species.

    Where two tips fit one feature, the first in the file wins. Tips that match no feature
    are pruned (single-child nodes left behind are merged, summing branch lengths); their
    number is reported. No tip matching any feature is an error naming the tree file.

Newick names keep their underscores (``convert_underscores=False``): MetaPhlAn names such
as ``k__Bacteria`` would otherwise become ``k  Bacteria``. Written trees quote such names.

The matched tree is stored in ``uns["tree"]`` as Newick with tips renamed to the feature ids
(``uns["tree_source"] = "file"``), the match report in ``uns["tree_match"]`` and
``var["on_tree"]`` marks the features on it. Without a tree file,
:func:`tree_from_taxonomy` builds one from the rank columns (``tree_source = "taxonomy"``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from skbio import TreeNode

from synthomics.container import RANKS, tree_from_newick, tree_to_newick, uns_tree
from synthomics.errors import InputError
from synthomics.io.delimited import open_text
from synthomics.io.taxonomy import looks_like_lineage, parse_lineage

ACCESSION = re.compile(r"\|(?:GCF|GCA)_[0-9]+(?:\.[0-9]+)?$")
"""A trailing genome assembly accession on a tip name, removed by the second pass."""


def read_tree(path: str | os.PathLike[str]) -> TreeNode:
    """Read a Newick file (gzip/bzip2/xz compressed or not), keeping underscores in names.

    A QIIME 2 ``Phylogeny[Rooted]`` artifact (``.qza``) is read by
    :func:`~synthomics.io.qiime.read_qza_tree`.

    Raises
    ------
    InputError
        If the file is missing, is not Newick, or has no named tips.
    """
    from synthomics.io.qiime import is_artifact, read_qza_tree

    if is_artifact(path):
        return read_qza_tree(path)
    try:
        with open_text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise InputError(path, "cannot read as text", expected="a Newick tree") from exc
    if not text.strip():
        raise InputError(path, "empty file", expected="a Newick tree")
    try:
        tree = tree_from_newick(text)
    except Exception as exc:  # scikit-bio raises several parser errors
        raise InputError(path, f"cannot parse Newick ({exc})", expected="a Newick tree") from exc
    if not any(t.name for t in tree.tips()):
        raise InputError(path, "the tree has no named tips", expected="tips named by features")
    return tree


def _species_key(name: str | None) -> str | None:
    if not name:
        return None
    name = ACCESSION.sub("", str(name).strip())
    species = parse_lineage(name).get("species") if looks_like_lineage(name) else name
    return species.replace(" ", "_") if species else None


@dataclass
class TreeMatch:
    """How the tips of a tree matched the features of a table.

    Attributes
    ----------
    tree
        The tree pruned to the matched tips, tips renamed to feature ids (the input tree
        itself when every tip matched a feature of the same name).
    feature_ids
        All features of the table, in order.
    on_tree
        Boolean mask over ``feature_ids``: whether the feature is on the tree.
    tip_of_feature
        Feature id -> original tip name, for matched features.
    matched_by
        Number of features matched by each pass (``exact``, ``accession``, ``species``).
    n_tips
        Tips in the tree as read.
    n_tips_pruned
        Tips removed because they matched no feature.
    abundance_fraction_mean, abundance_fraction_min
        Mean and smallest share of a sample's total abundance carried by matched features
        (samples with a zero total skipped); ``None`` without abundances.
    source
        The tree file.
    """

    tree: TreeNode
    feature_ids: list[str]
    on_tree: np.ndarray
    tip_of_feature: dict[str, str]
    matched_by: dict[str, int]
    n_tips: int
    n_tips_pruned: int
    abundance_fraction_mean: float | None = None
    abundance_fraction_min: float | None = None
    source: str | None = None
    unmatched: list[str] = field(default_factory=list)

    @property
    def n_features(self) -> int:
        """Number of features in the table."""
        return len(self.feature_ids)

    @property
    def n_matched(self) -> int:
        """Number of features on the tree."""
        return int(self.on_tree.sum())

    def newick(self) -> str:
        """The pruned, renamed tree as Newick text."""
        return tree_to_newick(self.tree)

    def summary(self) -> dict[str, Any]:
        """A JSON/HDF5-friendly report, stored as ``uns["tree_match"]``."""
        out: dict[str, Any] = {
            "source_file": self.source or "",
            "n_features": self.n_features,
            "n_matched": self.n_matched,
            "n_tips": self.n_tips,
            "n_tips_pruned": self.n_tips_pruned,
            "matched_exact": self.matched_by.get("exact", 0),
            "matched_accession": self.matched_by.get("accession", 0),
            "matched_species": self.matched_by.get("species", 0),
        }
        if self.abundance_fraction_mean is not None:
            out["abundance_fraction_mean"] = float(self.abundance_fraction_mean)
            out["abundance_fraction_min"] = float(self.abundance_fraction_min)
        return out


def _clean_lineages(lineages: Sequence[object] | None, n: int) -> list[str | None]:
    if lineages is None:
        return [None] * n
    out: list[str | None] = []
    for value in lineages:
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        out.append(None if missing or not str(value) else str(value))
    return out


def match_tree(
    tree: TreeNode,
    feature_ids: Sequence[str],
    *,
    lineages: Sequence[object] | None = None,
    abundance: np.ndarray | None = None,
    source: str | os.PathLike[str] | None = None,
) -> TreeMatch:
    """Match tree tips to features by the tip-name rule of the module docstring.

    Parameters
    ----------
    tree
        The tree (not modified).
    feature_ids
        Feature ids of the table.
    lineages
        Lineage of each feature (``var["lineage"]``), used by the exact, accession and species
        passes; ``None`` to use the ids alone.
    abundance
        Samples x features matrix, to report the abundance share carried by matched features.
    source
        The tree file, named in errors and the report.

    Returns
    -------
    TreeMatch

    Raises
    ------
    InputError
        If no tip matches any feature.
    """
    feature_ids = [str(f) for f in feature_ids]
    n = len(feature_ids)
    lineage = _clean_lineages(lineages, n)
    tips = list(tree.tips())
    names: list[str | None] = [t.name for t in tips]
    taken = np.zeros(n, dtype=bool)
    feature_of_tip: dict[int, int] = {}
    matched_by = {"exact": 0, "accession": 0, "species": 0}

    def run(
        stage: str, tip_key: Any, feature_keys: list[list[str | None]], unique_only: bool
    ) -> None:
        lookup: dict[str, list[int]] = {}
        for keys in feature_keys:  # ids before lineages: an id match wins
            for j, key in enumerate(keys):
                if key is not None and not taken[j]:
                    lookup.setdefault(key, []).append(j)
        for t, name in enumerate(names):
            if t in feature_of_tip or name is None:
                continue
            key = tip_key(name)
            if key is None:
                continue
            candidates = list(dict.fromkeys(j for j in lookup.get(key, []) if not taken[j]))
            if not candidates or (unique_only and len(candidates) > 1):
                continue
            j = candidates[0]
            taken[j] = True
            feature_of_tip[t] = j
            matched_by[stage] += 1

    def stripped(name: str) -> str | None:
        bare = ACCESSION.sub("", name)
        return bare if bare != name else None

    run("exact", lambda name: name, [feature_ids, lineage], unique_only=False)
    run("accession", stripped, [feature_ids, lineage], unique_only=False)
    if not taken.all() and len(feature_of_tip) < len(tips):
        species = [
            None if done else _species_key(lin if lin is not None else fid)
            for fid, lin, done in zip(feature_ids, lineage, taken, strict=True)
        ]
        run("species", _species_key, [species], unique_only=True)

    if not feature_of_tip:
        example_tip = next((x for x in names if x), "")
        raise InputError(
            source,
            "no tree tip matches any feature",
            where=f"tips like {example_tip!r}; features like {feature_ids[0]!r}",
            expected="tip names equal to feature ids or lineages, optionally with a "
            "'|GCF_...'/'|GCA_...' accession, or equal species names",
        )

    pruned = _prune_and_rename(tree, tips, feature_of_tip, feature_ids)
    fraction_mean = fraction_min = None
    if abundance is not None:
        X = np.asarray(abundance, dtype=np.float64)
        totals = X.sum(axis=1)
        ok = totals > 0
        if ok.any():
            share = X[ok][:, taken].sum(axis=1) / totals[ok]
            fraction_mean, fraction_min = float(share.mean()), float(share.min())
    return TreeMatch(
        tree=pruned,
        feature_ids=feature_ids,
        on_tree=taken,
        tip_of_feature={feature_ids[j]: str(names[t]) for t, j in feature_of_tip.items()},
        matched_by=matched_by,
        n_tips=len(tips),
        n_tips_pruned=len(tips) - len(feature_of_tip),
        abundance_fraction_mean=fraction_mean,
        abundance_fraction_min=fraction_min,
        source=None if source is None else str(source),
        unmatched=[f for f, on in zip(feature_ids, taken, strict=True) if not on],
    )


def _prune_and_rename(
    tree: TreeNode, tips: list[TreeNode], feature_of_tip: dict[int, int], feature_ids: list[str]
) -> TreeNode:
    """Copy of ``tree`` keeping only matched tips, renamed to their feature ids."""
    if len(feature_of_tip) == len(tips) and all(
        tips[t].name == feature_ids[j] for t, j in feature_of_tip.items()
    ):
        return tree  # nothing to prune or rename
    work = tree.copy()
    work_tips = list(work.tips())
    keep = set()
    for t, node in enumerate(work_tips):
        if t in feature_of_tip:
            node.name = feature_ids[feature_of_tip[t]]
            keep.add(id(node))
    for node in list(work.postorder(include_self=False)):
        if not node.children and id(node) not in keep and node.parent is not None:
            node.parent.remove(node)
    work.prune()  # merges single-child nodes, the root's only child included
    work.length = None  # the branch above the new root leads to no kept tip
    return work


def tree_from_taxonomy(var: pd.DataFrame) -> TreeNode:
    """A tree of the features built from their rank columns (or ``lineage``).

    Each rank level is an unnamed internal node; features are tips named by their ids,
    attached below their deepest named rank (an unnamed level above it groups the features
    sharing the same path). Every branch has length 1, so UniFrac and Faith's PD run on it
    as on a taxonomy-shaped phylogeny.

    Raises
    ------
    InputError
        If ``var`` has neither rank columns nor ``lineage``.
    """
    ranks = [r for r in RANKS if r in var.columns]
    if ranks:
        table = var[ranks].astype(object)
        rows = table.where(table.notna() & (table != ""), None).to_numpy().tolist()
    elif "lineage" in var.columns:
        parsed = [parse_lineage(None if _missing(v) else str(v)) for v in var["lineage"]]
        rows = [[p.get(r) for r in RANKS] for p in parsed]
    else:
        raise InputError(
            None,
            "features have no taxonomy to build a tree from",
            expected="rank columns (kingdom..species) or a lineage column in var",
        )
    root = TreeNode()
    nodes: dict[tuple[str, ...], TreeNode] = {}
    for feature, names in zip(var.index.astype(str), rows, strict=True):
        depth = len(names)
        while depth and names[depth - 1] is None:
            depth -= 1
        parent, key = root, ()
        for name in names[:depth]:
            key = (*key, "" if name is None else str(name))
            node = nodes.get(key)
            if node is None:
                node = TreeNode(length=1.0)
                parent.append(node)
                nodes[key] = node
            parent = node
        parent.append(TreeNode(name=feature, length=1.0))
    return root


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def attach_tree(
    adata: ad.AnnData, tree: TreeNode | str | os.PathLike[str], *, source: str | None = None
) -> TreeMatch:
    """Match a tree to ``adata``'s features and store it, in place.

    Sets ``uns["tree"]`` (pruned Newick, tips = feature ids), ``uns["tree_source"] = "file"``,
    ``uns["tree_match"]`` (:meth:`TreeMatch.summary`) and ``var["on_tree"]``.

    Returns
    -------
    TreeMatch
    """
    if not isinstance(tree, TreeNode):
        source = source or str(Path(tree))
        tree = read_tree(tree)
    lineages = adata.var["lineage"].tolist() if "lineage" in adata.var.columns else None
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else adata.X
    match = match_tree(tree, list(adata.var_names), lineages=lineages, abundance=X, source=source)
    adata.uns["tree"] = match.newick()
    adata.uns["tree_source"] = "file"
    adata.uns["tree_match"] = match.summary()
    adata.var["on_tree"] = match.on_tree
    return match


def attach_taxonomy_tree(adata: ad.AnnData) -> bool:
    """Store :func:`tree_from_taxonomy` in ``adata.uns`` when ``var`` has rank columns.

    Returns
    -------
    bool
        Whether a tree was built.
    """
    if not any(r in adata.var.columns for r in RANKS) and "lineage" not in adata.var.columns:
        return False
    adata.uns["tree"] = tree_to_newick(tree_from_taxonomy(adata.var))
    adata.uns["tree_source"] = "taxonomy"
    adata.var["on_tree"] = True
    return True


__all__ = [
    "ACCESSION",
    "TreeMatch",
    "attach_taxonomy_tree",
    "attach_tree",
    "match_tree",
    "read_tree",
    "tree_from_newick",
    "tree_from_taxonomy",
    "tree_to_newick",
    "uns_tree",
]
