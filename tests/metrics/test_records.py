"""The metric registry, the pass rule and the JSON form of results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthomics.metrics.null_se import (
    auc_null_se,
    ks_null_se,
    mean_difference_se,
    permutation_se,
    share_se,
)
from synthomics.metrics.results import make_result
from synthomics.metrics.specs import FAMILIES, METRICS, get_spec, judge

# Which way is better follows from each metric's definition: correlations, PERMANOVA p-values
# (no detectable difference), PCoA overlap, DCR ratio (synthetic rows as far from the
# training rows as real held-out rows are) and the utility ratios are better when higher;
# AATS accuracies are best at 0.5 (Yale et al. 2020); every gap, distance, energy, dispersion
# difference, share of copies and AUC above chance is better when lower.
HIGHER = {
    "prevalence_pearson", "log_mean_abundance_pearson", "braycurtis_permanova_p",
    "jaccard_permanova_p", "weighted_unifrac_permanova_p", "unweighted_unifrac_permanova_p",
    "pcoa_overlap", "dcr_ratio", "tstr_ratio_logistic", "tstr_ratio_boosting",
    "augmentation_gain",
}  # fmt: skip
TARGET = {"aats_train", "aats_test"}
PRIVACY = {
    "dcr_ratio", "dcr_close_share", "exact_copies", "near_copies", "aats_train", "aats_test",
    "privacy_loss", "membership_inference_auc",
}  # fmt: skip
UTILITY = {"tstr_ratio_logistic", "tstr_ratio_boosting", "augmentation_gain"}


def test_registry_is_complete_and_unique():
    names = [s.name for s in METRICS]
    assert len(names) == len(set(names)) == 45
    directions = {s.name: s.direction for s in METRICS}
    expected = {n: "higher" if n in HIGHER else "target" if n in TARGET else "lower" for n in names}
    assert directions == expected
    families = {s.name: s.family for s in METRICS}
    assert {n for n, f in families.items() if f == "privacy"} == PRIVACY
    assert {n for n, f in families.items() if f == "utility"} == UTILITY
    assert {n for n, f in families.items() if f == "fidelity"} == set(names) - PRIVACY - UTILITY
    assert set(families.values()) == set(FAMILIES)
    for distance in ("braycurtis", "jaccard", "weighted_unifrac", "unweighted_unifrac"):
        for part in ("dispersion_gap", "energy", "permanova_r2", "permanova_f", "permanova_p"):
            assert f"{distance}_{part}" in names
    with pytest.raises(KeyError, match="unknown metric"):
        get_spec("no_such_metric")


@pytest.mark.parametrize(
    ("name", "value", "floor", "expected"),
    [
        ("c2st_auc", 0.52, 0.47, "pass"),  # floor better than the ideal 0.5 counts as 0.5
        ("c2st_auc", 0.58, 0.50, "warn"),  # within twice the 0.05 slack
        ("c2st_auc", 0.90, 0.50, "fail"),
        ("prevalence_pearson", 0.93, 0.97, "pass"),
        ("prevalence_pearson", 0.80, 0.97, "fail"),
        ("aats_train", 0.56, 0.52, "pass"),  # target: |0.56 - .5| - |0.52 - .5| = 0.04
        ("aats_train", 0.05, 0.50, "fail"),
        ("braycurtis_permanova_p", 0.04, 0.6, "fail"),  # fixed threshold 0.05
        ("braycurtis_permanova_p", 0.30, 0.01, "pass"),
        ("braycurtis_permanova_f", 50.0, 1.0, "info"),  # not judged
        ("exact_copies", 0.001, 0.0, "fail"),
        ("dcr_ratio", 0.85, 1.0, "pass"),  # 20 % relative slack
    ],
)
def test_pass_rule(name, value, floor, expected):
    assert judge(value, floor, get_spec(name)) == expected


def test_non_finite_values_are_errors():
    assert judge(float("nan"), 0.5, get_spec("c2st_auc")) == "error"


def test_results_serialise_without_nan():
    record = make_result("c2st_auc", float("nan"), {"arr": [1.0, float("inf")]})
    text = json.dumps(record.to_dict(), allow_nan=False)
    assert '"value": null' in text


def test_null_standard_error_widens_the_band():
    spec = get_spec("c2st_auc")
    se = {"null_se": auc_null_se(84, 84)}  # 84 samples per set: SE ~ 0.045, slack ~ 0.09
    assert judge(0.58, 0.5, spec) == "warn"  # fixed slack 0.05
    assert judge(0.58, 0.5, spec, se) == "pass"
    assert judge(0.62, 0.5, spec) == "fail"
    assert judge(0.62, 0.5, spec, se) == "warn"
    gap = get_spec("weighted_unifrac_dispersion_gap")
    assert judge(0.03, 0.0, gap) == "fail"  # slack 0.005
    assert judge(0.03, 0.0, gap, {"null_se": 0.02}) == "pass"  # slack 2 x 0.02


def test_noise_formulas():
    # AUC null variance (n1 + n2 + 1) / (12 n1 n2) is the Mann-Whitney U variance / (n1 n2)²
    n1, n2 = 30, 50
    var_u = n1 * n2 * (n1 + n2 + 1) / 12
    assert auc_null_se(n1, n2) == pytest.approx(var_u**0.5 / (n1 * n2))
    # twice the KS half-critical value is the asymptotic 5 % critical value
    assert 2 * ks_null_se(100, 100) == pytest.approx(1.36 * (2 / 100) ** 0.5)
    assert share_se(0.05, 100) == pytest.approx((0.05 * 0.95 / 100) ** 0.5)


def test_permutation_se_of_a_mean_difference_matches_the_formula():
    # for the difference of means, the permutation null SD is the pooled-variance SE
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=300)
    se = permutation_se(lambda x, y: y.mean() - x.mean(), a, b, rng, permutations=400)
    assert se == pytest.approx(mean_difference_se(a, b), rel=0.15)
    pooled = np.r_[a, b]
    assert mean_difference_se(a, b) == pytest.approx(
        pooled.std(ddof=1) * (1 / 200 + 1 / 300) ** 0.5
    )


def test_every_set_is_judged_with_the_noise_of_two_real_samples():
    # numbers shaped like the report that showed the problem: a weighted-UniFrac dispersion
    # gap 57 x its floor was green because its own permutation standard error, computed on
    # real and synthetic pooled, grew with the very difference being judged; a Bray-Curtis
    # gap 8 x its floor with a modest standard error was borderline
    from synthomics.metrics.engine import judged_in_order

    def judged(name, value, floor, own_se, floor_se):
        spec = get_spec(name)
        records = {name: make_result(name, value, {"null_se": own_se})}
        floors = {name: make_result(name, floor, {"null_se": floor_se})}
        (record,) = judged_in_order(records, floors, [spec])
        return record.status

    # weighted UniFrac: floor 0.0005, value 0.0285 (57 x); two real samples vary with
    # se 0.002, so the tolerance is max(0.005, 0.5 x 0.0005, 2 x 0.002) = 0.005 and the
    # excess 0.028 is more than twice it: fail, whatever the set's own inflated se (0.02)
    assert judged("weighted_unifrac_dispersion_gap", 0.0285, 0.0005, 0.02, 0.002) == "fail"
    # Bray-Curtis: floor 0.01, value 0.08 (8 x), real se 0.02: tolerance 0.04, excess
    # 0.07 within twice it: borderline, by the same rule
    assert judged("braycurtis_dispersion_gap", 0.08, 0.01, 0.02, 0.02) == "warn"
    # the rule is one: the same numbers under either name get the same colour
    assert judged("braycurtis_dispersion_gap", 0.0285, 0.0005, 0.02, 0.002) == "fail"
    assert judged("weighted_unifrac_dispersion_gap", 0.08, 0.01, 0.02, 0.02) == "warn"
