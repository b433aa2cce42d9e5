"""The explicit registry of genotype metrics (:data:`GENOTYPE_METRICS`), in report order.

Every metric of :func:`synthomics.metrics.evaluate_genotypes` is declared here once with
its family, direction and pass rule (:func:`synthomics.metrics.specs.judge`); nothing is
discovered or dropped. Privacy metrics keep the names of the microbiome evaluation (the
same definitions on Hamming instead of Hellinger distances) and their pass rules: those
shared with the microbiome registry are taken from it.

Ideal values (``target``): allele-frequency r 1, LD decay gap 0.02, AATS 0.5. They act as
the reference of the pass rule when the real-vs-real floor is better than them (a small
sample's floor may be worse, and then the floor is the reference).
"""

from __future__ import annotations

from dataclasses import replace

from synthomics.metrics.specs import MetricSpec, get_spec


def _genotype_version(name: str, description: str) -> MetricSpec:
    """The microbiome metric ``name`` (same family, direction and pass rule) as computed on
    genotypes, described as such."""
    return replace(get_spec(name), description=description)


GENOTYPE_METRICS: list[MetricSpec] = [
    # --- fidelity: allele frequencies and heterozygosity
    MetricSpec(
        "allele_frequency_pearson",
        "fidelity",
        "higher",
        "allele frequency r",
        "Pearson r of per-variant ALT allele frequencies, real vs synthetic",
        "allele frequencies",
        target=1.0,
        abs_tol=0.01,
    ),
    MetricSpec(
        "heterozygosity_wasserstein",
        "fidelity",
        "lower",
        "heterozygosity W1",
        "Wasserstein-1 between per-individual heterozygosity (share of het calls)",
        "allele frequencies",
        abs_tol=0.002,
        rel_tol=0.5,
    ),
    # --- fidelity: linkage disequilibrium
    MetricSpec(
        "ld_decay_max_gap",
        "fidelity",
        "lower",
        "LD decay gap",
        "max over distance bins of |mean r² synthetic - mean r² real| for variant pairs "
        "on one chromosome",
        "linkage disequilibrium",
        target=0.02,
        abs_tol=0.01,
        rel_tol=0.25,
    ),
    MetricSpec(
        "ld_r2_pearson",
        "fidelity",
        "higher",
        "LD r² correlation",
        "Pearson r of real and synthetic r² over the same variant pairs within the largest LD bin",
        "linkage disequilibrium",
        target=1.0,
        abs_tol=0.05,
    ),
    # --- fidelity: population structure
    MetricSpec(
        "pca_pc1_wasserstein",
        "fidelity",
        "lower",
        "PC1 W1",
        "Wasserstein-1 on PC1 of a PCA fitted on real individuals (Patterson scaling), "
        "synthetic projected",
        "population structure",
        unit="PC units",
        abs_tol=0.05,
        rel_tol=0.5,
    ),
    MetricSpec(
        "pca_pc2_wasserstein",
        "fidelity",
        "lower",
        "PC2 W1",
        "Wasserstein-1 on PC2 of the real-fitted PCA",
        "population structure",
        unit="PC units",
        abs_tol=0.05,
        rel_tol=0.5,
    ),
    # --- fidelity: Hamming distances between individuals
    MetricSpec(
        "hamming_within_wasserstein",
        "fidelity",
        "lower",
        "Hamming within-set W1",
        "Wasserstein-1 between synthetic-synthetic and real-real Hamming distances "
        "(diversity between individuals)",
        "Hamming distances",
        abs_tol=0.002,
        rel_tol=0.5,
    ),
    MetricSpec(
        "hamming_between_wasserstein",
        "fidelity",
        "lower",
        "Hamming real-synthetic W1",
        "Wasserstein-1 between real-synthetic and real-real Hamming distances",
        "Hamming distances",
        abs_tol=0.002,
        rel_tol=0.5,
    ),
    # --- privacy (Hamming distances)
    _genotype_version(
        "exact_copies",
        "share of synthetic individuals identical (Hamming 0) to a training individual",
    ),
    _genotype_version(
        "dcr_ratio",
        "median Hamming distance to the closest training individual: synthetic / held-out "
        "real",
    ),
    _genotype_version(
        "aats_train",
        "nearest-neighbour adversarial accuracy, synthetic vs training (Yale et al. 2020), "
        "Hamming; 0.5 ideal, near 0 means copies",
    ),
    _genotype_version(
        "aats_test",
        "nearest-neighbour adversarial accuracy, synthetic vs held-out real, Hamming",
    ),
    get_spec("privacy_loss"),
    _genotype_version(
        "membership_inference_auc",
        "AUC of telling training from held-out individuals by their Hamming distance to the "
        "closest synthetic individual; 0.5 ideal",
    ),
    # --- utility
    _genotype_version(
        "tstr_ratio_logistic",
        "accuracy of logistic regression on dosages trained on synthetic / trained on real, "
        "both tested on real test individuals",
    ),
    MetricSpec(
        "tstr_ratio_mlp",
        "utility",
        "higher",
        "TSTR/TRTR (MLP)",
        "as above with a one-hidden-layer perceptron (32 units, seeded)",
        "utility",
        target=1.0,
        abs_tol=0.1,
        needs=("train", "label"),
    ),
    _genotype_version(
        "augmentation_gain",
        "mean accuracy gain from adding the synthetic individuals to 5/10/20/50 % of the "
        "real training set (logistic regression)",
    ),
]
"""Every genotype metric, in report order."""

GENOTYPE_SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in GENOTYPE_METRICS}
"""The genotype metrics by name (the registry the evaluation engine looks names up in)."""
if len(GENOTYPE_SPECS) != len(GENOTYPE_METRICS):  # pragma: no cover - guards edits above
    raise RuntimeError("duplicate metric names in GENOTYPE_METRICS")
