"""The explicit registry of genotype metrics (:data:`GENOTYPE_METRICS`), in report order.

Every metric of :func:`synthomics.metrics.evaluate_genotypes` is declared here once with
its family, direction and pass rule (:func:`synthomics.metrics.records.judge`); nothing is
discovered or dropped. Privacy metrics keep the names of the microbiome evaluation (the
same definitions on Hamming instead of Hellinger distances).

Ideal values (``target``): allele-frequency r 1, LD decay gap 0.02, AATS 0.5. They act as
the reference of the pass rule when the real-vs-real floor is better than them (a small
sample's floor may be worse, and then the floor is the reference).
"""

from __future__ import annotations

from synthomics.metrics.records import MetricSpec

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
    MetricSpec(
        "exact_copies",
        "privacy",
        "lower",
        "exact copies",
        "share of synthetic individuals identical (Hamming 0) to a training individual",
        "privacy",
        target=0.0,
        needs=("train",),
    ),
    MetricSpec(
        "dcr_ratio",
        "privacy",
        "higher",
        "DCR ratio",
        "median Hamming distance to the closest training individual: synthetic / held-out real",
        "privacy",
        rel_tol=0.2,
        needs=("train",),
    ),
    MetricSpec(
        "aats_train",
        "privacy",
        "target",
        "AATS (train)",
        "nearest-neighbour adversarial accuracy, synthetic vs training (Yale et al. "
        "2020), Hamming; 0.5 ideal, near 0 means copies",
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
        "nearest-neighbour adversarial accuracy, synthetic vs held-out real, Hamming",
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
        "AUC of telling training from held-out individuals by their Hamming distance to "
        "the closest synthetic individual; 0.5 ideal",
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
        "accuracy of logistic regression on dosages trained on synthetic / trained on "
        "real, both tested on real test individuals",
        "utility",
        target=1.0,
        abs_tol=0.1,
        needs=("train", "label"),
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
    MetricSpec(
        "augmentation_gain",
        "utility",
        "higher",
        "augmentation gain",
        "mean accuracy gain from adding the synthetic individuals to 5/10/20/50 % of the "
        "real training set (logistic regression)",
        "utility",
        target=0.0,
        abs_tol=0.02,
        needs=("train", "label"),
    ),
]
"""Every genotype metric, in report order."""

GENOTYPE_SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in GENOTYPE_METRICS}
"""The genotype metrics by name (pass as ``specs=`` to :func:`~.records.make_result`)."""
if len(GENOTYPE_SPECS) != len(GENOTYPE_METRICS):  # pragma: no cover - guards edits above
    raise RuntimeError("duplicate metric names in GENOTYPE_METRICS")
