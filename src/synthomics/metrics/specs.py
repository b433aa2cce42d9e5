# Over 450 lines: the explicit registry of the 45 microbiome metrics, one declaration each.
"""What a metric is: :class:`MetricSpec`, the pass rule (:func:`judge`) and the explicit registry.

Every metric of :func:`synthomics.metrics.evaluate` is declared once in :data:`METRICS`
with its family (fidelity, privacy, utility), its direction (which way is better) and
the rule that judges a value against the real-vs-real floor. The list is explicit, in
the order of the report, as synthcity keeps it; a metric that cannot be computed is
never dropped: its record (:mod:`synthomics.metrics.results`) carries the error (or the
reason it does not apply).

The pass rule
    A value *passes* when it is no worse than the reference by more than a slack.
    The reference is the real-vs-real floor (the value two independent real samples of
    the same size reach), moved to the ideal ``target`` when the floor is better than
    the ideal by chance (a C2ST AUC of 0.47 on two real halves still means 0.5).
    The slack is ``max(abs_tol, rel_tol * |reference|, 2 * null_se)``,
    where ``null_se`` is the standard error of the value for two samples of one
    population where the metric can give it (closed forms for classifier AUCs, KS
    statistics, adversarial accuracy, shares and the zero-fraction gap; label
    permutations for the Wasserstein distances, the energy distance and the dispersion
    gap; :mod:`synthomics.metrics.null_se`), so that small test sets get a wider band and
    large ones a narrower one. The evaluations judge every set with the floor's
    ``null_se`` (two real samples), never with a set's own, which grows with the set's
    distance from the real data. Metrics with a fixed
    ``threshold`` (PERMANOVA p >= 0.05) are judged against it instead. A value worse
    than the reference by up to twice the slack is a ``"warn"``; beyond that ``"fail"``.
    Metrics with neither floor nor target are reported ``"info"``.

The tolerances are declared here, once, for every dataset; they are not set per dataset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Family = Literal["fidelity", "privacy", "utility"]
Direction = Literal["lower", "higher", "target"]
Status = Literal["pass", "warn", "fail", "info", "n/a", "error"]

FAMILIES: tuple[Family, ...] = ("fidelity", "privacy", "utility")


@dataclass(frozen=True)
class MetricSpec:
    """Metadata of one metric.

    Parameters
    ----------
    name
        Unique name, ``snake_case``; the key in ``metrics.json``.
    family
        ``"fidelity"``, ``"privacy"`` or ``"utility"``.
    direction
        ``"lower"`` or ``"higher"`` is better, or ``"target"``: closer to ``target``.
    label
        Short human name for tables.
    description
        One sentence: what is measured, on what.
    group
        Section of the report (``"sparsity"``, ``"beta: Bray-Curtis"``...).
    unit
        Unit of the value (``"pp"``, ``"taxa"``, ``""``).
    target
        Ideal value where one exists (0.5 for a classifier AUC).
    abs_tol, rel_tol
        Slack of the pass rule (module docstring).
    threshold
        Fixed pass threshold replacing the floor (e.g. ``0.05`` for a p-value).
    needs
        What the metric needs beyond two sets: ``"tree"``, ``"train"``, ``"label"``.
    judged
        Whether the pass rule applies; ``False`` for values reported for reference only
        (the PERMANOVA pseudo-F, which grows with the sample size for any fixed effect;
        its R² and p are judged).
    """

    name: str
    family: Family
    direction: Direction
    label: str
    description: str
    group: str
    unit: str = ""
    target: float | None = None
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    threshold: float | None = None
    needs: tuple[str, ...] = ()
    judged: bool = True

    @property
    def arrow(self) -> str:
        """Which is better, as a symbol: ``↓``, ``↑`` or ``→0.5``."""
        if self.direction == "lower":
            return "↓"
        if self.direction == "higher":
            return "↑"
        return f"→{self.target:g}"


def judge(
    value: float | None,
    floor: float | None,
    spec: MetricSpec,
    details: Mapping[str, Any] | None = None,
) -> Status:
    """Status of ``value`` under the pass rule of ``spec`` (see the module docstring).

    Parameters
    ----------
    value, floor
        The metric value and the real-vs-real floor (``None`` when there is none).
    spec
        The metric's :class:`MetricSpec`.
    details
        The record's details; ``details["null_se"]`` (the standard error of the value
        when the two sets come from one population) widens the slack to twice it.

    Examples
    --------
    >>> spec = get_spec("c2st_auc")
    >>> judge(0.52, 0.47, spec), judge(0.9, 0.5, spec)
    ('pass', 'fail')
    """
    if value is None or not math.isfinite(value):
        return "error"
    if not spec.judged:
        return "info"
    if spec.threshold is not None:
        good = value >= spec.threshold if spec.direction == "higher" else value <= spec.threshold
        return "pass" if good else "fail"
    details = details or {}
    noise = 2.0 * float(details.get("null_se") or 0.0)
    if spec.direction == "target":
        if spec.target is None:
            return "info"
        distance = abs(value - spec.target)
        allowed = abs(floor - spec.target) if floor is not None and math.isfinite(floor) else 0.0
        slack = max(spec.abs_tol, spec.rel_tol * abs(spec.target), noise)
        excess = distance - allowed
    else:
        reference = floor if floor is not None and math.isfinite(floor) else spec.target
        if reference is None:
            return "info"
        if spec.target is not None:  # a floor better than the ideal is luck
            better = min if spec.direction == "lower" else max
            reference = spec.target if better(reference, spec.target) == reference else reference
        slack = max(spec.abs_tol, spec.rel_tol * abs(reference), noise)
        excess = value - reference if spec.direction == "lower" else reference - value
    if excess <= slack + 1e-12:
        return "pass"
    if excess <= 2 * slack + 1e-12:
        return "warn"
    return "fail"


def _beta(distance: str, label: str, needs: tuple[str, ...] = ()) -> list[MetricSpec]:
    group = f"beta: {label}"
    return [
        MetricSpec(
            f"{distance}_dispersion_gap",
            "fidelity",
            "lower",
            f"{label} dispersion gap",
            f"|mean within-synthetic - mean within-real {label} distance|",
            group,
            abs_tol=0.005,
            rel_tol=0.5,
            needs=needs,
        ),
        MetricSpec(
            f"{distance}_energy",
            "fidelity",
            "lower",
            f"{label} energy distance",
            f"2E[d(R,S)] - E[d(R,R')] - E[d(S,S')] with {label} distances (U-statistics)",
            group,
            abs_tol=0.005,
            rel_tol=0.5,
            needs=needs,
        ),
        MetricSpec(
            f"{distance}_permanova_r2",
            "fidelity",
            "lower",
            f"{label} PERMANOVA R²",
            f"share of {label} variation explained by real vs synthetic (PERMANOVA)",
            group,
            abs_tol=0.01,
            needs=needs,
        ),
        MetricSpec(
            f"{distance}_permanova_f",
            "fidelity",
            "lower",
            f"{label} PERMANOVA pseudo-F",
            f"PERMANOVA pseudo-F, real vs synthetic, {label} distances",
            group,
            needs=needs,
            judged=False,
        ),
        MetricSpec(
            f"{distance}_permanova_p",
            "fidelity",
            "higher",
            f"{label} PERMANOVA p",
            "permutation p-value of the pseudo-F (seeded); pass when p >= 0.05",
            group,
            threshold=0.05,
            needs=needs,
        ),
    ]


METRICS: list[MetricSpec] = [
    # --- fidelity: sparsity
    MetricSpec(
        "zero_fraction_gap",
        "fidelity",
        "lower",
        "zero-fraction gap",
        "|synthetic - real| fraction of zero entries, in percentage points",
        "sparsity",
        unit="pp",
        abs_tol=2.0,
        rel_tol=0.5,
    ),
    MetricSpec(
        "richness_wasserstein",
        "fidelity",
        "lower",
        "richness W1",
        "Wasserstein-1 between per-sample richness distributions (taxa present)",
        "sparsity",
        unit="taxa",
        abs_tol=1.0,
        rel_tol=0.5,
    ),
    # --- fidelity: prevalence and abundance
    MetricSpec(
        "prevalence_pearson",
        "fidelity",
        "higher",
        "prevalence r",
        "Pearson r of per-taxon prevalence, real vs synthetic",
        "prevalence",
        target=1.0,
        abs_tol=0.05,
    ),
    MetricSpec(
        "log_mean_abundance_pearson",
        "fidelity",
        "higher",
        "log mean abundance r",
        "Pearson r of per-taxon log10 mean relative abundance",
        "prevalence",
        target=1.0,
        abs_tol=0.05,
    ),
    # --- fidelity: alpha diversity
    MetricSpec(
        "shannon_wasserstein",
        "fidelity",
        "lower",
        "Shannon W1",
        "Wasserstein-1 between Shannon index distributions (natural log, nats)",
        "alpha diversity",
        unit="nats",
        abs_tol=0.05,
        rel_tol=0.5,
    ),
    MetricSpec(
        "shannon_ks",
        "fidelity",
        "lower",
        "Shannon KS",
        "Kolmogorov-Smirnov statistic between Shannon distributions",
        "alpha diversity",
        abs_tol=0.02,
    ),
    MetricSpec(
        "simpson_wasserstein",
        "fidelity",
        "lower",
        "Simpson W1",
        "Wasserstein-1 between Gini-Simpson (1 - sum p²) distributions",
        "alpha diversity",
        abs_tol=0.01,
        rel_tol=0.5,
    ),
    MetricSpec(
        "simpson_ks",
        "fidelity",
        "lower",
        "Simpson KS",
        "Kolmogorov-Smirnov statistic between Gini-Simpson distributions",
        "alpha diversity",
        abs_tol=0.02,
    ),
    MetricSpec(
        "richness_ks",
        "fidelity",
        "lower",
        "richness KS",
        "Kolmogorov-Smirnov statistic between observed-richness distributions",
        "alpha diversity",
        abs_tol=0.02,
    ),
    MetricSpec(
        "faith_pd_wasserstein",
        "fidelity",
        "lower",
        "Faith PD W1",
        "Wasserstein-1 between Faith's phylogenetic diversity distributions",
        "alpha diversity",
        unit="branch length",
        abs_tol=0.0,
        rel_tol=0.5,
        needs=("tree",),
    ),
    MetricSpec(
        "faith_pd_ks",
        "fidelity",
        "lower",
        "Faith PD KS",
        "Kolmogorov-Smirnov statistic between Faith PD distributions",
        "alpha diversity",
        abs_tol=0.02,
        needs=("tree",),
    ),
    # --- fidelity: beta diversity
    *_beta("braycurtis", "Bray-Curtis"),
    *_beta("jaccard", "Jaccard"),
    *_beta("weighted_unifrac", "weighted UniFrac", ("tree",)),
    *_beta("unweighted_unifrac", "unweighted UniFrac", ("tree",)),
    # --- fidelity: structure
    MetricSpec(
        "correlation_difference",
        "fidelity",
        "lower",
        "Spearman corr. difference",
        "mean |Spearman r_real - r_synth| over pairs of the most prevalent taxa",
        "structure",
        abs_tol=0.02,
        rel_tol=0.5,
    ),
    MetricSpec(
        "c2st_auc",
        "fidelity",
        "lower",
        "C2ST AUC",
        "cross-validated AUC of gradient boosting telling real from synthetic "
        "(CLR features); 0.5 is ideal",
        "structure",
        target=0.5,
        abs_tol=0.05,
    ),
    MetricSpec(
        "pcoa_overlap",
        "fidelity",
        "higher",
        "PCoA overlap",
        "overlap coefficient of real and synthetic densities on the first two "
        "Bray-Curtis PCoA axes (1 = same)",
        "structure",
        target=1.0,
        abs_tol=0.1,
    ),
    # --- privacy
    MetricSpec(
        "dcr_ratio",
        "privacy",
        "higher",
        "DCR ratio",
        "median distance to closest training record: synthetic / held-out real",
        "privacy",
        rel_tol=0.2,
        needs=("train",),
    ),
    MetricSpec(
        "dcr_close_share",
        "privacy",
        "lower",
        "DCR < 5th pct share",
        "share of synthetic samples closer to training than the 5th percentile of "
        "held-out real DCRs (0.05 expected)",
        "privacy",
        abs_tol=0.05,
        needs=("train",),
    ),
    MetricSpec(
        "exact_copies",
        "privacy",
        "lower",
        "exact copies",
        "share of synthetic samples identical to a training sample",
        "privacy",
        target=0.0,
        abs_tol=0.0,
        needs=("train",),
    ),
    MetricSpec(
        "near_copies",
        "privacy",
        "lower",
        "near copies",
        "share of synthetic samples closer to training than the 1st percentile of "
        "held-out real DCRs (0.01 expected)",
        "privacy",
        abs_tol=0.01,
        needs=("train",),
    ),
    MetricSpec(
        "aats_train",
        "privacy",
        "target",
        "AATS (train)",
        "nearest-neighbour adversarial accuracy, synthetic vs training (Yale et al. "
        "2020); 0.5 ideal, near 0 means copies",
        "privacy",
        target=0.5,
        abs_tol=0.05,
        needs=("train",),
    ),
    MetricSpec(
        "aats_test",
        "privacy",
        "target",
        "AATS (test)",
        "nearest-neighbour adversarial accuracy, synthetic vs held-out real",
        "privacy",
        target=0.5,
        abs_tol=0.05,
        needs=("train",),
    ),
    MetricSpec(
        "privacy_loss",
        "privacy",
        "lower",
        "privacy loss",
        "AATS(test) - AATS(train) (Yale et al. 2020); 0 ideal",
        "privacy",
        target=0.0,
        abs_tol=0.05,
        needs=("train",),
    ),
    MetricSpec(
        "membership_inference_auc",
        "privacy",
        "lower",
        "membership inference AUC",
        "AUC of telling training from held-out samples by their distance to the "
        "closest synthetic sample; 0.5 ideal",
        "privacy",
        target=0.5,
        abs_tol=0.05,
        needs=("train",),
    ),
    # --- utility
    MetricSpec(
        "tstr_ratio_logistic",
        "utility",
        "higher",
        "TSTR/TRTR (logistic)",
        "AUC of logistic regression on CLR trained on synthetic / trained on real, "
        "both tested on real test samples",
        "utility",
        target=1.0,
        abs_tol=0.1,
        needs=("train", "label"),
    ),
    MetricSpec(
        "tstr_ratio_boosting",
        "utility",
        "higher",
        "TSTR/TRTR (boosting)",
        "as above with gradient boosting",
        "utility",
        target=1.0,
        abs_tol=0.1,
        needs=("train", "label"),
    ),
    MetricSpec(
        "augmentation_gain",
        "utility",
        "higher",
        "augmentation gain",
        "mean AUC gain from adding the synthetic samples to 10/25/50 % of the real "
        "training set (logistic regression on CLR)",
        "utility",
        target=0.0,
        abs_tol=0.02,
        needs=("train", "label"),
    ),
]
"""Every metric, in report order. Explicit on purpose: nothing is discovered or dropped."""

_BY_NAME = {spec.name: spec for spec in METRICS}
if len(_BY_NAME) != len(METRICS):  # pragma: no cover - guards edits of the list above
    raise RuntimeError("duplicate metric names in METRICS")


def get_spec(name: str) -> MetricSpec:
    """The :class:`MetricSpec` called ``name``.

    Raises
    ------
    KeyError
        With the list of known names.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(_BY_NAME)}") from None


