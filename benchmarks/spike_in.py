"""Differential-abundance methods on cohorts with spiked associations of known size.

For each shared dataset (Nielsen IBD metagenomes, the twins 16S counts, HMP 16S stool) a
generator is fitted to a seeded 80% training split (``midasim``; ``diffusion`` with the
small budget of :data:`MODEL_OPTIONS`). Cohorts are then simulated with
:func:`synthomics.generators.spike_in` over a grid: a binary ``disease`` (half cases),
10% of the taxa with drawn prevalence >= 10% spiked in mixed directions with a log fold
change ``lfc`` in {0 (null), 0.5, 1, 2} and a presence log-odds shift ``lfc / 2``, for
``n`` in {50, 100, 200} samples, three replicates each. Reads: the training depths
(twins, HMP) or 20,000 reads per sample for the Nielsen relative abundances.

Every cohort is tested, on the taxa present in >= 10% of its samples, by
    * ``lm_log``: a linear model of log relative abundance on ``disease`` (zeros replaced
      by half the smallest non-zero relative abundance, as MaAsLin 2's default LOG
      transform of TSS data), t-test, Benjamini-Hochberg;
    * ``wilcoxon_clr``: Wilcoxon rank-sum test of the CLR (reads + 0.5), BH;
    * ``ancom``: scikit-bio's ANCOM (reads + 0.5, ``f_oneway``, BH), its own decision;
    * ``dirmult_ttest``: scikit-bio's Dirichlet-multinomial t-test (64 draws), BH;
    * ``ancombc``: scikit-bio's ANCOM-BC, BH.
A taxon is called at q < 0.05. Reported per method: power (called affected taxa / tested
affected taxa), observed FDR (false calls / calls; 0 without calls), the share of
unaffected taxa with p < 0.05 (nominal 0.05 on null cohorts), and for the methods that
estimate effects the Pearson correlation of estimates with the truth over tested taxa and
the bias over the affected ones, signed so that positive means a larger magnitude than the
truth (``mean(sign(truth) x (estimate - truth))``; negative: attenuation), against the
relative-abundance truth (what a method can recover) and the abundance truth (what was
spiked).

Fidelity of a spiked cohort: one cohort of twice the test split's size (lfc 2) is split
into its control and case arms and evaluated with :func:`synthomics.metrics.evaluate`
against the held-out test split, beside a plain draw of the same model; the report
(``report.html``) shows that evaluation with the power and FDR curves.

Usage::

    python benchmarks/spike_in.py --out benchmarks/results/spike_in
        [--datasets nielsen_ibd,twins,hmp_16s_stool] [--models midasim,diffusion]
        [--replicates 3]

Writes ``runs.csv`` (one row per cohort and method), ``table.md``, ``power_fdr.png`` and
``report.html`` into OUT.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from shared_data import MICROBIOME, SHARED_DATA, read_shared

DATASETS = ("nielsen_ibd", "twins", "global_patterns", "hmp_16s", "metaml", "hmp_16s_stool")
EFFECTS = (0.0, 0.5, 1.0, 2.0)
SIZES = (50, 100, 200)
METHODS = ("lm_log", "wilcoxon_clr", "ancom", "dirmult_ttest", "ancombc")
ALPHA = 0.05
MIN_PREVALENCE = 0.1
NIELSEN_DEPTH = 20_000
MODEL_OPTIONS = {"diffusion": {"max_steps": 400, "sampling_steps": 20}}
"""A small training and sampling budget for the diffusion model (one CPU core)."""


def read_benchmark_dataset(name: str):
    """A shared dataset as a microbiome AnnData (``hmp_16s_stool``: the stool samples)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata = read_shared(name)
    if name != "hmp_16s_stool":
        return adata
    present = np.asarray((adata.X > 0).sum(axis=0)).ravel() > 0
    out = adata[:, present].copy()
    out.X = np.asarray(out.X.toarray() if hasattr(out.X, "toarray") else out.X)
    return out


# --------------------------------------------------------------------------- methods


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    from scipy.stats import false_discovery_control

    return false_discovery_control(np.nan_to_num(p, nan=1.0))


def lm_log(counts: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """OLS of log relative abundance on x (MaAsLin 2's default LOG on TSS data)."""
    from scipy import stats

    rel = counts / counts.sum(axis=1, keepdims=True)
    y = np.log(np.where(rel > 0, rel, rel[rel > 0].min() / 2))
    xc = x - x.mean()
    sxx = float(xc @ xc)
    beta = xc @ (y - y.mean(axis=0)) / sxx
    resid = y - y.mean(axis=0) - np.outer(xc, beta)
    se = np.sqrt((resid**2).sum(axis=0) / (len(x) - 2) / sxx)
    p = 2 * stats.t.sf(np.abs(beta / se), len(x) - 2)
    return {"effect": beta, "p": p, "q": benjamini_hochberg(p)}


def wilcoxon_clr(counts: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    """Wilcoxon rank-sum test of the CLR; the effect is the difference of CLR means."""
    from scipy import stats
    from skbio.stats.composition import clr

    z = clr(counts + 0.5)
    p = stats.mannwhitneyu(z[x == 1], z[x == 0], axis=0).pvalue
    effect = z[x == 1].mean(axis=0) - z[x == 0].mean(axis=0)
    return {"effect": effect, "p": p, "q": benjamini_hochberg(p)}


def _frames(counts: np.ndarray, x: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    ids = [f"s{i}" for i in range(len(x))]
    table = pd.DataFrame(counts, index=ids, columns=[f"t{j}" for j in range(counts.shape[1])])
    return table, pd.Series(np.where(x == 1, "case", "control"), index=ids)


def ancom(counts: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    from skbio.stats.composition import ancom as skbio_ancom

    table, grouping = _frames(counts + 0.5, x)
    result, _ = skbio_ancom(table, grouping, p_adjust="fdr_bh")
    nan = np.full(counts.shape[1], np.nan)
    return {"effect": nan, "p": nan, "reject": result["Signif"].to_numpy(dtype=bool)}


def dirmult_ttest(counts: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    from skbio.stats.composition import dirmult_ttest as skbio_dmtt

    table, grouping = _frames(counts, x)
    result = skbio_dmtt(
        table,
        grouping,
        treatment="case",
        reference="control",
        draws=64,
        p_adjust="fdr_bh",
        seed=0,
    ).loc[table.columns]
    return {
        "effect": result["Log2(FC)"].to_numpy() * np.log(2.0),
        "p": result["pvalue"].to_numpy(),
        "q": result["qvalue"].to_numpy(),
    }


def ancombc(counts: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
    from skbio.stats.composition import ancombc as skbio_ancombc

    table, grouping = _frames(counts + 0.5, x)
    metadata = pd.DataFrame({"disease": grouping})
    result = skbio_ancombc(table, metadata, "disease", p_adjust="fdr_bh")
    frame = getattr(result, "result", result)  # newer scikit-bio wraps the table
    rows = frame.xs("disease[T.control]", level="Covariate").loc[table.columns]
    # the formula's contrast is control vs case (alphabetical reference): flip the sign
    return {
        "effect": -rows["Log(FC)"].to_numpy(),
        "p": rows["pvalue"].to_numpy(),
        "q": rows["qvalue"].to_numpy(),
    }


METHOD_FUNCTIONS = {
    "lm_log": lm_log,
    "wilcoxon_clr": wilcoxon_clr,
    "ancom": ancom,
    "dirmult_ttest": dirmult_ttest,
    "ancombc": ancombc,
}


def score(result: dict[str, np.ndarray], truth: pd.DataFrame) -> dict[str, Any]:
    """Power, FDR, nominal false-positive share and effect recovery of one method."""
    affected = truth["affected"].to_numpy()
    called = result["reject"] if "reject" in result else result["q"] < ALPHA
    n_called = int(called.sum())
    false_calls = int((called & ~affected).sum())
    p = result["p"]
    record: dict[str, Any] = {
        "n_tested": len(affected),
        "n_affected": int(affected.sum()),
        "n_called": n_called,
        "power": float((called & affected).sum() / affected.sum()) if affected.any() else np.nan,
        "fdr": false_calls / n_called if n_called else 0.0,
        "null_p05_share": float(np.mean(p[~affected] < ALPHA)) if np.isfinite(p).any() else np.nan,
        "null_call_share": float(np.mean(called[~affected])),
    }
    effect = result["effect"]
    for label, column in (
        ("relative", "relative_log_fold_change"),
        ("abundance", "abundance_log_fold_change"),
    ):
        true = truth[column].to_numpy()
        ok = np.isfinite(effect)
        if ok.sum() > 2 and affected.any() and np.std(true[ok]) > 0:
            record[f"corr_{label}"] = float(np.corrcoef(effect[ok], true[ok])[0, 1])
            hit = affected & ok
            record[f"bias_{label}"] = float(np.mean(np.sign(true[hit]) * (effect[hit] - true[hit])))
        else:
            record[f"corr_{label}"] = record[f"bias_{label}"] = np.nan
    return record


# --------------------------------------------------------------------------- simulation


def simulate_and_test(
    dataset: str, model_name: str, model: Any, replicates: int, depth: int | None
) -> list[dict[str, Any]]:
    from synthomics.generators import Covariate, Effect, spike_in

    records = []
    for lfc in EFFECTS:
        for n in SIZES:
            for replicate in range(replicates):
                seed = 1000 * replicate + 10 * n + int(lfc * 4)
                effects = (
                    []
                    if lfc == 0
                    else [
                        Effect(
                            "disease",
                            taxa=0.1,
                            log_fold_change=lfc,
                            presence_shift=lfc / 2,
                            direction="mixed",
                            prevalence=(MIN_PREVALENCE, 1.0),
                        )
                    ]
                )
                cohort = spike_in(
                    model,
                    n,
                    covariates=[Covariate.binary("disease", 0.5)],
                    effects=effects,
                    seed=seed,
                    library_size=depth,
                )
                counts = np.asarray(cohort.data.layers["counts"], dtype=np.float64)
                x = cohort.metadata["disease"].to_numpy(dtype=np.float64)
                tested = (counts > 0).mean(axis=0) >= MIN_PREVALENCE
                truth = cohort.truth.loc[tested].reset_index(drop=True)
                for method in METHODS:
                    started = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        result = METHOD_FUNCTIONS[method](counts[:, tested], x)
                    record = {
                        "dataset": dataset,
                        "model": model_name,
                        "n": n,
                        "lfc": lfc,
                        "presence_shift": lfc / 2,
                        "replicate": replicate,
                        "seed": seed,
                        "method": method,
                        "offset": cohort.settings["compositional_offset"].get("disease", 0.0),
                        **score(result, truth),
                        "seconds": time.perf_counter() - started,
                    }
                    records.append(record)
    return records


def fidelity(dataset: str, model: Any, train: Any, test: Any, depth: int | None) -> Any:
    """Evaluation of a plain draw and of a spiked cohort's control and case arms."""
    from synthomics.generators import Covariate, Effect, spike_in
    from synthomics.metrics import evaluate

    n = test.n_obs
    cohort = spike_in(
        model,
        2 * n,
        covariates=[Covariate.binary("disease", 0.5)],
        effects=[
            Effect(
                "disease",
                taxa=0.1,
                log_fold_change=2.0,
                presence_shift=1.0,
                prevalence=(MIN_PREVALENCE, 1.0),
            )
        ],
        seed=7,
        library_size=depth,
    )
    x = cohort.metadata["disease"].to_numpy()
    sets = {
        "plain draw": model.sample(n, seed=8, library_size=depth),
        "control arm": cohort.data[x == 0].copy(),
        "case arm": cohort.data[x == 1].copy(),
    }
    for adata in sets.values():
        for column in list(adata.obs.columns):
            if column != "library_size":
                del adata.obs[column]
    return evaluate(test, sets, train=train, seed=0, permutations=199)


FIDELITY_METRICS = (
    "c2st_auc",
    "braycurtis_permanova_r2",
    "richness_wasserstein",
    "shannon_wasserstein",
    "prevalence_pearson",
    "zero_fraction_gap",
)


# --------------------------------------------------------------------------- outputs


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean of each score over replicates per dataset, model, method, lfc and n."""
    keys = ["dataset", "model", "method", "lfc", "n"]
    columns = [
        "power",
        "fdr",
        "null_p05_share",
        "null_call_share",
        "corr_relative",
        "bias_relative",
        "corr_abundance",
        "bias_abundance",
        "n_tested",
        "n_affected",
    ]
    return runs.groupby(keys, as_index=False)[columns].mean()


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def markdown(
    summary: pd.DataFrame, fidelity_rows: list[dict[str, Any]], command: str, seconds: float
) -> str:
    lines = [
        "# Spike-in benchmark: differential-abundance methods on cohorts with known effects",
        "",
        f"Command: `{command}` ({seconds / 60:.1f} min on one core). "
        "Settings and method details: the docstring of `benchmarks/spike_in.py`.",
        "",
        "## Null cohorts (lfc 0): share of taxa with p < 0.05 and with a call (q < 0.05)",
        "",
        "Nominal: 0.05 for p < 0.05; about 0 for calls. ANCOM gives no p-values.",
        "",
    ]
    null = summary[summary["lfc"] == 0]
    table = null.pivot_table(
        index=["dataset", "n"], columns="method", values=["null_p05_share", "null_call_share"]
    )
    lines += _pivot_markdown(table)
    effects = summary[summary["lfc"] > 0]
    for value, title in (
        ("power", "Power (share of spiked taxa called at q < 0.05)"),
        ("fdr", "Observed FDR (false calls / calls; nominal 0.05)"),
        ("corr_relative", "Correlation of estimated effects with the relative-scale truth"),
        (
            "bias_relative",
            "Bias of estimated effects on spiked taxa (positive: larger "
            "magnitude than the truth), relative-scale truth",
        ),
        (
            "bias_abundance",
            "Bias of estimated effects on spiked taxa (positive: larger "
            "magnitude than the truth), abundance-scale truth",
        ),
    ):
        lines += ["", f"## {title}", ""]
        table = effects.pivot_table(index=["dataset", "lfc", "n"], columns="method", values=value)
        lines += _pivot_markdown(table)
    lines += [
        "",
        "## Fidelity of a spiked cohort (lfc 2, presence shift 1): status against the "
        "real-vs-real floor",
        "",
        "Each arm against the held-out test split; `pass`/`warn`/`fail` as in the evaluation "
        "report. Controls are the model's draw unchanged, so they match the plain draw.",
        "",
    ]
    frame = pd.DataFrame(fidelity_rows)
    lines += _pivot_markdown(
        frame.pivot_table(
            index=["dataset", "set"], columns="metric", values="text", aggfunc="first"
        )
    )
    return "\n".join(lines) + "\n"


def _pivot_markdown(table: pd.DataFrame) -> list[str]:
    columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns]
    names = [str(n) for n in table.index.names]
    out = ["| " + " | ".join(names + columns) + " |", "|" + "---|" * (len(names) + len(columns))]
    for index, row in table.iterrows():
        index = index if isinstance(index, tuple) else (index,)
        out.append("| " + " | ".join([*map(_fmt, index), *map(_fmt, row.tolist())]) + " |")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/spike_in"))
    parser.add_argument("--datasets", default="nielsen_ibd,twins,hmp_16s_stool")
    parser.add_argument("--models", default="midasim")
    parser.add_argument("--replicates", type=int, default=3)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets.split(",")) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    if not MICROBIOME.is_dir():
        raise SystemExit(f"shared data not found under {SHARED_DATA}")

    from synthomics.generators import get_generator
    from synthomics.io.atomic import atomic_path
    from synthomics.preprocessing.split import train_test_split
    from synthomics.report.spike_in import power_fdr_figure, render_spike_in_report

    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    fidelity_rows: list[dict[str, Any]] = []
    evaluations = {}
    for dataset in args.datasets.split(","):
        adata = read_benchmark_dataset(dataset)
        train, test = train_test_split(adata, test_fraction=0.2, seed=0)
        depth = NIELSEN_DEPTH if adata.uns["units"] != "counts" else None
        for model_name in args.models.split(","):
            t0 = time.perf_counter()
            options = MODEL_OPTIONS.get(model_name, {})
            model = get_generator(model_name, seed=0, progress=False, **options).fit(train)
            print(
                f"{dataset}: {adata.n_obs} x {adata.n_vars}, {model_name} fitted in "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            records += simulate_and_test(dataset, model_name, model, args.replicates, depth)
            print(
                f"  tested {len(records)} cohort-methods ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            evaluation = fidelity(dataset, model, train, test, depth)
            evaluations[(dataset, model_name)] = evaluation
            for set_name in ("plain draw", "control arm", "case arm"):
                for metric in FIDELITY_METRICS:
                    record = evaluation.result(set_name, metric)
                    value = _fmt(record.value)
                    fidelity_rows.append(
                        {
                            "dataset": f"{dataset} ({model_name})",
                            "set": set_name,
                            "metric": metric,
                            "text": f"{value} {record.status}",
                        }
                    )
    runs = pd.DataFrame(records)
    summary = summarise(runs)
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "runs.csv") as tmp:
        runs.to_csv(tmp, index=False, float_format="%.6g")
    command = "python benchmarks/spike_in.py " + " ".join(argv or sys.argv[1:])
    with atomic_path(args.out / "table.md") as tmp:
        tmp.write_text(markdown(summary, fidelity_rows, command.strip(), seconds))
    figure = power_fdr_figure(summary)
    with atomic_path(args.out / "power_fdr.png") as tmp:
        figure.savefig(tmp, format="png", dpi=110, facecolor="white")
    first = next(iter(evaluations))
    with atomic_path(args.out / "report.html") as tmp:
        tmp.write_text(
            render_spike_in_report(
                evaluations[first], summary, title=f"Spike-in benchmark: {first[0]}"
            )
        )
    print(f"wrote {args.out} in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
