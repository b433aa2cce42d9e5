"""evaluate_genotypes end to end on simulated genotypes, and its report."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.datasets.genotype_sim import simulate_genotypes
from synthomics.errors import InputError
from synthomics.metrics import GENOTYPE_METRICS, evaluate_genotypes
from synthomics.metrics.genotype.distances import HammingNeighbours
from synthomics.metrics.privacy import adversarial_accuracy_from


def _bootstrap(adata, seed=0):
    rows = np.random.default_rng(seed).integers(0, adata.n_obs, adata.n_obs)
    out = adata[rows].copy()
    out.obs_names = [f"b{i}" for i in range(out.n_obs)]
    return out


@pytest.fixture(scope="module")
def evaluation(split):
    train, test = split
    return evaluate_genotypes(
        test,
        {"bootstrap": _bootstrap(train), "train copy": train},
        train=train,
        label="population",
        seed=0,
    )


def test_every_metric_is_recorded_in_order(evaluation):
    names = [s.name for s in GENOTYPE_METRICS]
    for set_name in evaluation.set_names:
        assert [r.name for r in evaluation.results[set_name]] == names
        errors = [r for r in evaluation.results[set_name] if r.status == "error"]
        assert not errors, errors
    assert evaluation.omics == "genotype"
    assert [r.name for r in evaluation.floor] == names


def test_copies_of_training_individuals_are_caught(evaluation):
    # a bootstrap of the training set is all copies: AATS(train) near 0, privacy loss high
    for name in ("bootstrap", "train copy"):
        assert evaluation.value(name, "exact_copies") == 1.0
        assert evaluation.value(name, "dcr_ratio") == 0.0
        assert evaluation.value(name, "aats_train") < 0.1
        assert evaluation.value(name, "privacy_loss") > 0.3
        assert evaluation.value(name, "membership_inference_auc") > 0.7
        for metric in ("exact_copies", "aats_train", "privacy_loss"):
            assert evaluation.result(name, metric).status == "fail"


def test_the_floor_behaves_like_an_independent_real_sample(evaluation):
    floor = {r.name: r.value for r in evaluation.floor}
    # the simulated panel holds 5 pairs of individuals identical over its 300 variants
    # (checked with np.unique), so a real half may share one or two with training
    assert floor["exact_copies"] < 0.1
    # two halves of 30 real test individuals: adversarial accuracies near 0.5 (se ~0.065)
    assert abs(floor["aats_train"] - 0.5) < 0.2
    assert abs(floor["aats_test"] - 0.5) < 0.2
    assert abs(floor["membership_inference_auc"] - 0.5) < 0.25


def test_real_training_data_as_synthetic_recovers_full_utility(evaluation):
    # trained on the real training set itself: TSTR = TRTR exactly
    assert evaluation.value("train copy", "tstr_ratio_logistic") == pytest.approx(1.0)
    assert evaluation.value("train copy", "tstr_ratio_mlp") == pytest.approx(1.0)
    details = evaluation.result("train copy", "augmentation_gain").details
    assert details["fractions"] == [0.05, 0.1, 0.2, 0.5]
    assert len(details["accuracy_with_synthetic"]) == 4


def test_fidelity_of_real_data_matches_the_floor(evaluation):
    # "train copy" at the fidelity size is a subsample of train, as the floor candidate is
    floor = {r.name: r.value for r in evaluation.floor}
    assert floor["allele_frequency_pearson"] > 0.9
    assert evaluation.value("train copy", "allele_frequency_pearson") > 0.9
    assert evaluation.value("train copy", "ld_r2_pearson") > 0.5


def test_adversarial_accuracy_of_an_independent_sample_is_near_one_half():
    # two independent samples of one population: AA = 0.5 up to noise (se sqrt(.125/n))
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.95, 400)
    real, synthetic = (rng.binomial(2, p, size=(150, 400)) for _ in range(2))
    search = HammingNeighbours({"R": real, "S": synthetic})
    assert abs(adversarial_accuracy_from(search, "R", "S") - 0.5) < 0.1
    search = HammingNeighbours({"R": real, "S": real.copy()})
    assert adversarial_accuracy_from(search, "R", "S") == 0.0


def test_names_and_order_do_not_change_a_set_s_values(split):
    train, test = split
    boot = _bootstrap(train, 3)
    a = evaluate_genotypes(test, {"x": boot}, train=train, seed=2)
    b = evaluate_genotypes(test, {"zzz": train, "other name": boot}, train=train, seed=2)
    for metric in ("aats_train", "aats_test", "ld_decay_max_gap", "hamming_within_wasserstein"):
        assert a.value("x", metric) == b.value("other name", metric)


def test_missing_variants_name_the_set(split):
    train, test = split
    narrow = train[:, 5:].copy()
    with pytest.raises(InputError, match="'narrow' lacks 5 of the 300 variants"):
        evaluate_genotypes(test, {"narrow": narrow}, train=train)


def test_haplotype_layout_and_missing_calls_are_accepted(simulated, split):
    _, test = split
    # the same simulation, phased: two haplotype rows per individual, summed to dosages
    phased = simulate_genotypes(40, 300, seed=1, phased=True)
    holes = test.copy()
    holes.X[np.random.default_rng(0).random(holes.shape) < 0.02] = -1
    ev = evaluate_genotypes(holes, {"phased": phased, "dosage": simulated}, seed=0)
    assert ev.settings["n_synthetic"] == {"phased": 120, "dosage": 120}
    for metric in ("allele_frequency_pearson", "ld_decay_max_gap", "pca_pc1_wasserstein"):
        assert ev.value("phased", metric) == pytest.approx(ev.value("dosage", metric))
    assert all(r.status != "error" for r in ev.results["phased"])
    assert ev.result("phased", "exact_copies").status == "n/a"  # no training set


def test_report_holds_the_four_figures(evaluation, tmp_path):
    from synthomics.report import write_report

    paths = write_report(evaluation, tmp_path / "report")
    page = paths["html"].read_text()
    for title in (
        "Linkage disequilibrium decay",
        "Population structure: PCA",
        "Allele frequencies per variant",
        "Hamming distances between individuals",
    ):
        assert title in page
    assert page.count("data:image/png;base64") >= 6  # + DCR and augmentation
    assert "Synthetic genotype evaluation" in page
    tsv = paths["tsv"].read_text().splitlines()
    assert len(tsv) == 1 + 3 * len(GENOTYPE_METRICS)  # floor + two sets


@pytest.mark.shared
def test_hgdp_membership_leaks_through_per_region_frequencies(shared_data):
    # On 119 training individuals x 5,000 SNPs, allele frequencies estimated per region
    # (about 17 individuals each) already reveal membership (Homer et al. 2008, PLoS Genet
    # 4:e1000167): synthetic individuals drawn from them sit closer to the training
    # individuals than to held-out ones. Pooled frequencies leak far less. The evaluation
    # must see this difference even though neither model stores a genotype.
    from synthomics.generators import get_generator
    from synthomics.io import read_input
    from synthomics.preprocessing import train_test_split

    folder = shared_data / "genotype" / "hgdp_subset"
    hgdp, _ = read_input(folder / "hgdp_subset.vcf.gz", metadata=folder / "sample_metadata.tsv")
    train, test = train_test_split(hgdp, 0.25, seed=0, stratify="region")
    pooled = get_generator("allele_frequency").fit(train).sample(test.n_obs, seed=1)
    per_region = get_generator("allele_frequency").fit(train, condition="region")
    counts = test.obs["region"].value_counts().to_dict()
    by_region = per_region.sample(conditions={"region": counts}, seed=1)
    result = evaluate_genotypes(
        test,
        {"pooled": pooled, "per_region": by_region},
        train=train,
        seed=0,
        skip=["utility", "linkage disequilibrium"],
    )
    assert result.value("per_region", "exact_copies") == 0.0
    loss_pooled = result.value("pooled", "privacy_loss")
    loss_region = result.value("per_region", "privacy_loss")
    assert loss_region > 0.3 > loss_pooled
    assert result.result("per_region", "privacy_loss").status == "fail"


def test_classes_absent_from_the_test_set_give_a_note_not_a_warning(split):
    # the real test set lacks one population: classifiers trained on all three predict it
    # sometimes, which scikit-learn used to print as "y_pred contains classes not in y_true"
    import warnings

    train, test = split
    missing = sorted(test.obs["population"].unique())[0]
    test = test[test.obs["population"] != missing].copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluation = evaluate_genotypes(
            test, {"train copy": train}, train=train, label="population", seed=0,
            skip=["Hamming distances", "linkage disequilibrium", "population structure", "privacy"],
        )  # fmt: skip
    assert not [w for w in caught if "not in y_true" in str(w.message)]
    expected = (
        f"labels hold 1 class(es) absent from the real test set ('{missing}'); predictions "
        "of them count as errors in accuracy and balanced accuracy."
    )
    assert f"Utility: real train {expected}" in evaluation.notes
    assert f"Utility: train copy {expected}" in evaluation.notes
