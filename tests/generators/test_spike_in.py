"""Spike-in of known associations: the effect arithmetic, the truth table, the CLI.

Expected values come from the rule in :mod:`synthomics.generators.spike_in`: cases
(``x = 1``) get present abundances times ``exp(b)`` and rows renormalised, so a taxon's
mean log relative abundance among the samples that carry it moves by ``b - g`` with ``g``
the mean ``log S`` of the cases (controls keep ``S = 1``); presence probabilities move from
``pi`` to ``expit(logit(pi) + d)``. The baseline draws of the ``independent`` generator
carry no association with the simulated covariate, so group differences are the spike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special
from typer.testing import CliRunner

from synthomics.cli.main import app
from synthomics.errors import InputError
from synthomics.generators import (
    Covariate,
    Effect,
    available_generators,
    get_generator,
    spike_in,
)

from .conftest import fast_config

runner = CliRunner()
DISEASE = Covariate.binary("disease", 0.5)


@pytest.fixture(scope="module")
def independent(proportion_table):
    """Each taxon drawn independently: no association with anything (proportions, no reads)."""
    return get_generator("independent", seed=2).fit(proportion_table)


def log_mean_difference(X: np.ndarray, x: np.ndarray, j: int) -> tuple[float, float]:
    """Mean log abundance of taxon ``j`` among the cases carrying it minus among the
    controls carrying it, and the Welch standard error of that difference."""
    parts = []
    for group in (1, 0):
        values = np.log(X[(x == group) & (X[:, j] > 0), j])
        parts.append((values.mean(), values.var(ddof=1) / len(values)))
    return parts[0][0] - parts[1][0], float(np.sqrt(parts[0][1] + parts[1][1]))


def test_spiked_log_fold_change_is_recovered_within_its_standard_error(independent):
    effect = Effect("disease", taxa=5, log_fold_change=1.0, direction="mixed")
    cohort = spike_in(independent, 4000, covariates=[DISEASE], effects=[effect], seed=4)
    null = spike_in(independent, 4000, covariates=[DISEASE], seed=4)
    x = cohort.metadata["disease"].to_numpy()
    truth = cohort.truth.set_index("taxon")
    affected = truth.index[truth["affected"]]
    assert len(affected) == 5
    assert sorted(truth.loc[affected, "abundance_log_fold_change"]) == [-1, -1, 1, 1, 1]
    # the truth's relative effect by hand: b - mean over cases of log sum_j p_ij exp(b_j)
    b = truth["abundance_log_fold_change"].to_numpy()
    S = (np.asarray(null.data.X)[x == 1] * np.exp(b)).sum(axis=1)
    np.testing.assert_allclose(truth["relative_log_fold_change"], b - np.log(S).mean(), atol=1e-9)
    X = np.asarray(cohort.data.X)
    names = list(cohort.data.var_names)
    for taxon in affected:
        estimate, se = log_mean_difference(X, x, names.index(taxon))
        assert abs(estimate - truth.loc[taxon, "relative_log_fold_change"]) < 3 * se, taxon


@pytest.mark.parametrize("direction, sign", [("up", 1), ("down", -1)])
def test_presence_shift_moves_the_presence_log_odds_as_asked(independent, direction, sign):
    effect = Effect(
        "disease",
        taxa=4,
        log_fold_change=0.0,
        presence_shift=1.0,
        direction=direction,
        prevalence=(0.25, 0.75),
    )
    cohort = spike_in(independent, 6000, covariates=[DISEASE], effects=[effect], seed=5)
    x = cohort.metadata["disease"].to_numpy()
    present = np.asarray(cohort.data.X) > 0
    truth = cohort.truth[cohort.truth["affected"]]
    assert (truth["presence_log_odds_shift"] == sign * 1.0).all()
    assert truth["prevalence_before"].between(0.25, 0.75).all()
    for taxon in truth["taxon"]:
        j = list(cohort.data.var_names).index(taxon)
        p1, p0 = present[x == 1, j].mean(), present[x == 0, j].mean()
        n1, n0 = (x == 1).sum(), (x == 0).sum()
        shift = special.logit(p1) - special.logit(p0)
        se = np.sqrt(1 / (n1 * p1 * (1 - p1)) + 1 / (n0 * p0 * (1 - p0)))  # delta method
        assert abs(shift - sign * 1.0) < 3 * se, taxon


def test_null_cohort_is_the_plain_draw(independent):
    null = spike_in(independent, 50, covariates=[DISEASE], seed=9)
    plain = independent.sample(50, seed=9)
    np.testing.assert_allclose(np.asarray(null.data.X), np.asarray(plain.X), rtol=1e-14)
    assert not null.truth["affected"].any()
    assert (null.truth[["abundance_log_fold_change", "presence_log_odds_shift"]] == 0).all().all()
    np.testing.assert_allclose(null.truth["relative_log_fold_change"], 0.0, atol=1e-12)
    assert (null.truth["prevalence_before"] == null.truth["prevalence_after"]).all()


MICROBIOME = [
    name if name != "diffusion" else pytest.param(name, marks=pytest.mark.slow)
    for name in sorted(available_generators(omics="microbiome"))
]


@pytest.mark.parametrize("name", MICROBIOME)
def test_every_generator_unaffected_taxa_change_only_by_renormalisation(name, proportion_table):
    """Against the same-seed null draw (proportions, so ``X`` is the spiked draw itself):
    controls are unchanged; in cases every unaffected taxon keeps its presence and is
    divided by one factor ``S_i`` per sample, whose mean log is the truth's offset."""
    model = get_generator(name, seed=1, **fast_config(name)).fit(proportion_table)
    effect = Effect("disease", taxa=5, log_fold_change=1.5, presence_shift=0.8)
    spiked = spike_in(model, 40, covariates=[DISEASE], effects=[effect], seed=3)
    null = spike_in(model, 40, covariates=[DISEASE], seed=3)
    A, B = np.asarray(spiked.data.X), np.asarray(null.data.X)
    x = spiked.metadata["disease"].to_numpy()
    assert x.sum() == 20  # exact share: 0.5 x 40
    unaffected = ~spiked.truth["affected"].to_numpy()
    assert (~unaffected).sum() == 5
    np.testing.assert_array_equal(A[x == 0], B[x == 0])
    np.testing.assert_array_equal(A[:, unaffected] > 0, B[:, unaffected] > 0)
    log_S = []
    for i in np.flatnonzero(x == 1):
        keep = unaffected & (B[i] > 0)
        ratio = B[i, keep] / A[i, keep]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
        log_S.append(np.log(ratio[0]))
    assert np.mean(log_S) == pytest.approx(spiked.settings["compositional_offset"]["disease"])
    truth = spiked.truth
    np.testing.assert_allclose(
        truth["abundance_log_fold_change"] - truth["relative_log_fold_change"], np.mean(log_S)
    )


@pytest.mark.parametrize("name", ["bootstrap", "midasim", "ziln_copula"])
def test_reads_are_drawn_from_the_spiked_profiles(name, counts_table):
    """Bootstrap copies reads (rounded again), midasim rounds, ziln_copula draws a
    multinomial: in every case the reads of the 5 taxa spiked 3-fold up (log 3) in cases
    carry the spike: their share of the cases' reads is larger than in the null draw."""
    model = get_generator(name, seed=1, **fast_config(name)).fit(counts_table)
    effect = Effect("disease", taxa=5, log_fold_change=np.log(3.0), direction="up")
    cohort = spike_in(model, 200, covariates=[DISEASE], effects=[effect], seed=2)
    null = spike_in(model, 200, covariates=[DISEASE], seed=2)
    x = cohort.metadata["disease"].to_numpy()
    affected = cohort.truth["affected"].to_numpy()
    shares = []
    for data in (cohort.data, null.data):
        counts = data.layers["counts"]
        np.testing.assert_array_equal(counts.sum(axis=1), data.obs["library_size"])
        shares.append(counts[:, affected].sum(axis=1) / counts.sum(axis=1))
    # a share s becomes 3s / (1 + 2s): about twice as large for the shares seen here
    assert shares[0][x == 1].mean() > 1.2 * shares[1][x == 1].mean()


def test_categorical_and_continuous_and_a_reused_metadata_table(independent):
    site = Covariate.categorical("site", {"A": 0.5, "B": 0.3, "C": 0.2})
    age = Covariate.continuous("age", "normal", 50, 10)
    cohort = spike_in(
        independent,
        100,
        covariates=[site, age],
        seed=2,
        effects=[Effect("site", taxa=3), Effect("age", taxa=2, log_fold_change=0.1)],
    )
    assert cohort.metadata["site"].value_counts().to_dict() == {"A": 50, "B": 30, "C": 20}
    truth = cohort.truth[cohort.truth["affected"]]
    # site: levels B and C against the reference A, on the same 3 taxa; age: 2 other taxa
    assert sorted(map(tuple, truth[["covariate", "level"]].drop_duplicates().to_numpy())) == [
        ("age", ""),
        ("site", "B"),
        ("site", "C"),
    ]
    assert set(truth.loc[truth.covariate == "site", "taxon"]).isdisjoint(
        truth.loc[truth.covariate == "age", "taxon"]
    )
    table = pd.DataFrame(
        {"bmi": np.linspace(18, 35, 30), "smoker": [0, 1] * 15}, index=[f"P{i}" for i in range(30)]
    )
    reused = spike_in(independent, metadata=table, effects=[Effect("smoker", taxa=2)], seed=1)
    assert reused.data.n_obs == 30
    assert list(reused.metadata["source_sample"]) == list(table.index)
    assert reused.settings["covariates"] == {"bmi": "continuous", "smoker": "binary"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"effects": [Effect("disease", taxa=26)]}, "asks for 26 taxa but the model has 25"),
        ({"effects": [Effect("age")]}, "unknown covariate 'age'"),
        ({"effects": [Effect("disease", taxa=["nope"])]}, "taxon 'nope' is not a feature"),
        ({"effects": [Effect("disease", taxa=20, prevalence=(0.9, 1.0))]}, "are eligible"),
    ],
)
def test_impossible_requests_are_refused(independent, kwargs, message):
    with pytest.raises(InputError, match=message):
        spike_in(independent, 30, covariates=[DISEASE], seed=0, **kwargs)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Covariate.binary("disease", -0.5), "case share -0.5"),
        (lambda: Covariate.categorical("site", {"A": 0.5, "B": -0.1}), "share -0.1"),
        (lambda: Covariate.categorical("site", {"A": 0.5, "B": 0.2}), "sum to 0.7"),
        (lambda: Covariate.continuous("age", "normal", 50, -1), "a positive spread"),
        (lambda: Effect("disease", log_fold_change=-1), "non-negative magnitude"),
        (lambda: Effect("disease", taxa=0), "at least one taxon"),
        (lambda: Effect("disease", taxa=1.5), "share of taxa 1.5"),
    ],
)
def test_bad_specifications_are_refused(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_cli_round_trip(independent, tmp_path):
    from synthomics.io import read

    independent.save(tmp_path / "model")
    args = [
        "spike",
        str(tmp_path / "model"),
        "-n",
        "60",
        "--binary",
        "disease=0.5",
        "--taxa",
        "4",
        "--log-fold-change",
        "1.0",
        "--prevalence-shift",
        "0.5",
        "--seed",
        "1",
        "--library-size",
        "2000",
        "--out",
        str(tmp_path / "sim"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    same = spike_in(
        tmp_path / "model",
        60,
        covariates=[DISEASE],
        seed=1,
        library_size=2000,
        effects=[Effect("disease", taxa=4, log_fold_change=1.0, presence_shift=0.5)],
    )
    table = read(tmp_path / "sim" / "table.tsv")
    np.testing.assert_array_equal(table.X, same.data.layers["counts"])
    metadata = pd.read_csv(tmp_path / "sim" / "metadata.tsv", sep="\t", index_col=0)
    assert list(metadata.index) == list(table.obs_names)
    assert metadata["disease"].sum() == 30
    truth = pd.read_csv(tmp_path / "sim" / "truth.tsv", sep="\t", keep_default_na=False)
    pd.testing.assert_frame_equal(truth, same.truth, check_dtype=False)
    bad = runner.invoke(app, [*args[:6], "--effect-on", "age", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "unknown covariate 'age'" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "x").exists()


def test_option_parsers():
    from synthomics.cli.spike import parse_band, parse_categorical, parse_continuous, parse_taxa

    site = parse_categorical("site=A:0.5,B:0.3,C:0.2")
    assert (site.kind, site.levels, site.shares) == (
        "categorical",
        ("A", "B", "C"),
        (0.5, 0.3, 0.2),
    )
    age = parse_continuous("age=uniform:20:70")
    assert (age.distribution, age.parameters) == ("uniform", (20.0, 70.0))
    assert parse_taxa("30") == 30 and parse_taxa("0.1") == 0.1
    assert parse_taxa("taxon_01, taxon_02") == ["taxon_01", "taxon_02"]
    assert parse_band("0.1:0.5") == (0.1, 0.5)
    with pytest.raises(InputError, match="--continuous: cannot read 'age=normal:50'"):
        parse_continuous("age=normal:50")
    with pytest.raises(InputError, match="--categorical: level 'A' given twice"):
        parse_categorical("site=A:0.5,A:0.5")


def test_cli_reuses_a_metadata_table(independent, tmp_path):
    independent.save(tmp_path / "model")
    (tmp_path / "samples.tsv").write_text(
        "sample_id\tsmoker\tbmi\n" + "".join(f"P{i}\t{i % 2}\t{20 + i}\n" for i in range(12))
    )
    base = ["spike", str(tmp_path / "model"), "--metadata", str(tmp_path / "samples.tsv")]
    result = runner.invoke(
        app, [*base, "--effect-on", "smoker", "--taxa", "2", "--out", str(tmp_path / "sim")]
    )
    assert result.exit_code == 0, result.output
    metadata = pd.read_csv(tmp_path / "sim" / "metadata.tsv", sep="\t", index_col=0)
    assert list(metadata["source_sample"]) == [f"P{i}" for i in range(12)]
    truth = pd.read_csv(tmp_path / "sim" / "truth.tsv", sep="\t", keep_default_na=False)
    assert set(truth["covariate"]) == {"smoker"} and truth["affected"].sum() == 2
    # no covariate named: refused, naming the way out
    bad = runner.invoke(app, [*base, "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "no covariate to attach effects to" in bad.output
