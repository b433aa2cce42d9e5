# Over 450 lines: the microbiome fidelity and privacy steps (45 metrics in all) and their data
# preparation (tree, caps, notes); the run itself is metrics/engine.py.
"""The evaluation protocol: every metric, for every synthetic set, beside the real floor.

:func:`evaluate` compares one or several synthetic sets with real data:

Fidelity
    against real samples the generator never saw (``real_test``). Every set is
    total-sum scaled; the real reference and each synthetic set are subsampled (seeded)
    to one common size ``n`` so that all sets are judged on equal terms.
Privacy
    synthetic samples against the training samples (``train``), with ``real_test`` as
    the held-out real samples that calibrate the distances.
Utility
    classifiers for ``label`` trained on synthetic vs on real training samples, tested on
    ``real_test``.
Real-vs-real floor
    every metric is also computed with a *real* set in the synthetic set's place: for
    fidelity, ``n`` training samples (or, without ``train``, the second half of
    ``real_test`` against the first); for privacy, half of ``real_test`` standing in for
    the synthetic set and the other half as held-out samples. The floor is what a
    perfect generator would reach at this sample size; each value is judged against it
    (:func:`synthomics.metrics.specs.judge`).

Above what size things are subsampled (defaults; all stated in ``Evaluation.notes``):
``max_samples`` = 5,000 per set for everything; ``max_distance_samples`` = 1,000 per set
for the pairwise-distance metrics (dispersion, energy distance, PERMANOVA, PCoA; the
2,000 x 2,000 matrix is 32 MB); ``max_c2st_samples`` = 1,000 per set and the
``c2st_taxa`` = 200 most prevalent taxa for the classifier two-sample test. Distances are
computed in row blocks (``block_rows``), so memory stays bounded.

A metric that fails is recorded with its error, never dropped; metrics that do not apply
(no tree, no training set, no label) are recorded as ``"n/a"`` with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy.stats import wasserstein_distance

from synthomics.errors import InputError
from synthomics.metrics import alpha, prevalence, sparsity
from synthomics.metrics.beta import permutation_null_se, summary_from_blocks
from synthomics.metrics.distances import BrayCurtis, Jaccard, PairwiseDistance
from synthomics.metrics.engine import (
    ATTACK_STEPS,
    PrivacyCase,
    Step,
    UtilityData,
    UtilityModels,
    Values,
    cap_note,
    capped,
    check_skip,
    draw_candidates,
    fidelity_split,
    needs_train,
    privacy_halves,
    run_evaluation,
    run_table,
    utility_setup,
)
from synthomics.metrics.engine import StepRunner as _Runner
from synthomics.metrics.engine import name_sets as _name_sets
from synthomics.metrics.engine import stream as _stream
from synthomics.metrics.multivariate import (
    c2st_auc,
    correlation_difference,
    overlap_coefficient,
    pcoa,
    top_prevalent,
)
from synthomics.metrics.null_se import (
    auc_null_se,
    ks_null_se,
    mean_difference_se,
    permutation_se,
    share_se,
)
from synthomics.metrics.permanova import permanova
from synthomics.metrics.privacy import (
    NeighbourSearch,
    dcr_from_distances,
    hellinger_features,
)
from synthomics.metrics.profiles import Profiles, align_features, as_profiles, subsample
from synthomics.metrics.results import Evaluation, MetricResult
from synthomics.metrics.separation import separation_figure_data
from synthomics.metrics.specs import METRICS
from synthomics.metrics.unifrac import (
    TreeIncidence,
    UnweightedUniFrac,
    WeightedUniFrac,
    tree_incidence,
)
from synthomics.metrics.utility import augmentation_gain, train_and_score, tstr_ratio

BETA_DISTANCES: tuple[str, ...] = (
    "braycurtis",
    "jaccard",
    "weighted_unifrac",
    "unweighted_unifrac",
)
PHYLOGENETIC: frozenset[str] = frozenset({"weighted_unifrac", "unweighted_unifrac"})


@dataclass
class _Settings:
    seed: int
    max_samples: int
    max_distance_samples: int
    max_c2st_samples: int
    c2st_taxa: int
    c2st_folds: int
    correlation_taxa: int
    permutations: int
    augmentation_fractions: tuple[float, ...]
    block_rows: int
    off_tree: str
    skip: frozenset[str]


@dataclass
class _Tree:
    """The tree prepared for the table, or why there is none."""

    incidence: TreeIncidence | None = None
    columns: np.ndarray | None = None  # taxa used by phylogenetic metrics
    reason: str | None = None  # why phylogenetic metrics cannot run

    def table(self, P: np.ndarray) -> np.ndarray:
        """Proportions restricted to the taxa on the tree and closed again."""
        if self.columns is None:
            return P
        Q = P[:, self.columns]
        totals = Q.sum(axis=1, keepdims=True)
        return np.divide(Q, totals, out=np.zeros_like(Q), where=totals > 0)


def _names(group: str) -> list[str]:
    return [s.name for s in METRICS if s.group == group]


def _beta_names(distance: str) -> list[str]:
    return [
        f"{distance}_{m}"
        for m in ("dispersion_gap", "energy", "permanova_r2", "permanova_f", "permanova_p")
    ]


# --------------------------------------------------------------------------- fidelity


@dataclass
class _Comparison:
    """One fidelity comparison: ``cand`` against the real reference ``ref`` (same number of
    samples), the rows of each in the distance-based metrics, the tree, the random stream
    of the set and where the figure data go (``None`` for the floor)."""

    ref: Profiles
    cand: Profiles
    dist_ref: np.ndarray
    dist_cand: np.ndarray
    tree: _Tree
    settings: _Settings
    rng: np.random.Generator
    figures: dict[str, Any] | None
    matrices: dict[str, np.ndarray] = field(default_factory=dict)  # beta -> PCoA

    def __post_init__(self) -> None:
        self.P, self.Q = self.ref.proportions, self.cand.proportions
        self.m_ref, self.m_cand = len(self.dist_ref), len(self.dist_cand)
        self.pooled = np.vstack([self.P[self.dist_ref], self.Q[self.dist_cand]])
        self.groups = np.r_[np.zeros(self.m_ref, dtype=int), np.ones(self.m_cand, dtype=int)]


def _sparsity_step(c: _Comparison) -> Values:
    P, Q, rng = c.P, c.Q, c.rng
    zr, zs = sparsity.zero_fraction(P), sparsity.zero_fraction(Q)
    rich_r, rich_s = sparsity.richness(P), sparsity.richness(Q)
    return {
        "zero_fraction_gap": (
            sparsity.zero_fraction_gap(P, Q),
            {
                "real": zr,
                "synthetic": zs,
                "null_se": 100 * mean_difference_se((P == 0).mean(1), (Q == 0).mean(1)),
            },
        ),
        "richness_wasserstein": (
            sparsity.richness_wasserstein(P, Q),
            {
                "real_mean": rich_r.mean(),
                "synthetic_mean": rich_s.mean(),
                "real_sd": rich_r.std(),
                "synthetic_sd": rich_s.std(),
                "null_se": permutation_se(wasserstein_distance, rich_r, rich_s, rng),
            },
        ),
    }


def _prevalence_step(c: _Comparison) -> Values:
    P, Q = c.P, c.Q
    return {
        "prevalence_pearson": (prevalence.prevalence_pearson(P, Q), {}),
        "log_mean_abundance_pearson": (
            prevalence.log_mean_abundance_pearson(P, Q),
            {"pseudocount": prevalence.abundance_pseudocount(P, Q)},
        ),
    }


def _alpha_step(c: _Comparison) -> Values:
    P, Q, rng = c.P, c.Q, c.rng
    values: Values = {}
    for index, fn in (
        ("shannon", alpha.shannon),
        ("simpson", alpha.simpson),
        ("richness", alpha.observed_richness),
    ):
        a, b = fn(P), fn(Q)
        w1, ks = alpha.distribution_distances(a, b)
        summary = {"real_mean": a.mean(), "synthetic_mean": b.mean()}
        if index != "richness":
            se = permutation_se(wasserstein_distance, a, b, rng)
            values[f"{index}_wasserstein"] = (w1, {**summary, "null_se": se})
        values[f"{index}_ks"] = (ks, {**summary, "null_se": ks_null_se(len(a), len(b))})
    return values


def _faith_step(c: _Comparison) -> Values:
    P, Q, tree, rng = c.P, c.Q, c.tree, c.rng
    a = alpha.faith_pd(tree.table(P), tree.incidence)
    b = alpha.faith_pd(tree.table(Q), tree.incidence)
    w1, ks = alpha.distribution_distances(a, b)
    summary = {"real_mean": a.mean(), "synthetic_mean": b.mean()}
    ks_details = {**summary, "null_se": ks_null_se(len(a), len(b))}
    w1_details = {**summary, "null_se": permutation_se(wasserstein_distance, a, b, rng)}
    return {"faith_pd_wasserstein": (w1, w1_details), "faith_pd_ks": (ks, ks_details)}


def _beta_step(c: _Comparison, distance: str) -> Values:
    m_ref, m_cand, pooled, groups = c.m_ref, c.m_cand, c.pooled, c.groups
    matrices, tree, settings, rng = c.matrices, c.tree, c.settings, c.rng
    phylogenetic = distance in PHYLOGENETIC
    engine = _engine(distance, tree.table(pooled) if phylogenetic else pooled, tree)
    D = engine.matrix(block_rows=settings.block_rows)
    if distance == "braycurtis":
        matrices["braycurtis"] = D
    summary = summary_from_blocks(D[:m_ref, m_ref:], D[:m_ref, :m_ref], D[m_ref:, m_ref:])
    test = permanova(D, groups, settings.permutations, settings.seed)
    sizes = {"n_real": m_ref, "n_synthetic": m_cand}
    energy_se, gap_se = permutation_null_se(D, m_ref, rng)
    within = {
        "within_real": summary.within_a,
        "within_synthetic": summary.within_b,
        "between": summary.between,
        **sizes,
    }
    perm = {"permutations": settings.permutations, **sizes}
    return {
        f"{distance}_dispersion_gap": (
            summary.dispersion_gap,
            {**within, "null_se": gap_se},
        ),
        f"{distance}_energy": (summary.energy(), {**within, "null_se": energy_se}),
        f"{distance}_permanova_r2": (test.r2, perm),
        f"{distance}_permanova_f": (test.statistic, perm),
        f"{distance}_permanova_p": (test.p_value, perm),
    }


def _correlation_step(c: _Comparison) -> Values:
    ref, cand, P, Q, settings, figures = c.ref, c.cand, c.P, c.Q, c.settings, c.figures
    result = correlation_difference(P, Q, settings.correlation_taxa)
    if figures is not None:
        corr = figures.setdefault("correlation", {"taxa": ref.features[result.columns]})
        corr[ref.name] = result.real
        corr[cand.name] = result.synthetic
    return {"correlation_difference": (result.value, {"taxa": len(result.columns)})}


def _c2st_step(c: _Comparison) -> Values:
    P, Q, settings, rng = c.P, c.Q, c.settings, c.rng
    from synthomics.preprocessing.microbiome import clr_transform

    n_c = min(settings.max_c2st_samples, len(P), len(Q))
    rows_r, rows_s = subsample(len(P), n_c, rng), subsample(len(Q), n_c, rng)
    both = np.vstack([P[rows_r], Q[rows_s]])
    columns = top_prevalent(both, settings.c2st_taxa)
    features = clr_transform(both)[:, columns]
    auc, details = c2st_auc(
        features[:n_c], features[n_c:], folds=settings.c2st_folds, seed=settings.seed
    )
    details |= {"taxa": len(columns), "null_se": auc_null_se(n_c, n_c)}
    return {"c2st_auc": (auc, details)}


def _pcoa_step(c: _Comparison) -> Values:
    m_ref, m_cand, pooled = c.m_ref, c.m_cand, c.pooled
    matrices, settings = c.matrices, c.settings
    D = matrices.get("braycurtis")
    if D is None:
        D = BrayCurtis(pooled).matrix(block_rows=settings.block_rows)
    coords, explained = pcoa(D, 2)
    value = overlap_coefficient(coords[:m_ref], coords[m_ref:])
    return {
        "pcoa_overlap": (
            value,
            {
                "explained": explained.tolist(),
                "bins": 10,
                "n_real": m_ref,
                "n_synthetic": m_cand,
            },
        )
    }


def _tree_reason(c: _Comparison) -> str | None:
    return c.tree.reason


FIDELITY_STEPS: tuple[Step, ...] = (
    Step("sparsity", tuple(_names("sparsity")), _sparsity_step),
    Step("prevalence", tuple(_names("prevalence")), _prevalence_step),
    Step(
        "alpha diversity",
        tuple(n for n in _names("alpha diversity") if not n.startswith("faith")),
        _alpha_step,
    ),
    Step("faith pd", ("faith_pd_wasserstein", "faith_pd_ks"), _faith_step, _tree_reason),
    *(
        Step(
            f"beta {distance}",
            tuple(_beta_names(distance)),
            partial(_beta_step, distance=distance),
            _tree_reason if distance in PHYLOGENETIC else None,
        )
        for distance in BETA_DISTANCES
    ),
    Step("correlation", ("correlation_difference",), _correlation_step),
    Step("c2st", ("c2st_auc",), _c2st_step),
    Step("pcoa", ("pcoa_overlap",), _pcoa_step),
)
"""The microbiome fidelity steps, in order, with the metrics each fills."""


def _engine(distance: str, X: np.ndarray, tree: _Tree) -> PairwiseDistance:
    if distance == "braycurtis":
        return BrayCurtis(X)
    if distance == "jaccard":
        return Jaccard(X)
    if distance == "weighted_unifrac":
        return WeightedUniFrac(X, tree.incidence)
    return UnweightedUniFrac(X, tree.incidence)


# --------------------------------------------------------------------------- privacy


def _dcr_step(case: PrivacyCase) -> Values:
    result = dcr_from_distances(case.search("S", "R"), case.search("H", "R"))
    if case.figures is not None:
        dists = case.figures.setdefault("dcr", {})
        dists.setdefault(f"{case.holdout.name} (held out)", result.holdout_dcr)
        dists[case.cand.name] = result.synthetic_dcr
    details = {**result.details(), **case.sizes}
    n_syn = len(result.synthetic_dcr)
    return {
        "dcr_ratio": (result.dcr_ratio, details),
        "dcr_close_share": (
            result.dcr_close_share,
            {**details, "null_se": share_se(0.05, n_syn)},
        ),
        "exact_copies": (result.exact_copies, details),
        "near_copies": (result.near_copies, {**details, "null_se": share_se(0.01, n_syn)}),
    }


PRIVACY_STEPS: tuple[Step, ...] = (
    Step(
        "dcr",
        ("dcr_ratio", "dcr_close_share", "exact_copies", "near_copies"),
        _dcr_step,
        needs_train,
    ),
    *ATTACK_STEPS,
)
"""The microbiome privacy steps, in order, with the metrics each fills."""


def _privacy(
    cand: Profiles,
    train: Profiles | None,
    holdout: Profiles,
    settings: _Settings,
    run: _Runner,
    rng: np.random.Generator,
    figures: dict[str, Any] | None,
) -> dict[str, MetricResult]:
    """Privacy metrics of ``cand`` against ``train``, calibrated by ``holdout``.

    The nearest-neighbour searches are shared between the metrics
    (:class:`~synthomics.metrics.privacy.NeighbourSearch`). The adversarial accuracies
    need equal-size sets: the larger set of each pair is subsampled to the smaller one.
    """
    names = [s.name for s in METRICS if s.family == "privacy"]
    search: NeighbourSearch | None = None
    if train is not None:
        search = NeighbourSearch(
            {
                "S": hellinger_features(cand.proportions),
                "R": hellinger_features(train.proportions),
                "H": hellinger_features(holdout.proportions),
            },
            settings.block_rows,
        )
    sizes = {
        "n_synthetic": cand.n_samples,
        "n_train": train.n_samples if train else None,
        "n_holdout": holdout.n_samples,
        "distance": "Hellinger",
    }

    def paired(real: str) -> tuple[str, str, int]:
        """Names of equal-size versions of (real, synthetic), subsampling the larger."""
        sets = search.sets
        n = min(len(sets["S"]), len(sets[real]))
        real_name, synth_name = real, "S"
        if len(sets[real]) > n:
            real_name = f"{real}~{n}"
            sets[real_name] = sets[real][subsample(len(sets[real]), n, rng)]
        if len(sets["S"]) > n:
            synth_name = f"S~{real}"
            sets[synth_name] = sets["S"][subsample(len(sets["S"]), n, rng)]
        return real_name, synth_name, n

    def pairs() -> tuple[tuple[str, str, int], tuple[str, str, int]]:
        return paired("R"), paired("H")

    case = PrivacyCase(cand, train, holdout, search, sizes, "Hellinger", pairs, figures)
    out = run_table(run, PRIVACY_STEPS, case)
    return {n: out[n] for n in names}


# --------------------------------------------------------------------------- utility


UTILITY = UtilityModels(
    ("logistic", "boosting"), train_and_score, tstr_ratio, augmentation_gain
)
"""TSTR with logistic regression and gradient boosting on CLR features; AUC scores."""


def _labelled(profiles: Profiles, label: str, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CLR features (``columns`` of the CLR of all taxa) and labels of labelled samples."""
    from synthomics.preprocessing.microbiome import clr_transform

    if label not in profiles.obs.columns:
        raise InputError(
            profiles.source,
            f"{profiles.name} has no sample column {label!r}",
            expected=f"a {label!r} column in the sample metadata (for synthetic "
            "sets: a generator fitted with condition=" + repr(label) + ")",
        )
    y = profiles.obs[label]
    keep = y.notna().to_numpy()
    X = clr_transform(profiles.proportions[keep])[:, columns]
    return X, y[keep].astype(str).to_numpy()


# --------------------------------------------------------------------------- protocol


def _prepare_tree(tree: Any, reference: Profiles, off_tree: str) -> _Tree:
    if tree is None or tree is False:
        return _Tree(reason="needs a phylogenetic tree (tree=...)")
    if off_tree not in ("error", "prune"):
        raise InputError(None, f"off_tree={off_tree!r}", expected="'error' or 'prune'")
    from synthomics.metrics.unifrac import _as_tree

    node = _as_tree(tree)
    tips = {t.name for t in node.tips()}
    on = np.array([f in tips for f in reference.features])
    if on.all():
        return _Tree(incidence=tree_incidence(node, reference.features))
    missing = reference.features[~on]
    if off_tree == "error" or not on.any():
        return _Tree(
            reason=(
                f"{len(missing)} of {reference.n_features} taxa are not tips of the tree (first: "
                f"{', '.join(map(repr, missing[:3]))}); pass off_tree='prune' to compute the "
                "phylogenetic metrics on the taxa on the tree"
            )
        )
    columns = np.flatnonzero(on)
    incidence = tree_incidence(node, reference.features[columns])
    return _Tree(incidence=incidence, columns=columns)


def evaluate(
    real_test: Any,
    synthetic: Any,
    train: Any = None,
    tree: Any = None,
    label: str | None = None,
    *,
    names: Sequence[str] | None = None,
    seed: int = 0,
    max_samples: int = 5000,
    max_distance_samples: int = 1000,
    max_c2st_samples: int = 1000,
    c2st_taxa: int = 200,
    c2st_folds: int = 5,
    correlation_taxa: int = 50,
    utility_taxa: int = 200,
    permutations: int = 999,
    augmentation_fractions: Sequence[float] = (0.1, 0.25, 0.5),
    off_tree: Literal["error", "prune"] = "prune",
    skip: Sequence[str] = (),
    block_rows: int = 1024,
    progress: bool = False,
) -> Evaluation:
    """Evaluate synthetic microbiome data: fidelity, privacy, utility and the real floor.

    Parameters
    ----------
    real_test
        Real samples the generator never saw (microbiome AnnData, any units).
    synthetic
        A synthetic AnnData, a list of them, or a ``{name: AnnData}`` mapping.
    train
        The real samples the generator was trained on; needed for privacy and utility.
    tree
        Phylogeny for Faith PD and UniFrac: :class:`skbio.TreeNode`, Newick text or file,
        whose tip names are the feature ids (read the table with
        ``synthomics.io.read_microbiome(..., tree=...)`` to match and rename the tips).
        Default: ``real_test.uns["tree"]`` when present; ``False`` to ignore it.
    label
        ``obs`` column of the class label for the utility metrics.
    names
        Names of the synthetic sets (default: the generator name in ``uns``).
    seed
        Seed of every subsample, permutation, fold and classifier.
    max_samples, max_distance_samples, max_c2st_samples
        Per-set caps (module docstring).
    c2st_taxa, c2st_folds, correlation_taxa, utility_taxa
        Taxa (the most prevalent) and folds of the classifier two-sample test; taxa of the
        correlation metric; taxa used as classifier features in the utility metrics.
    permutations
        PERMANOVA permutations.
    augmentation_fractions
        Shares of the real training set in the augmentation metric.
    off_tree
        Taxa absent from the tree: ``"prune"`` (default: the phylogenetic metrics use the
        taxa on the tree, closed to proportions; the notes say which share of the
        abundance that is) or ``"error"`` (they are recorded as not applicable, with the
        reason).
    skip
        Metric names or report groups (e.g. ``"structure"``) to leave out; they are
        recorded as ``"n/a"``.
    block_rows
        Rows per block of distance computations (memory ``block_rows x n`` floats).
    progress
        Show a rich progress bar.

    Returns
    -------
    Evaluation
        Records per synthetic set and for the floor, settings, notes and figure data.

    Raises
    ------
    InputError
        If a synthetic or training set does not hold the test set's features, or a set
        is not microbiome data.

    Examples
    --------
    >>> from synthomics.datasets import synthetic_microbiome
    >>> real = synthetic_microbiome(120, 30, seed=1)
    >>> fake = synthetic_microbiome(60, 30, seed=2)
    >>> result = evaluate(real[:60], fake, train=real[60:], seed=0)  # doctest: +SKIP
    >>> result.value("synthetic", "c2st_auc")  # doctest: +SKIP
    """
    started = time.perf_counter()
    settings = _Settings(
        seed,
        max_samples,
        max_distance_samples,
        max_c2st_samples,
        c2st_taxa,
        c2st_folds,
        correlation_taxa,
        permutations,
        tuple(augmentation_fractions),
        block_rows,
        off_tree,
        frozenset(skip),
    )
    check_skip(skip, METRICS, "synthomics.metrics.METRICS")
    test = as_profiles(real_test, "real")
    sets = [
        (name, align_features(test, as_profiles(d, name)))
        for name, d in _name_sets(synthetic, names)
    ]
    train_p = align_features(test, as_profiles(train, "real train")) if train is not None else None
    tree_note = None
    tree_source = "given" if tree is not None and tree is not False else None
    if tree is None and hasattr(real_test, "uns") and "tree" in real_test.uns:
        tree = str(real_test.uns["tree"])
        tree_source = str(real_test.uns.get("tree_source", "file"))
        if real_test.uns.get("tree_source") == "taxonomy":
            tree_note = (
                "Phylogenetic metrics use the tree built from the taxonomy ranks "
                "(uns['tree_source'] = 'taxonomy'), not a phylogeny."
            )
    tree_info = _prepare_tree(tree, test, off_tree)

    rng = np.random.default_rng(seed)
    notes: list[str] = [tree_note] if tree_note and tree_info.incidence is not None else []

    # ---- sample sizes
    test_c = capped(test, max_samples, rng)
    train_c = capped(train_p, max_samples, rng) if train_p is not None else None
    # each synthetic set draws from its own fresh stream, the same for every set, so that
    # adding, removing, reordering or renaming sets changes no set's subsamples or scores
    set_rngs = {name: _stream(seed, "synthetic set") for name, _ in sets}
    sets_c = [(name, capped(p, max_samples, set_rngs[name])) for name, p in sets]
    for p, full in [
        (test_c, test),
        *[(s, f) for (_, s), (_, f) in zip(sets_c, sets, strict=True)],
        *([(train_c, train_p)] if train_p is not None else []),
    ]:
        note = cap_note(full, p, "sample", "max_samples", max_samples, seed)
        notes.extend([note] if note else [])
    split = fidelity_split(
        test_c,
        train_c,
        [s.n_samples for _, s in sets_c],
        lambda key: rng,
        min_n=2,
        unit="sample",
        hint=" (more for C2ST)",
    )
    n_fid, reference, floor_cand = split.n, split.reference, split.floor
    if split.source == "train":
        notes.append(
            f"Fidelity: {n_fid:,} real test samples against {n_fid:,} samples of each "
            f"synthetic set; the floor compares them with {n_fid:,} real training "
            f"samples (seeded subsamples, seed {seed})."
        )
    else:
        notes.append(
            f"Fidelity: no training set, so the real test set is split in two halves "
            f"of {n_fid:,}; synthetic sets are compared with the first half at "
            f"{n_fid:,} samples each, the floor is half against half (seed {seed})."
        )
    candidates = draw_candidates(sets_c, n_fid, set_rngs.__getitem__)
    larger = [f"{name} {s.n_samples:,}" for name, s in sets_c if s.n_samples > n_fid]
    if test_c.n_samples > n_fid:
        larger.insert(0, f"real test {test_c.n_samples:,}")
    if larger:
        notes.append(f"Subsampled to {n_fid:,} for fidelity (seed {seed}): {', '.join(larger)}.")
    m = min(n_fid, max_distance_samples)
    dist_ref = subsample(n_fid, m, rng)
    if m < n_fid:
        notes.append(
            f"Distance-based metrics (dispersion, energy, PERMANOVA, PCoA): {m:,} "
            f"samples per set (max_distance_samples = {max_distance_samples:,})."
        )
    if min(n_fid, max_c2st_samples) < n_fid:
        notes.append(
            f"C2ST: {max_c2st_samples:,} samples per set, the {c2st_taxa} most "
            f"prevalent taxa, {c2st_folds}-fold cross-validation."
        )
    if tree_info.reason and tree is not None and tree is not False:
        notes.append(f"Phylogenetic metrics not computed: {tree_info.reason}.")
    if tree_info.columns is not None:
        share = test.proportions[:, tree_info.columns].sum(axis=1).mean()
        notes.append(
            f"Phylogenetic metrics use the {len(tree_info.columns):,} of "
            f"{test.n_features:,} taxa on the tree ({100 * share:.1f} % of the mean "
            "real abundance), closed to proportions (off_tree='prune')."
        )

    # ---- privacy sets: synthetic vs train with the test set held out; floor: test halves
    if train_c is not None:
        cand_floor, holdout_floor, half = privacy_halves(test_c, rng)
        notes.append(
            f"Privacy: distances are Hellinger; synthetic samples against "
            f"{train_c.n_samples:,} training samples, with {test_c.n_samples:,} test "
            f"samples held out; the floor puts {half:,} test samples in the synthetic "
            f"set's place and holds out the other {half:,}."
        )

    def utility_data_of() -> UtilityData:
        columns = top_prevalent(train_c.proportions, utility_taxa)
        return UtilityData(
            columns,
            _labelled(train_c, label, columns),
            _labelled(test_c, label, columns),
            lambda p: _labelled(p, label, columns),
        )

    utility = utility_setup(
        UTILITY, label, train_c, utility_data_of, seed, settings.augmentation_fractions
    )

    # ---- the floor: real sets in the synthetic set's place
    floor_rng = _stream(seed, "real-vs-real floor")

    def floor_steps(run: _Runner) -> dict[str, MetricResult]:
        floor_dist = subsample(n_fid, m, floor_rng)
        case = _Comparison(
            reference, floor_cand, dist_ref, floor_dist, tree_info, settings, floor_rng, None
        )
        floor = run_table(run, FIDELITY_STEPS, case)
        if train_c is not None:
            floor |= _privacy(cand_floor, train_c, holdout_floor, settings, run, floor_rng, None)
        else:
            floor |= _privacy(test_c, None, test_c, settings, run, floor_rng, None)
        return floor

    # ---- each synthetic set: fidelity at n_fid, privacy and utility on the capped set
    figures: dict[str, Any] = {}
    full_sets, candidate_sets = dict(sets_c), dict(candidates)

    def fidelity(run: _Runner, name: str) -> dict[str, MetricResult]:
        set_rng, cand = set_rngs[name], candidate_sets[name]
        rows = subsample(n_fid, m, set_rng)
        case = _Comparison(reference, cand, dist_ref, rows, tree_info, settings, set_rng, figures)
        return run_table(run, FIDELITY_STEPS, case)

    def privacy(run: _Runner, name: str) -> dict[str, MetricResult]:
        return _privacy(full_sets[name], train_c, test_c, settings, run, set_rngs[name], figures)

    evaluation = run_evaluation(
        omics="microbiome",
        specs=METRICS,
        skip=settings.skip,
        progress=progress,
        title="evaluating",
        steps_per_set=len(FIDELITY_STEPS) + len(PRIVACY_STEPS) + len(UTILITY.names),
        floor_steps=floor_steps,
        sets={name: full_sets[name] for name, _ in candidates},
        fidelity=fidelity,
        privacy=privacy,
        utility=utility,
        figures=figures,
        notes=notes,
    )

    figures["sets"] = _set_summaries(reference, candidates, tree_info)
    figures["pcoa"] = _joint_pcoa(reference, candidates, min(m, 500), rng, block_rows)
    figures["taxa"] = list(map(str, test.features))
    figures["separation"] = separation_figure_data(reference, floor_cand, candidates)
    if utility.data is not None:
        figures["trtr"] = dict(utility.data.trtr)
    settings_out = {
        "seed": seed,
        "n_fidelity": n_fid,
        "n_distance": m,
        "n_test": test.n_samples,
        "n_train": train_p.n_samples if train_p is not None else None,
        "n_synthetic": {n: s.n_samples for n, s in sets},
        "n_taxa": test.n_features,
        "max_samples": max_samples,
        "max_distance_samples": max_distance_samples,
        "max_c2st_samples": max_c2st_samples,
        "c2st_taxa": c2st_taxa,
        "c2st_folds": c2st_folds,
        "correlation_taxa": correlation_taxa,
        "utility_taxa": utility_taxa,
        "permutations": permutations,
        "augmentation_fractions": list(augmentation_fractions),
        "label": label,
        "tree": tree_info.incidence is not None,
        "tree_source": tree_source if tree_info.incidence is not None else None,
        "off_tree": off_tree,
        "privacy_distance": "Hellinger",
        "shannon_log_base": "e",
        "floor_source": "train" if train_c is not None else "test halves",
    }
    evaluation.settings = settings_out
    evaluation.timings["total"] = time.perf_counter() - started
    return evaluation


def _set_summaries(
    reference: Profiles, candidates: list[tuple[str, Profiles]], tree: _Tree
) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for name, p in [("real", reference), *candidates]:
        P = p.proportions
        summary = {
            "prevalence": prevalence.prevalence(P),
            "mean_abundance": P.mean(axis=0),
            "richness": alpha.observed_richness(P),
            "shannon": alpha.shannon(P),
            "simpson": alpha.simpson(P),
            "zero_fraction": (P == 0).mean(axis=1),
            "library_size": p.library_sizes,
            "units": p.units,
        }
        if tree.incidence is not None:
            summary["faith_pd"] = alpha.faith_pd(tree.table(P), tree.incidence)
        out[name] = summary
    return out


def _joint_pcoa(
    reference: Profiles,
    candidates: list[tuple[str, Profiles]],
    per_set: int,
    rng: np.random.Generator,
    block_rows: int,
) -> dict[str, Any]:
    """One Bray-Curtis PCoA of the real reference and all synthetic sets together."""
    blocks, labels = [], []
    for name, p in [("real", reference), *candidates]:
        rows = subsample(p.n_samples, per_set, rng)
        blocks.append(p.proportions[rows])
        labels.extend([name] * len(rows))
    D = BrayCurtis(np.vstack(blocks)).matrix(block_rows=block_rows)
    coords, explained = pcoa(D, 2)
    labels_arr = np.asarray(labels)
    return {
        "coords": {name: coords[labels_arr == name] for name in dict.fromkeys(labels)},
        "explained": explained.tolist(),
        "per_set": per_set,
    }
