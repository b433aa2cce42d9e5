"""MIDASim: recovers per-taxon prevalence, per-sample richness and presence correlations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats

from synthomics.container import microbiome_anndata
from synthomics.generators import get_generator
from synthomics.generators.midasim import (
    assign_empirical_abundances,
    balanced_draw,
    solve_presence_margins,
    tetrachoric_matrix,
    tie_averaged_rank_scores,
    tie_averaged_spearman,
)


def exact_tetrachoric(x, y):
    """Maximum-likelihood tetrachoric correlation of two 0/1 vectors, by root finding on
    the bivariate normal CDF (an independent reference for the closed-form estimate)."""
    h = stats.norm.ppf(1 - x.mean())
    k = stats.norm.ppf(1 - y.mean())
    p11 = np.mean(x & y)

    def gap(rho):
        upper = 1 - stats.norm.cdf(h) - stats.norm.cdf(k)
        both = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([h, k])
        return upper + both - p11

    return optimize.brentq(gap, -0.99, 0.99)


@pytest.mark.parametrize(("rho", "t1", "t2"), [(0.5, 0.0, 0.5), (-0.3, 0.8, -0.2), (0.8, 1.0, 1.2)])
def test_tetrachoric_approximation_is_close_to_the_exact_estimate(rho, t1, t2):
    rng = np.random.default_rng(1)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=3000)
    present = np.column_stack([z[:, 0] > t1, z[:, 1] > t2])
    approx = tetrachoric_matrix(present)[0, 1]
    # Bonett & Price (2005) report their approximation within about 0.02 of the MLE
    assert approx == pytest.approx(exact_tetrachoric(present[:, 0], present[:, 1]), abs=0.03)
    assert approx == pytest.approx(rho, abs=0.08)


def test_rare_taxa_get_no_tetrachoric_correlation():
    present = np.zeros((50, 4), dtype=bool)
    present[:25, 0] = present[5:30, 1] = True
    present[0, 2] = present[0, 3] = True  # two singletons in one sample
    full = tetrachoric_matrix(present, min_count=1)
    masked = tetrachoric_matrix(present, min_count=5)
    assert full[2, 3] > 0.9  # one co-occurrence reads as near-perfect dependence
    assert masked[2, 3] == 0 and masked[0, 2] == 0 and masked[2, 2] == 1
    assert masked[0, 1] == pytest.approx(full[0, 1]) and full[0, 1] > 0.3


def test_presence_margins_are_solved():
    rng = np.random.default_rng(2)
    present = rng.random((80, 40)) < rng.uniform(0.05, 0.9, 40)
    present[:, 0] = True
    present[0, 0] = False
    prevalence = present.mean(axis=0)
    richness = present.sum(axis=1)
    theta, eta = solve_presence_margins(prevalence, richness)
    expected = special.ndtr(theta[None, :] + eta[:, None])
    np.testing.assert_allclose(expected.sum(axis=0), 80 * prevalence, atol=1e-5)
    np.testing.assert_allclose(expected.sum(axis=1), richness, atol=1e-5)
    assert abs(eta.mean()) < 1e-12


def test_tie_averaged_scores_equal_the_average_over_random_tie_breaking():
    rng = np.random.default_rng(3)
    n, p = 50, 4
    P = rng.integers(0, 4, size=(n, p)) * (rng.random((n, p)) < 0.6)
    S = tie_averaged_rank_scores(P.astype(float))
    exact = S.T @ S / n
    # Monte Carlo reference: MIDASim's procedure, random tie-breaking averaged
    untied = special.ndtri(np.arange(1, n + 1) / (n + 1))
    total = np.zeros((p, p))
    replicates = 2000
    for _ in range(replicates):
        ranks = np.empty((n, p))
        order = np.lexsort((rng.random((n, p)), P), axis=0)
        np.put_along_axis(ranks, order, np.arange(1, n + 1, dtype=float)[:, None], axis=0)
        scores = special.ndtri(ranks / (n + 1))
        scores -= scores.mean(axis=0)
        total += scores.T @ scores / n / np.mean(untied**2)
    off = ~np.eye(p, dtype=bool)
    np.testing.assert_allclose(exact[off], (total / replicates)[off], atol=0.01)


def test_tie_averaged_spearman_equals_the_average_over_random_tie_breaking():
    rng = np.random.default_rng(9)
    n, p = 40, 3
    P = rng.integers(0, 4, size=(n, p)) * (rng.random((n, p)) < 0.6)
    exact = tie_averaged_spearman(P.astype(float))
    # Monte Carlo reference: the package's procedure (rank(ties.method = "random"), then
    # Spearman), averaged over many tie-breakings
    total = np.zeros((p, p))
    replicates = 3000
    for _ in range(replicates):
        order = np.lexsort((rng.random((n, p)), P), axis=0)
        ranks = np.empty((n, p))
        np.put_along_axis(ranks, order, np.arange(1, n + 1, dtype=float)[:, None], axis=0)
        total += stats.spearmanr(ranks).statistic
    np.testing.assert_allclose(exact, total / replicates, atol=0.01)
    # without ties it is the plain Spearman correlation
    untied = rng.random((n, p))
    np.testing.assert_allclose(
        tie_averaged_spearman(untied), stats.spearmanr(untied).statistic, atol=1e-6
    )


def test_balanced_draw_uses_every_template_sample_before_any_twice():
    rng = np.random.default_rng(0)
    assert sorted(balanced_draw(5, 5, rng)) == [0, 1, 2, 3, 4]
    # 12 from 5: every index twice, then two distinct indices a third time
    counts = np.bincount(balanced_draw(5, 12, rng), minlength=5)
    assert sorted(counts) == [2, 2, 2, 3, 3]
    assert len(set(balanced_draw(5, 3, rng))) == 3


def test_reads_keep_the_template_depths():
    """Four always-present taxa in equal parts: every synthetic proportion is 1/4, so the
    reads of a sample built on a template of depth d are exactly d/4 per taxon."""
    depths = np.array([100, 200, 400, 800])
    X = np.repeat(depths[:, None] // 4, 4, axis=1)
    adata = microbiome_anndata(X, [f"S{i}" for i in range(4)], list("abcd"), units="counts")
    model = get_generator("midasim", seed=0).fit(adata)
    out = model.sample(8, seed=1)
    # 8 rows from 4 templates: each template depth twice (balanced_draw)
    np.testing.assert_array_equal(np.sort(out.obs["library_size"]), np.repeat(depths, 2))
    quarter = out.obs["library_size"].to_numpy()[:, None] // 4
    np.testing.assert_array_equal(out.layers["counts"], np.repeat(quarter, 4, axis=1))
    given = model.sample(3, seed=1, library_size=40).layers["counts"]
    np.testing.assert_array_equal(given, np.full((3, 4), 10))
    # the earlier behaviour: depths from the fitted log-normal, not the template's
    free = get_generator("midasim", seed=0, template_depths=False).fit(adata).sample(8, seed=1)
    assert not set(free.obs["library_size"]) <= set(depths)


def test_one_read_taxa_keep_one_read_at_the_template_depth():
    """A rarefied-style table (depth 1,000): taxon "rare" always has exactly one read where
    present. The synthetic reads of a present taxon are round(value x depth / row total);
    with the dominant taxa drawn from their own template values the row total stays near
    1, so "rare" should mostly keep a single read, as in the template."""
    rng = np.random.default_rng(3)
    n = 200
    rare = rng.random(n) < 0.3
    big = rng.integers(300, 700, n)
    X = np.column_stack([big, 1000 - big - rare, rare.astype(int)])
    adata = microbiome_anndata(X, [f"S{i}" for i in range(n)], ["a", "b", "rare"], units="counts")
    out = get_generator("midasim", seed=0).fit(adata).sample(n, seed=1)
    reads = out.layers["counts"][:, 2]
    # a and b take the template values of two different samples, so the row total of the
    # proportions is 1 +- (spread of a's share): 1/1000 x 1000 / total rounds to 1 unless
    # the total is below 2/3, which a in [0.3, 0.7] and b = 1 - a' cannot reach
    assert (reads > 0).sum() > 20  # present in some rows (the template: 55 of 200)
    assert set(reads[reads > 0]) == {1}


def test_step_two_assigns_sorted_values_by_latent_rank():
    values = np.array([1.0, 2.0, 3.0, 5.0])  # taxon 0 saw 1, 2, 3; taxon 1 saw 5
    offsets = np.array([0, 3, 4])
    rows = np.array([0, 1, 0, 1, 2])
    cols = np.array([0, 0, 1, 1, 1])
    latent = np.array([0.5, -0.5, 0.0, 1.0, 2.0])
    out = assign_empirical_abundances(rows, cols, latent, values, offsets, np.random.default_rng(0))
    assert out[0] > out[1] and {out[0], out[1]} <= {1.0, 2.0, 3.0}  # 2 drawn of 3, ordered
    np.testing.assert_array_equal(out[2:], 5.0)  # 3 needed, 1 seen: drawn with replacement


@pytest.fixture(scope="module")
def template():
    """Presence from MIDASim's own model (theta + eta thresholds, a correlated block) with
    log-normal abundances."""
    rng = np.random.default_rng(4)
    n, p = 600, 40
    theta = rng.normal(-0.3, 0.8, p)
    eta = rng.normal(0, 0.5, n)
    corr = np.eye(p)
    corr[:8, :8] = 0.7
    np.fill_diagonal(corr, 1.0)
    z = rng.multivariate_normal(np.zeros(p), corr, size=n)
    present = z >= -(theta[None, :] + eta[:, None])
    present[~present.any(axis=1), 0] = True
    X = np.where(present, np.exp(rng.normal(0, 1, (n, p))), 0.0)
    ids = [f"S{i}" for i in range(n)]
    return microbiome_anndata(
        X / X.sum(1, keepdims=True), ids, [f"t{j}" for j in range(p)], units="proportion"
    ), present


def test_recovers_prevalence_richness_and_presence_correlation(template):
    adata, present = template
    model = get_generator("midasim", seed=5).fit(adata)
    out = model.sample(3000, seed=6)
    fake = np.asarray(out.X) > 0
    # per-taxon prevalence: binomial sd at n = 600 is at most 0.02
    np.testing.assert_allclose(fake.mean(axis=0), present.mean(axis=0), atol=0.04)
    rich_real, rich_fake = present.sum(axis=1), fake.sum(axis=1)
    assert rich_fake.mean() == pytest.approx(rich_real.mean(), rel=0.03)
    # MIDASim adds the presence correlation's own variance to the template's richness spread
    assert rich_real.std() * 0.9 < rich_fake.std() < rich_real.std() * 1.6
    from synthomics.generators.copula import LowRankCorrelation

    tetra = LowRankCorrelation.from_state(model.levels_[0].arrays, "tetrachoric/").dense()
    within = tetra[:8, :8][np.triu_indices(8, 1)].mean()
    outside = tetra[8:, 8:][np.triu_indices(32, 1)].mean()
    # marginally over samples the latent is z + eta with var(eta) = 0.25, so the tetrachoric
    # estimate sees (rho + 0.25) / 1.25: 0.76 in the block and 0.2 outside it (the sample
    # heterogeneity that MIDASim then adds again through eta, hence the wider richness)
    assert within == pytest.approx(0.95 / 1.25, abs=0.07)
    assert outside == pytest.approx(0.25 / 1.25, abs=0.05)
    phi = lambda m: np.corrcoef(m[:, 0], m[:, 1])[0, 1]  # noqa: E731
    assert phi(fake) == pytest.approx(phi(present), abs=0.1)


def test_nonzero_values_come_from_the_template():
    """Step 2 reuses observed values: within a synthetic sample, the ratio of two taxa is a
    ratio of values the two taxa had in the template."""
    rng = np.random.default_rng(8)
    n = 120
    X = np.column_stack(
        [rng.uniform(1, 2, n), rng.uniform(1, 2, n) * (rng.random(n) < 0.5), rng.uniform(1, 2, n)]
    )
    P = X / X.sum(axis=1, keepdims=True)
    adata = microbiome_anndata(P, [f"S{i}" for i in range(n)], ["a", "b", "c"], units="proportion")
    out = np.asarray(get_generator("midasim", seed=1).fit(adata).sample(200, seed=2).X)
    both = out[:, 1] > 0
    assert both.any() and (out[:, 0] > 0).all()
    allowed = np.sort((P[:, 1][P[:, 1] > 0][:, None] / P[:, 0][None, :]).ravel())
    ratios = out[both, 1] / out[both, 0]
    nearest = allowed[np.clip(np.searchsorted(allowed, ratios), 0, len(allowed) - 1)]
    below = allowed[np.clip(np.searchsorted(allowed, ratios) - 1, 0, len(allowed) - 1)]
    gap = np.minimum(np.abs(nearest - ratios), np.abs(below - ratios))
    assert gap.max() < 1e-9
