"""A small simulated microbiome table for tests and examples (like scvi-tools' ``synthetic_iid``).

:func:`synthetic_microbiome` draws, from one seed:

1. a **taxonomy** of ``n_taxa`` species nested in genera, families, orders, classes and
   phyla of one kingdom (random group sizes);
2. a **tree** whose clades are exactly those taxa: inside every taxon its members are
   joined in a random binary topology with exponential branch lengths (longer at higher
   ranks), so the taxonomy in ``var`` is consistent with the tree;
3. **base log-abundances** by Brownian motion along the tree (related species have
   similar abundances), scaled to standard deviation ``abundance_sd``;
4. **group effects**: for every group but the first, whole genera covering about
   ``effect_fraction`` of the species get a log fold change of ``±group_effect``;
5. **subject effects**: samples of one subject share a per-species offset drawn with
   standard deviation ``subject_sd``;
6. **counts**: library size ``~ LogNormal(log(depth_mean), depth_sd)``, counts
   ``~ NegativeBinomial(mean = size * softmax(log-abundance), dispersion)``;
7. **structural zeros** (dropout): each species has its own absence probability, drawn
   from a Beta distribution with mean ``dropout`` and handed out so that rarer species
   are absent more often; absent entries are set to zero.

A sample left with no reads gets one read of its most abundant expected species, so that
every sample can be normalised.

The result follows :mod:`synthomics.container`: integer counts in a float64 ``X``,
``obs["group"]`` and ``obs["subject"]``, ``var`` with kingdom..species and ``lineage``,
``uns["tree"]`` (Newick, tips = feature ids) and the parameters in ``uns["synthetic"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError

__all__ = ["synthetic_microbiome"]

_TAXON_RANKS: tuple[str, ...] = ("kingdom", "phylum", "class", "order", "family", "genus")
# mean children per taxon, from genus (species per genus) up to phylum (classes per phylum)
_BRANCHING: dict[str, float] = {
    "genus": 3.0,
    "family": 2.5,
    "order": 2.0,
    "class": 2.0,
    "phylum": 1.5,
}
# mean branch length inside a taxon of each rank (species level first)
_BRANCH_SCALE: dict[str, float] = {
    "genus": 0.05,
    "family": 0.1,
    "order": 0.15,
    "class": 0.2,
    "phylum": 0.3,
    "kingdom": 0.4,
}
_LABEL: dict[str, str] = {
    "phylum": "Phylum",
    "class": "Class",
    "order": "Order",
    "family": "Family",
    "genus": "Genus",
}


@dataclass
class _Clade:
    """A subtree under construction: its node and the species (tip positions) it holds."""

    node: object  # skbio.TreeNode
    tips: list[int]


def _partition(n_items: int, n_groups: int, rng: np.random.Generator) -> list[int]:
    """Random sizes (each >= 1) of ``n_groups`` consecutive groups covering ``n_items``."""
    n_groups = max(1, min(n_groups, n_items))
    cuts = np.sort(rng.choice(np.arange(1, n_items), size=n_groups - 1, replace=False))
    return np.diff(np.concatenate([[0], cuts, [n_items]])).astype(int).tolist()


def _join(clades: list[_Clade], scale: float, name: str | None, rng: np.random.Generator) -> _Clade:
    """Join clades in a random binary topology under one node named ``name``."""
    from skbio import TreeNode

    pool = list(clades)
    if len(pool) == 1:
        return pool[0]
    while len(pool) > 2:
        i, j = sorted(rng.choice(len(pool), size=2, replace=False))
        b, a = pool.pop(j), pool.pop(i)
        for clade in (a, b):
            clade.node.length = float(rng.exponential(scale))
        pool.append(_Clade(TreeNode(children=[a.node, b.node]), a.tips + b.tips))
    for clade in pool:
        clade.node.length = float(rng.exponential(scale))
    return _Clade(TreeNode(name=name, children=[c.node for c in pool]), pool[0].tips + pool[1].tips)


def _taxonomy_and_tree(
    n_taxa: int, rng: np.random.Generator
) -> tuple[dict[str, list[str]], object]:
    """Rank names for each species position and the tree whose clades are those taxa."""
    from skbio import TreeNode

    names: dict[str, list[str]] = {rank: [""] * n_taxa for rank in _TAXON_RANKS}
    names["species"] = [""] * n_taxa
    clades = [_Clade(TreeNode(name=f"tip_{i}"), [i]) for i in range(n_taxa)]
    counters = dict.fromkeys(_LABEL, 0)
    for rank in ("genus", "family", "order", "class", "phylum"):
        n_groups = max(1, round(len(clades) / _BRANCHING[rank]))
        sizes = _partition(len(clades), n_groups, rng)
        grouped, start = [], 0
        for size in sizes:
            counters[rank] += 1
            label = f"{_LABEL[rank]}_{counters[rank]}"
            members = clades[start : start + size]
            start += size
            scale = _BRANCH_SCALE[rank]
            joined = _join(members, scale, None, rng)
            if len(members) > 1 or joined.node.name is None:
                joined.node.name = f"{rank[0]}__{label}"
            for tip in joined.tips:
                names[rank][tip] = label
            grouped.append(joined)
        clades = grouped
    root = _join(clades, _BRANCH_SCALE["kingdom"], None, rng).node
    root.name = None
    root.length = None
    for i in range(n_taxa):
        names["kingdom"][i] = "Bacteria"
    per_genus: dict[str, int] = {}
    for i in range(n_taxa):
        genus = names["genus"][i]
        per_genus[genus] = per_genus.get(genus, 0) + 1
        names["species"][i] = f"{genus}_sp_{per_genus[genus]}"
    return names, root


def _brownian_traits(root: object, n_taxa: int, rng: np.random.Generator) -> np.ndarray:
    """Tip values of a Brownian motion along the tree (variance = branch length)."""
    values = np.zeros(n_taxa)
    state: dict[int, float] = {id(root): 0.0}
    for node in root.preorder(include_self=False):  # type: ignore[attr-defined]
        parent_value = state[id(node.parent)]
        step = rng.normal(0.0, np.sqrt(node.length or 0.0))
        state[id(node)] = parent_value + step
        if node.is_tip():
            values[int(node.name.removeprefix("tip_"))] = state[id(node)]
    return values


def _check(condition: bool, what: str, expected: str) -> None:
    if not condition:
        raise InputError(None, what, expected=expected)


def synthetic_microbiome(
    n_samples: int = 100,
    n_taxa: int = 50,
    *,
    n_groups: int = 2,
    dropout: float = 0.5,
    seed: int = 0,
    depth_mean: float = 10_000.0,
    depth_sd: float = 0.5,
    dispersion: float = 0.5,
    abundance_sd: float = 2.0,
    group_effect: float = 2.0,
    effect_fraction: float = 0.2,
    samples_per_subject: int = 2,
    subject_sd: float = 0.3,
) -> ad.AnnData:
    """Simulate a microbiome count table with groups, subjects, taxonomy and tree.

    See the module docstring for the generative model.

    Parameters
    ----------
    n_samples
        Number of samples (rows).
    n_taxa
        Number of species (columns); at least 2.
    n_groups
        Number of sample groups (``obs["group"]``: ``group_0`` ...), balanced over subjects.
    dropout
        Mean probability that a species is structurally absent from a sample, in [0, 1).
    seed
        Seed of every random draw; the same arguments give the same table.
    depth_mean
        Median library size (reads per sample) before dropout.
    depth_sd
        Standard deviation of the log library size.
    dispersion
        Negative-binomial dispersion ``1/size`` (variance = mean + dispersion * mean²).
    abundance_sd
        Standard deviation of the base log-abundances across species.
    group_effect
        Absolute log fold change of the affected genera in groups other than ``group_0``.
    effect_fraction
        Approximate fraction of species (whole genera) affected in each non-baseline group.
    samples_per_subject
        Samples per subject (``obs["subject"]``); all of a subject's samples share a group.
    subject_sd
        Standard deviation of the per-subject, per-species log-abundance offset.

    Returns
    -------
    anndata.AnnData
        Microbiome container, ``uns["units"] = "counts"``.

    Examples
    --------
    >>> from synthomics.datasets import synthetic_microbiome
    >>> adata = synthetic_microbiome(n_samples=20, n_taxa=10, seed=3)
    >>> adata.shape
    (20, 10)
    >>> sorted(adata.obs["group"].unique())
    ['group_0', 'group_1']
    """
    from synthomics.container import microbiome_anndata, tree_to_newick
    from synthomics.io.taxonomy import format_lineage

    _check(int(n_samples) >= 1, f"n_samples = {n_samples!r}", "a positive integer")
    _check(int(n_taxa) >= 2, f"n_taxa = {n_taxa!r}", "at least 2 taxa")
    _check(int(n_groups) >= 1, f"n_groups = {n_groups!r}", "a positive integer")
    _check(0.0 <= dropout < 1.0, f"dropout = {dropout!r}", "a probability in [0, 1)")
    _check(
        int(samples_per_subject) >= 1,
        f"samples_per_subject = {samples_per_subject!r}",
        "a positive integer",
    )
    _check(
        depth_mean > 0 and dispersion > 0,
        "non-positive depth_mean or dispersion",
        "positive numbers",
    )
    n_samples, n_taxa, n_groups = int(n_samples), int(n_taxa), int(n_groups)
    rng = np.random.default_rng(seed)

    ranks, root = _taxonomy_and_tree(n_taxa, rng)
    width = len(str(n_taxa - 1))
    order = rng.permutation(n_taxa)  # feature ids do not follow the tree order
    feature_ids = [f"taxon_{order[i]:0{width}d}" for i in range(n_taxa)]
    base = _brownian_traits(root, n_taxa, rng)
    for tip in root.tips():
        tip.name = feature_ids[int(tip.name.removeprefix("tip_"))]
    base = (base - base.mean()) / (base.std() or 1.0) * abundance_sd

    # group effects on whole genera
    effects = np.zeros((n_groups, n_taxa))
    genera = np.asarray(ranks["genus"])
    unique_genera = np.unique(genera)
    for g in range(1, n_groups):
        affected = 0
        for genus in rng.permutation(unique_genera):
            if affected >= effect_fraction * n_taxa:
                break
            members = genera == genus
            effects[g, members] = rng.choice([-1.0, 1.0]) * group_effect
            affected += int(members.sum())

    # subjects, groups balanced across subjects
    n_subjects = -(-n_samples // samples_per_subject)
    subject_group = rng.permutation(np.arange(n_subjects) % n_groups)
    subject_of_sample = np.repeat(np.arange(n_subjects), samples_per_subject)[:n_samples]
    group_of_sample = subject_group[subject_of_sample]
    subject_offsets = rng.normal(0.0, subject_sd, size=(n_subjects, n_taxa))

    log_abundance = base + effects[group_of_sample] + subject_offsets[subject_of_sample]
    log_abundance -= log_abundance.max(axis=1, keepdims=True)
    proportions = np.exp(log_abundance)
    proportions /= proportions.sum(axis=1, keepdims=True)
    depth = rng.lognormal(np.log(depth_mean), depth_sd, size=n_samples)
    mean = depth[:, None] * proportions
    size = 1.0 / dispersion
    counts = rng.negative_binomial(size, size / (size + mean)).astype(np.float64)

    # structural zeros: rarer species are absent more often
    if dropout > 0:
        concentration = 4.0
        absent_p = np.sort(
            rng.beta(dropout * concentration, (1 - dropout) * concentration, size=n_taxa)
        )[::-1]
        rarity = np.argsort(base + rng.normal(0.0, 0.5, size=n_taxa))  # rarest first
        p_by_taxon = np.empty(n_taxa)
        p_by_taxon[rarity] = absent_p
        counts[rng.random((n_samples, n_taxa)) < p_by_taxon] = 0.0
    empty = np.flatnonzero(counts.sum(axis=1) == 0)
    counts[empty, np.argmax(mean[empty], axis=1)] = 1.0

    taxonomy = pd.DataFrame(
        {rank: ranks[rank] for rank in (*_TAXON_RANKS, "species")}, index=feature_ids
    )
    taxonomy["lineage"] = [format_lineage(row) for row in taxonomy.to_dict("records")]
    sample_width = len(str(n_samples - 1))
    subject_width = len(str(n_subjects - 1))
    sample_ids = [f"sample_{i:0{sample_width}d}" for i in range(n_samples)]
    obs = pd.DataFrame(
        {
            "group": pd.Categorical(
                [f"group_{g}" for g in group_of_sample],
                categories=[f"group_{g}" for g in range(n_groups)],
            ),
            "subject": [f"subject_{s:0{subject_width}d}" for s in subject_of_sample],
        },
        index=sample_ids,
    )
    ordered = np.argsort(feature_ids)  # columns sorted by id, independent of tree order
    adata = microbiome_anndata(
        counts[:, ordered],
        sample_ids,
        [feature_ids[i] for i in ordered],
        units="counts",
        taxonomy=taxonomy.iloc[ordered],
        obs=obs,
        tree=tree_to_newick(root),
        tree_source="file",
    )
    adata.var["on_tree"] = True
    adata.uns["synthetic"] = {
        "generator": "synthomics.datasets.synthetic_microbiome",
        "seed": int(seed),
        "n_groups": n_groups,
        "dropout": float(dropout),
        "depth_mean": float(depth_mean),
        "depth_sd": float(depth_sd),
        "dispersion": float(dispersion),
        "abundance_sd": float(abundance_sd),
        "group_effect": float(group_effect),
        "effect_fraction": float(effect_fraction),
        "samples_per_subject": int(samples_per_subject),
        "subject_sd": float(subject_sd),
    }
    return adata
