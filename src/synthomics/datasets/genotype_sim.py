"""Simulated human genotypes from a standard demographic model (msprime through stdpopsim).

:func:`simulate_genotypes` samples individuals from populations of a stdpopsim demographic
model (default: the three-population out-of-Africa model of Gutenkunst et al. 2009,
``HomSap/OutOfAfrica_3G09``, YRI/CEU/CHB) on a generic contig with uniform recombination
at the species' mean rate and the model's mutation rate, keeps biallelic sites above a
minor allele frequency, and thins them at random to the number of variants asked for.
Nothing is downloaded: generic contigs need no genetic map.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import genotype_anndata
from synthomics.errors import InputError

__all__ = ["simulate_genotypes"]

_MAX_ATTEMPTS = 6


def _usable_sites(ts, min_maf: float) -> np.ndarray:
    """Ids of sites with exactly one mutation (so biallelic) and MAF >= ``min_maf``."""
    n_mutations = np.bincount(ts.mutations_site, minlength=ts.num_sites)
    derived = np.zeros(ts.num_sites, dtype=np.int64)
    single = n_mutations == 1
    for tree in ts.trees():
        for site in tree.sites():
            if single[site.id]:
                derived[site.id] = tree.num_samples(site.mutations[0].node)
    p = derived / ts.num_samples
    maf = np.minimum(p, 1.0 - p)
    return np.flatnonzero(single & (maf >= min_maf) & (maf > 0))


def _initial_length(
    n_variants: int, n_haplotypes: int, mutation_rate: float, min_maf: float
) -> float:
    """Sequence length expected to hold ``1.4 x n_variants`` sites with MAF >= ``min_maf``.

    Neutral expectation: a site carries ``i`` derived copies out of ``n`` with rate
    ``theta / i``, so sites per bp with MAF >= m are ``theta * sum(1/i, i = k..n-k)``,
    ``k = ceil(m n)``, with ``theta = 4 N mu`` at N = 7,300 (the model's ancestral size).
    Under OutOfAfrica_3G09 the count is about 1.2 times that (checked with 180 and 3,000
    haplotypes); a shortfall is fixed by growing the length and simulating again.
    """
    k = max(1, math.ceil(min_maf * n_haplotypes))
    harmonic = sum(1.0 / i for i in range(k, max(n_haplotypes - k, k) + 1))
    sites_per_bp = 1.2 * 4 * 7_300 * mutation_rate * harmonic
    return 1.4 * n_variants / sites_per_bp


def simulate_genotypes(
    n_per_population: int | Mapping[str, int] = 100,
    n_variants: int = 1_000,
    *,
    sequence_length: float | None = None,
    populations: Sequence[str] = ("YRI", "CEU", "CHB"),
    model: str = "OutOfAfrica_3G09",
    species: str = "HomSap",
    seed: int = 0,
    phased: bool = False,
    maf: float = 0.01,
    chrom: str = "1",
) -> ad.AnnData:
    """Simulate diploid genotypes of several populations under a stdpopsim model.

    Parameters
    ----------
    n_per_population
        Individuals per population: one number for all, or a mapping population -> number.
    n_variants
        Biallelic variants to return, chosen at random (seeded) among all usable sites
        and kept in genome order.
    sequence_length
        Length of the simulated contig in base pairs. ``None`` picks a length that holds
        enough sites (growing it if needed); a given length that holds fewer usable sites
        than ``n_variants`` is an error.
    populations
        Names of sampled populations of the model.
    model, species
        stdpopsim species and demographic model ids.
    seed
        Seed of the ancestry, mutations and thinning; equal seeds give equal data.
    phased
        ``True`` returns the haplotype layout (rows ``<id>_A``, ``<id>_B``); ``False``
        dosages (0/1/2 copies of the derived allele).
    maf
        Minimum minor allele frequency over all sampled haplotypes.
    chrom
        Chromosome name written in ``var["chrom"]``.

    Returns
    -------
    anndata.AnnData
        Genotype container with ``obs["population"]`` (categorical, in ``populations``
        order), ``var`` positions (1-based) and alleles (REF = ancestral, ALT = derived),
        and ``uns["simulation"]`` recording every setting and library version.

    Examples
    --------
    >>> adata = simulate_genotypes(10, 50, seed=1)  # doctest: +SKIP
    >>> adata.shape, adata.obs["population"].value_counts().to_dict()  # doctest: +SKIP
    ((30, 50), {'YRI': 10, 'CEU': 10, 'CHB': 10})
    """
    import msprime
    import stdpopsim

    populations = list(populations)
    counts = (
        {p: int(n_per_population[p]) for p in populations}
        if isinstance(n_per_population, Mapping)
        else dict.fromkeys(populations, int(n_per_population))
    )
    if n_variants < 1 or any(n < 1 for n in counts.values()):
        raise InputError(
            None,
            "nothing to simulate",
            expected="n_variants >= 1 and >= 1 individual per population",
        )
    if not 0.0 <= maf < 0.5:
        raise InputError(None, f"maf = {maf}", expected="a value in [0, 0.5)")
    try:
        species_obj = stdpopsim.get_species(species)
        model_obj = species_obj.get_demographic_model(model)
    except ValueError as exc:
        raise InputError(None, str(exc), expected="a stdpopsim species and model id") from exc
    known = [p.name for p in model_obj.populations if p.allow_samples]
    unknown = [p for p in populations if p not in known]
    if unknown:
        raise InputError(
            None,
            f"population {unknown[0]!r} is not sampled in {species}/{model}",
            expected=f"one of {known}",
        )
    mutation_rate = model_obj.mutation_rate or species_obj.genome.mean_mutation_rate
    n_haplotypes = 2 * sum(counts.values())
    length = sequence_length or _initial_length(n_variants, n_haplotypes, mutation_rate, maf)
    engine = stdpopsim.get_engine("msprime")
    for _attempt in range(_MAX_ATTEMPTS):
        contig = species_obj.get_contig(length=math.ceil(length), mutation_rate=mutation_rate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # generic-contig notes
            ts = engine.simulate(model_obj, contig, counts, seed=seed)
        usable = _usable_sites(ts, maf)
        if len(usable) >= n_variants or sequence_length is not None:
            break
        length *= 1.25 * n_variants / max(len(usable), 1)
    if len(usable) < n_variants:
        raise InputError(
            None,
            f"{len(usable)} biallelic sites with MAF >= {maf} in {math.ceil(length)} bp",
            expected=f"at least {n_variants}: give a longer sequence_length (or None)",
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(usable, size=n_variants, replace=False))
    keep = np.zeros(ts.num_sites, dtype=bool)
    keep[chosen] = True
    ts_kept = ts.delete_sites(np.flatnonzero(~keep))
    haplotypes = ts_kept.genotype_matrix().T  # sample nodes x sites, 0 ancestral 1 derived

    column_of = np.full(ts.num_nodes, -1)
    column_of[ts.samples()] = np.arange(ts.num_samples)
    nodes = ts.individuals_nodes
    pop_names = [pop.metadata["name"] for pop in ts.populations()]
    ind_pop = np.array([pop_names[p] for p in ts.nodes_population[nodes[:, 0]]])
    order = np.concatenate([np.flatnonzero(ind_pop == p) for p in populations])
    width = len(str(max(counts.values())))
    ids = [f"{p}_{k:0{width}d}" for p in populations for k in range(1, counts[p] + 1)]
    population = pd.Categorical(ind_pop[order], categories=populations)
    first = haplotypes[column_of[nodes[order, 0]]]
    second = haplotypes[column_of[nodes[order, 1]]]

    sites_ts = ts_kept.tables.sites
    ancestral = [site.ancestral_state for site in ts_kept.sites()]
    derived = [site.mutations[0].derived_state for site in ts_kept.sites()]
    variants = pd.DataFrame(
        {
            "chrom": chrom,
            "pos": sites_ts.position.astype(np.int64) + 1,  # tskit is 0-based, VCF 1-based
            "id": ".",
            "ref": ancestral,
            "alt": derived,
        }
    )
    if phased:
        X = np.empty((2 * len(ids), n_variants), dtype=np.int8)
        X[0::2], X[1::2] = first, second
        rows = [f"{i}_{h}" for i in ids for h in ("A", "B")]
        obs = pd.DataFrame(
            {
                "population": pd.Categorical(np.repeat(population, 2), categories=populations),
                "individual": np.repeat(ids, 2),
                "haplotype": np.tile([0, 1], len(ids)),
            },
            index=rows,
        )
        adata = genotype_anndata(
            X, rows, variants, ploidy=2, phased=True, layout="haplotype", obs=obs
        )
    else:
        obs = pd.DataFrame({"population": population}, index=ids)
        adata = genotype_anndata(
            first + second, ids, variants, ploidy=2, phased=False, layout="dosage", obs=obs
        )
    adata.uns["label_column"] = "population"
    adata.uns["simulation"] = {
        "engine": "msprime",
        "msprime_version": msprime.__version__,
        "stdpopsim_version": stdpopsim.__version__,
        "species": species,
        "model": model,
        "populations": populations,
        "n_per_population": [counts[p] for p in populations],
        "sequence_length": float(ts.sequence_length),
        "mutation_rate": float(mutation_rate),
        "recombination_rate": float(contig.recombination_map.mean_rate),
        "maf": float(maf),
        "seed": int(seed),
        "n_usable_sites": len(usable),
    }
    return adata
