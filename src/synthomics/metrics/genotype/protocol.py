# Over 450 lines: the genotype data (Genotypes, alignment) and steps with their data
# preparation (caps, notes); the run itself is metrics/engine.py.
"""The genotype evaluation protocol: every metric, for every synthetic set, beside the real floor.

:func:`evaluate_genotypes` compares one or several synthetic genotype sets with real data,
the way :func:`synthomics.metrics.evaluate` does for microbiomes, with the metrics of
:data:`~synthomics.metrics.genotype.specs.GENOTYPE_METRICS`:

Fidelity
    against real individuals the generator never saw (``real_test``): allele frequencies,
    heterozygosity, LD decay, a PCA fitted on the real individuals, Hamming distances. The
    real reference and each synthetic set are subsampled (seeded) to one common size
    ``n``, so that r² (biased by about ``1/n``) and the distance distributions compare
    sets on equal terms.
Privacy
    synthetic individuals against the training individuals (``train``), with
    ``real_test`` held out, on Hamming distances (:mod:`.distances`).
Utility
    classifiers of ``label`` trained on synthetic vs on real training individuals, tested
    on ``real_test`` (:mod:`.utility`).
Real-vs-real floor
    every metric also computed with a *real* set in the synthetic set's place: for
    fidelity ``n`` training individuals (without ``train``: the second half of
    ``real_test`` against the first); for privacy half of ``real_test`` standing in for
    the synthetic set and the other half held out. Each value is judged against it
    (:func:`synthomics.metrics.specs.judge`).

Data: haplotype layouts are summed to dosages (:func:`synthomics.preprocessing.genotype.
to_dosage`); synthetic and training sets are aligned to the test set's variants by
``var_names`` (an error names the set and the missing ids; extra variants are dropped and
noted). Missing calls (``-1``) are mean-imputed for LD and PCA, left out of allele
frequencies and heterozygosity, and Hamming distances use the variants called in both
individuals.

Randomness: every subsample, permutation and classifier draws from a stream derived from
``seed`` and a fixed key of its step, never from a set's name or position, so a set's
values do not change when sets are renamed, added, removed or reordered.

Caps (stated in ``Evaluation.notes`` when they bite): ``max_individuals`` per set for
everything, ``max_distance_individuals`` per set for Hamming distance distributions,
``utility_variants`` variants (a seeded subset) as classifier features.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from synthomics.container import MISSING
from synthomics.errors import InputError
from synthomics.metrics.engine import (
    ATTACK_STEPS,
    PrivacyCase,
    Step,
    StepRunner,
    UtilityData,
    UtilityModels,
    Values,
    cap_note,
    capped,
    check_skip,
    draw_candidates,
    fidelity_split,
    name_sets,
    needs_train,
    privacy_halves,
    run_evaluation,
    run_table,
    stream,
    utility_setup,
)
from synthomics.metrics.genotype import distances, ld, population
from synthomics.metrics.genotype.specs import GENOTYPE_METRICS
from synthomics.metrics.genotype.utility import (
    augmentation_curve,
    fit_and_score,
    impute_features,
    tstr_accuracy_ratio,
)
from synthomics.metrics.null_se import permutation_se
from synthomics.metrics.privacy import (
    dcr_from_distances,
)
from synthomics.metrics.profiles import subsample
from synthomics.metrics.results import Evaluation, MetricResult
from synthomics.metrics.utility import absent_class_note

# --------------------------------------------------------------------------- data


@dataclass
class Genotypes:
    """Dosages of one set of individuals with their variant ids and labels.

    Attributes
    ----------
    name
        Name of the set (messages, reports).
    dosage
        Individuals x variants ``int8`` dosages, ``-1`` missing.
    variants
        Variant ids (``var_names``), in column order.
    obs
        Per-individual labels.
    source
        File the set came from, for error messages.
    """

    name: str
    dosage: np.ndarray
    variants: pd.Index
    obs: pd.DataFrame
    source: str | None = None

    @property
    def n(self) -> int:
        return int(self.dosage.shape[0])

    @property
    def n_samples(self) -> int:
        """Individuals in the set (the name the evaluation engine reads)."""
        return self.n

    def subset(self, rows: np.ndarray, name: str | None = None) -> Genotypes:
        return Genotypes(
            name or self.name, self.dosage[rows], self.variants, self.obs.iloc[rows], self.source
        )


def as_genotypes(data: Any, name: str, variants: pd.Index | None = None) -> Genotypes:
    """:class:`Genotypes` from a genotype AnnData (either layout) or a dosage array.

    Raises
    ------
    InputError
        If ``data`` is not genotype data or holds values other than 0/1/2/-1.
    """
    import anndata as ad

    if isinstance(data, ad.AnnData):
        source = data.uns.get("source_file")
        omics = data.uns.get("omics")
        if omics != "genotype":
            raise InputError(
                source or name,
                f"{name}: the data holds {omics!r}, not genotypes",
                expected="a genotype container (read with synthomics.io.read_genotypes)",
            )
        if data.uns.get("layout") == "haplotype":
            from synthomics.preprocessing.genotype import to_dosage

            data = to_dosage(data)
        X = data.X.toarray() if hasattr(data.X, "toarray") else np.asarray(data.X)
        ids = pd.Index(data.var_names.astype(str))
        obs = data.obs.copy()
    else:
        source = None
        X = np.asarray(data)
        if X.ndim != 2:
            raise InputError(name, f"{name}: expected individuals x variants, shape {X.shape}")
        if variants is None or len(variants) != X.shape[1]:
            raise InputError(
                name,
                f"{name}: an array of {X.shape[1]} columns has no variant ids",
                expected=f"an AnnData, or an array with the test set's "
                f"{0 if variants is None else len(variants)} variants in order",
            )
        ids = pd.Index(variants)
        obs = pd.DataFrame(index=pd.Index([f"{name}_{i}" for i in range(X.shape[0])]))
    if X.shape[0] == 0:
        raise InputError(source or name, f"{name}: no individuals", expected="at least one")
    bad = (X < MISSING) | (X > 2)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(
            source or name,
            f"{name}: genotype value {X[i, j]!r}",
            where=f"individual {obs.index[i]!r}, variant {ids[j]!r}",
            expected="dosages 0/1/2 or -1 for missing",
        )
    if ids.has_duplicates:
        raise InputError(
            source or name,
            f"{name}: duplicate variant id {ids[ids.duplicated()][0]!r}",
            expected="unique variant ids",
        )
    return Genotypes(name, X.astype(np.int8, copy=False), ids, obs, source)


def align_variants(reference: Genotypes, other: Genotypes) -> tuple[Genotypes, int]:
    """``other`` restricted to and ordered like ``reference``'s variants; and extras dropped.

    Raises
    ------
    InputError
        Naming ``other`` and the first missing variant ids.
    """
    if other.variants.equals(reference.variants):
        return other, 0
    where = other.variants.get_indexer(reference.variants)
    missing = reference.variants[where < 0]
    if len(missing):
        shown = ", ".join(repr(v) for v in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(
            other.source or other.name,
            f"set {other.name!r} lacks {len(missing)} of the {len(reference.variants)} "
            f"variants of the real test set: {shown}{more}",
            expected="the same variants (var_names) as the real test set",
        )
    aligned = Genotypes(
        other.name, other.dosage[:, where], reference.variants, other.obs, other.source
    )
    return aligned, len(other.variants) - len(reference.variants)


# --------------------------------------------------------------------------- running steps


@dataclass
class _Settings:
    seed: int
    max_distance_individuals: int
    ld_edges: np.ndarray | None
    ld_block_variants: int
    augmentation_fractions: tuple[float, ...]
    block_rows: int
    skip: frozenset[str]


# --------------------------------------------------------------------------- fidelity


@dataclass
class _Reference:
    """What every fidelity comparison shares: the real reference and its precomputations."""

    genotypes: Genotypes
    positions: np.ndarray
    chroms: np.ndarray
    pca: population.RealPCA
    coords: np.ndarray
    distance_rows: np.ndarray
    within: np.ndarray  # real-real Hamming distances (upper triangle)
    coded: distances.Coded


@dataclass
class _Pair:
    """One fidelity comparison: a set against the real reference (same number of
    individuals); ``figures`` receives the figure data (``None`` for the floor)."""

    ref: _Reference
    cand: Genotypes
    settings: _Settings
    figures: dict[str, Any] | None


def _frequency_step(c: _Pair) -> Values:
    ref, cand, settings, figures = c.ref, c.cand, c.settings, c.figures
    R, S = ref.genotypes.dosage, cand.dosage
    rng = stream(settings.seed, "heterozygosity null")
    het_r, het_s = population.heterozygosity(R), population.heterozygosity(S)
    p, q = population.alt_allele_frequencies(R), population.alt_allele_frequencies(S)
    if figures is not None:
        shown = subsample(len(p), 5000, stream(settings.seed, "allele frequency figure"))
        freq = figures.setdefault("allele_frequency", {"real": p[shown]})
        freq[cand.name] = q[shown]
        het = figures.setdefault("heterozygosity", {"real": het_r})
        het[cand.name] = het_s
    return {
        "allele_frequency_pearson": (
            population.allele_frequency_pearson(R, S),
            {"variants": int(np.sum(np.isfinite(p) & np.isfinite(q)))},
        ),
        "heterozygosity_wasserstein": (
            population.heterozygosity_wasserstein(R, S),
            {
                "real_mean": float(np.nanmean(het_r)),
                "synthetic_mean": float(np.nanmean(het_s)),
                "null_se": permutation_se(wasserstein_distance, het_r, het_s, rng),
            },
        ),
    }


def _ld_step(c: _Pair) -> Values:
    ref, cand, settings, figures = c.ref, c.cand, c.settings, c.figures
    R, S = ref.genotypes.dosage, cand.dosage
    result = ld.ld_comparison(
        R, S, ref.positions, ref.chroms, settings.ld_edges, settings.ld_block_variants
    )
    if figures is not None:
        curves = figures.setdefault(
            "ld",
            {
                "edges": result.edges,
                "centres": result.centres,
                "pairs": result.pairs,
                "real": result.reference,
            },
        )
        curves[cand.name] = result.candidate
    details = {
        "pairs": result.n_pairs,
        "bins": len(result.edges) - 1,
        "max_distance_bp": float(result.edges[-1]),
        "n_individuals": len(S),
    }
    return {
        "ld_decay_max_gap": (result.max_gap, details),
        "ld_r2_pearson": (result.r2_pearson, details),
    }


def _pca_step(c: _Pair) -> Values:
    ref, cand, settings, figures = c.ref, c.cand, c.settings, c.figures
    S = cand.dosage
    rng = stream(settings.seed, "pca null")
    coords = ref.pca.transform(S)
    w1 = population.pc_wasserstein(ref.coords, coords)
    if figures is not None:
        pca = figures.setdefault(
            "pca",
            {"real": ref.coords, "explained": ref.pca.explained.tolist()},
        )
        pca[cand.name] = coords
    values: Values = {}
    for k, name in enumerate(("pca_pc1_wasserstein", "pca_pc2_wasserstein")):
        if k < len(w1):
            se = permutation_se(wasserstein_distance, ref.coords[:, k], coords[:, k], rng)
            values[name] = (
                w1[k],
                {"explained": float(ref.pca.explained[k]), "null_se": se},
            )
    return values


def _hamming_step(c: _Pair) -> Values:
    ref, cand, settings, figures = c.ref, c.cand, c.settings, c.figures
    S = cand.dosage
    rows = subsample(cand.n, len(ref.distance_rows), stream(settings.seed, "distance rows"))
    coded = distances.Coded(S[rows])
    within = distances.within_distances(
        distances.hamming_matrix(coded, block_rows=settings.block_rows)
    )
    between = (
        distances.hamming_matrix(ref.coded, coded, block_rows=settings.block_rows)
        .ravel()
        .astype(np.float64)
    )
    if figures is not None:
        rng = stream(settings.seed, "hamming figure")
        ham = figures.setdefault(
            "hamming", {"real": ref.within[subsample(len(ref.within), 20000, rng)]}
        )
        ham[cand.name] = {
            "within": within[subsample(len(within), 20000, rng)],
            "between": between[subsample(len(between), 20000, rng)],
        }
    details = {
        "n_individuals": len(rows),
        "mean_real_real": float(ref.within.mean()),
        "mean_synthetic_synthetic": float(within.mean()),
        "mean_real_synthetic": float(between.mean()),
    }
    return {
        "hamming_within_wasserstein": (
            distances.distance_distribution_gap(within, ref.within),
            details,
        ),
        "hamming_between_wasserstein": (
            distances.distance_distribution_gap(between, ref.within),
            details,
        ),
    }


FIDELITY_STEPS: tuple[Step, ...] = (
    Step(
        "allele frequencies",
        ("allele_frequency_pearson", "heterozygosity_wasserstein"),
        _frequency_step,
    ),
    Step("linkage disequilibrium", ("ld_decay_max_gap", "ld_r2_pearson"), _ld_step),
    Step("population structure", ("pca_pc1_wasserstein", "pca_pc2_wasserstein"), _pca_step),
    Step(
        "Hamming distances",
        ("hamming_within_wasserstein", "hamming_between_wasserstein"),
        _hamming_step,
    ),
)
"""The genotype fidelity steps, in order, with the metrics each fills."""


# --------------------------------------------------------------------------- privacy

PRIVACY_NAMES = [s.name for s in GENOTYPE_METRICS if s.family == "privacy"]


def _dcr_step(case: PrivacyCase) -> Values:
    result = dcr_from_distances(case.search("S", "R"), case.search("H", "R"))
    if case.figures is not None:
        dists = case.figures.setdefault("dcr", {})
        dists.setdefault("real (held out)", result.holdout_dcr)
        dists[case.cand.name] = result.synthetic_dcr
    details = {**result.details(), **case.sizes}
    return {
        "exact_copies": (result.exact_copies, details),
        "dcr_ratio": (result.dcr_ratio, details),
    }


PRIVACY_STEPS: tuple[Step, ...] = (
    Step("dcr", ("exact_copies", "dcr_ratio"), _dcr_step, needs_train),
    *ATTACK_STEPS,
)
"""The genotype privacy steps, in order, with the metrics each fills."""


def _privacy(
    cand: Genotypes,
    train: Genotypes | None,
    holdout: Genotypes,
    settings: _Settings,
    run: StepRunner,
    figures: dict[str, Any] | None,
) -> dict[str, MetricResult]:
    """Privacy metrics of ``cand`` against ``train``, calibrated by ``holdout`` (Hamming)."""
    search: distances.HammingNeighbours | None = None
    if train is not None:
        search = distances.HammingNeighbours(
            {"S": cand.dosage, "R": train.dosage, "H": holdout.dosage}, settings.block_rows
        )
    sizes = {
        "n_synthetic": cand.n,
        "n_train": train.n if train is not None else None,
        "n_holdout": holdout.n,
        "distance": "Hamming",
    }

    def paired(real: str, rng: np.random.Generator) -> tuple[str, str, int]:
        """Names of equal-size versions of (real, synthetic), subsampling the larger."""
        sets = search.sets
        n = min(sets["S"].n, sets[real].n)
        real_name, synth_name = real, "S"
        if sets[real].n > n:
            real_name = f"{real}~{n}"
            G = {"R": train, "H": holdout}[real].dosage
            search.add(real_name, G[subsample(len(G), n, rng)])
        if sets["S"].n > n:
            synth_name = f"S~{real}"
            search.add(synth_name, cand.dosage[subsample(cand.n, n, rng)])
        return real_name, synth_name, n

    def pairs() -> tuple[tuple[str, str, int], tuple[str, str, int]]:
        rng = stream(settings.seed, "adversarial accuracy pairs")
        return paired("R", rng), paired("H", rng)

    case = PrivacyCase(cand, train, holdout, search, sizes, "Hamming", pairs, figures)
    out = run_table(run, PRIVACY_STEPS, case)
    return {n: out[n] for n in PRIVACY_NAMES}


# --------------------------------------------------------------------------- utility

UTILITY = UtilityModels(
    ("logistic", "mlp"), fit_and_score, tstr_accuracy_ratio, augmentation_curve
)
"""TSTR with logistic regression and a small perceptron on imputed dosages; accuracy."""


def _features(
    g: Genotypes, label: str, columns: np.ndarray, mean: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dosages of ``columns`` (missing calls: the training ``mean``) and labels of the
    labelled individuals."""
    if label not in g.obs.columns:
        raise InputError(
            g.source or g.name,
            f"{g.name} has no column {label!r} for the labels",
            expected=f"a {label!r} column in obs (for synthetic sets: a generator "
            f"fitted with the labels)",
        )
    y = g.obs[label]
    keep = y.notna().to_numpy()
    X = impute_features(g.dosage[keep][:, columns], mean)
    return X, y[keep].astype(str).to_numpy()


def _utility_data(
    train: Genotypes, test: Genotypes, label: str, n_variants: int, seed: int
) -> UtilityData:
    columns = subsample(train.dosage.shape[1], n_variants, stream(seed, "utility variants"))
    called = train.dosage[:, columns] != MISSING
    sums = np.where(called, train.dosage[:, columns], 0).sum(axis=0)
    mean = (sums / np.maximum(called.sum(axis=0), 1)).astype(np.float32)
    return UtilityData(
        columns,
        _features(train, label, columns, mean),
        _features(test, label, columns, mean),
        lambda g: _features(g, label, columns, mean),
    )


# --------------------------------------------------------------------------- protocol



def evaluate_genotypes(
    real_test: Any,
    synthetic: Any,
    *,
    train: Any = None,
    label: str | None = None,
    names: Sequence[str] | None = None,
    seed: int = 0,
    max_individuals: int = 5000,
    max_distance_individuals: int = 1000,
    ld_bins: Sequence[float] | None = None,
    ld_block_variants: int = 1024,
    utility_variants: int = 2000,
    augmentation_fractions: Sequence[float] = (0.05, 0.1, 0.2, 0.5),
    skip: Sequence[str] = (),
    block_rows: int = 512,
    progress: bool = False,
) -> Evaluation:
    """Evaluate synthetic genotypes: fidelity, privacy, utility and the real floor.

    Parameters
    ----------
    real_test
        Real individuals the generator never saw (genotype AnnData, dosage or haplotype
        layout).
    synthetic
        A synthetic genotype AnnData, a list of them, or a ``{name: AnnData}`` mapping.
    train
        The real individuals the generator was trained on; needed for privacy and utility,
        and the fidelity floor (without it the test set is split in halves).
    label
        ``obs`` column of the class label for the utility metrics (e.g. ``"population"``).
    names
        Names of the synthetic sets (default: the generator name in ``uns``).
    seed
        Seed of every subsample, permutation and classifier.
    max_individuals
        Individuals used per set at most.
    max_distance_individuals
        Individuals per set for the Hamming distance distributions.
    ld_bins
        Edges (bp) of the LD decay bins (default
        :func:`~synthomics.metrics.genotype.ld.default_bins`).
    ld_block_variants
        Variants per block of the r² matrix products.
    utility_variants
        Variants (a seeded subset) used as classifier features.
    augmentation_fractions
        Shares of the real training set in the augmentation curve.
    skip
        Metric names or report groups to leave out (recorded as ``"n/a"``).
    block_rows
        Individuals per block of the Hamming distance products.
    progress
        Show a rich progress bar.

    Returns
    -------
    Evaluation
        ``omics="genotype"``; records per set and for the floor, notes, figure data.

    Raises
    ------
    InputError
        If a set is not genotype data or lacks variants of the test set (naming the set
        and the variant ids), or too few individuals remain to compare.

    Examples
    --------
    >>> from synthomics.datasets.genotype_sim import simulate_genotypes  # doctest: +SKIP
    >>> real = simulate_genotypes(40, 300, seed=1)  # doctest: +SKIP
    >>> ev = evaluate_genotypes(real[::2], {"copy": real[1::2]})  # doctest: +SKIP
    >>> ev.value("copy", "allele_frequency_pearson")  # doctest: +SKIP
    """
    started = time.perf_counter()
    check_skip(skip, GENOTYPE_METRICS, "synthomics.metrics.genotype.GENOTYPE_METRICS")
    settings = _Settings(
        seed,
        max_distance_individuals,
        None if ld_bins is None else np.asarray(ld_bins, dtype=np.float64),
        ld_block_variants,
        tuple(augmentation_fractions),
        block_rows,
        frozenset(skip),
    )
    test = as_genotypes(real_test, "real test")
    notes: list[str] = []
    sets: list[tuple[str, Genotypes]] = []
    for name, data in name_sets(synthetic, names):
        aligned, extra = align_variants(test, as_genotypes(data, name, test.variants))
        if extra:
            notes.append(f"{name}: {extra:,} variants absent from the real test set left out.")
        sets.append((name, aligned))
    train_g = None
    if train is not None:
        train_g, extra = align_variants(test, as_genotypes(train, "real train", test.variants))
        if extra:
            notes.append(f"real train: {extra:,} variants absent from the real test set left out.")
    var = real_test.var if hasattr(real_test, "var") else None
    if var is not None and {"pos", "chrom"} <= set(var.columns):
        positions = var["pos"].to_numpy(dtype=np.int64)
        chroms = var["chrom"].astype(str).to_numpy()
    else:
        positions, chroms = np.arange(1, test.dosage.shape[1] + 1), np.full(len(test.variants), "1")
        notes.append("No variant positions: LD uses column order as positions (1 bp apart).")

    # ---- sample sizes (each role its own fixed stream: names and order never matter)
    def cap(g: Genotypes, key: str) -> Genotypes:
        out = capped(g, max_individuals, stream(seed, key))
        note = cap_note(g, out, "individual", "max_individuals", max_individuals, seed)
        notes.extend([note] if note else [])
        return out

    test_c = cap(test, "cap real test")
    train_c = cap(train_g, "cap real train") if train_g is not None else None
    sets_c = [(name, cap(g, "cap synthetic")) for name, g in sets]
    split = fidelity_split(
        test_c,
        train_c,
        [g.n for _, g in sets_c],
        lambda key: stream(seed, key),
        min_n=4,
        unit="individual",
    )
    n_fid, reference, floor_cand = split.n, split.reference, split.floor
    if split.source == "train":
        notes.append(
            f"Fidelity: {n_fid:,} real test individuals against {n_fid:,} of each synthetic "
            f"set; the floor compares them with {n_fid:,} real training individuals "
            f"(seeded subsamples, seed {seed})."
        )
    else:
        notes.append(
            f"Fidelity: no training set, so the real test set is split in two halves of "
            f"{n_fid:,}; synthetic sets are compared with the first half, the floor is "
            f"half against half (seed {seed})."
        )
    candidates = draw_candidates(sets_c, n_fid, lambda name: stream(seed, "fidelity synthetic"))
    m = min(n_fid, max_distance_individuals)
    if m < n_fid:
        notes.append(
            f"Hamming distance distributions: {m:,} individuals per set "
            f"(max_distance_individuals = {max_distance_individuals:,})."
        )
    notes.append(
        "LD: r² of standardised dosages (missing calls mean-imputed) for pairs of variants "
        "on one chromosome, binned by distance; monomorphic variants left out."
    )
    notes.append(
        "PCA fitted on the real reference individuals with Patterson scaling; every set "
        "is projected onto its first two axes."
    )

    # ---- privacy sets: synthetic vs train with the test set held out; floor: test halves
    if train_c is not None:
        cand_floor, holdout_floor, half = privacy_halves(test_c, stream(seed, "privacy halves"))
        notes.append(
            f"Privacy: Hamming distances (share of differing calls among variants called in "
            f"both); synthetic individuals against {train_c.n:,} training individuals, "
            f"{test_c.n:,} test individuals held out; the floor puts {half:,} test "
            f"individuals in the synthetic set's place and holds out the other {half:,}."
        )

    utility = utility_setup(
        UTILITY,
        label,
        train_c,
        lambda: _utility_data(train_c, test_c, label, utility_variants, seed),
        seed,
        settings.augmentation_fractions,
    )
    utility_data = utility.data
    if utility_data is not None:
        labelled = [(g.name, g.obs[label].dropna()) for _, g in sets_c if label in g.obs]
        for name, y in [("real train", utility_data.train[1]), *labelled]:
            note = absent_class_note(name, np.asarray(y), utility_data.test[1])
            notes.extend([note] if note else [])
        if len(utility_data.columns) < test.dosage.shape[1]:
            notes.append(
                f"Utility: {len(utility_data.columns):,} of {test.dosage.shape[1]:,} "
                f"variants (seeded subset) as classifier features."
            )

    # ---- the real reference's precomputations, shared by every fidelity comparison
    refs: list[_Reference] = []

    def prepare(run: StepRunner) -> None:
        run.describe("real reference")
        start = time.perf_counter()
        R = reference.dosage
        pca = population.RealPCA.fit(R, 2)
        rows = subsample(n_fid, m, stream(seed, "distance rows real"))
        coded = distances.Coded(R[rows])
        within = distances.within_distances(distances.hamming_matrix(coded, block_rows=block_rows))
        refs.append(
            _Reference(reference, positions, chroms, pca, pca.transform(R), rows, within, coded)
        )
        run.timings["reference"] = time.perf_counter() - start

    # ---- the floor: real sets in the synthetic set's place
    def floor_steps(run: StepRunner) -> dict[str, MetricResult]:
        floor = run_table(run, FIDELITY_STEPS, _Pair(refs[0], floor_cand, settings, None))
        floor |= _privacy(
            cand_floor if train_c is not None else test_c,
            train_c,
            holdout_floor if train_c is not None else test_c,
            settings,
            run,
            None,
        )
        return floor

    # ---- each synthetic set: fidelity at n_fid, privacy and utility on the capped set
    figures: dict[str, Any] = {}
    full_sets, candidate_sets = dict(sets_c), dict(candidates)

    def fidelity(run: StepRunner, name: str) -> dict[str, MetricResult]:
        case = _Pair(refs[0], candidate_sets[name], settings, figures)
        return run_table(run, FIDELITY_STEPS, case)

    def privacy(run: StepRunner, name: str) -> dict[str, MetricResult]:
        return _privacy(full_sets[name], train_c, test_c, settings, run, figures)

    evaluation = run_evaluation(
        omics="genotype",
        specs=GENOTYPE_METRICS,
        skip=settings.skip,
        progress=progress,
        title="evaluating genotypes",
        steps_per_set=len(FIDELITY_STEPS) + len(PRIVACY_STEPS) + len(UTILITY.names),
        floor_steps=floor_steps,
        sets={name: full_sets[name] for name, _ in candidates},
        fidelity=fidelity,
        privacy=privacy,
        utility=utility,
        prepare=prepare,
        figures=figures,
        notes=notes,
    )
    if utility_data is not None:
        figures["trtr"] = dict(utility_data.trtr)
    settings_out = {
        "seed": seed,
        "n_fidelity": n_fid,
        "n_distance": m,
        "n_test": test.n,
        "n_train": train_g.n if train_g is not None else None,
        "n_synthetic": {n: g.n for n, g in sets},
        "n_variants": int(test.dosage.shape[1]),
        "n_chromosomes": len(set(chroms)),
        "max_individuals": max_individuals,
        "max_distance_individuals": max_distance_individuals,
        "ld_bins": None if ld_bins is None else list(map(float, ld_bins)),
        "utility_variants": utility_variants,
        "augmentation_fractions": list(augmentation_fractions),
        "label": label,
        "privacy_distance": "Hamming",
        "floor_source": "train" if train_c is not None else "test halves",
    }
    evaluation.settings = settings_out
    evaluation.timings["total"] = time.perf_counter() - started
    return evaluation
