"""Paired benchmark of the microbiome generators: C2ST with intervals on many datasets.

For every dataset and split seed, the table is split into training and held-out samples
(grouped by subject where the data have repeated visits), every generator is fitted on the
same training samples and draws ``--draws`` synthetic sets (5 by default), each as large as
the held-out part, and each set is judged against the held-out samples; a split's value of
every metric is the mean over its draws, each C2ST with its own classifier folds (one draw
and one fold assignment alone vary by 0.02-0.06 AUC on 100-120 held-out samples, as much as
the splits do):

* ``c2st``: the evaluation suite's classifier two-sample test (gradient boosting on the CLR
  of the 200 most prevalent taxa, 5-fold ROC AUC; 0.5 = indistinguishable);
* ``c2st_presence``: the same classifier on presence/absence only;
* ``c2st_abundance``: the same classifier on the log relative abundance of present taxa
  only (absent taxa are missing values, which gradient boosting handles natively);
* ``presence_coherence``: how coherent the presence patterns are with the co-occurrence
  of the training samples, relative to held-out real samples (nats per sample; 0 = as
  coherent as new real samples, below 0 = taxa co-occur more at random; see
  :class:`synthomics.metrics.sparsity.PresenceConditionals`); the floor's "synthetic"
  samples are the training samples the conditionals were fitted on, so it sits above 0;
* ``zero_gap_pp``, ``prevalence_r``, ``richness_w1``, ``shannon_w1``: sparsity, prevalence
  and alpha diversity;
* ``rare_ratio``: for the rare taxa (training mean relative abundance below 1e-4), the
  geometric mean over taxa of the mean synthetic relative abundance where present divided
  by the real one (1 = right);
* ``dcr_ratio``, ``exact_copies``: distance to the closest training record (Hellinger
  features) relative to held-out records, and the share of exact copies;
* ``mia_auc``: the distance attack of membership inference, the ROC AUC with which the
  distance to the closest synthetic sample tells training samples from held-out ones
  (0.5 = no leak; the real-vs-real floor has none, its "synthetic" samples being training
  samples).

The real-vs-real floor compares subsamples of the training samples (one per draw) with the
held-out ones.
Tables are compared in the units of the data: count tables are judged on the proportions
of the reads each generator writes.

The summary gives, per dataset and generator, the mean and 95 % t-interval over seeds of
each metric, and the paired difference of C2ST to a reference generator (``midasim``),
flagged "within noise" when its interval covers zero. The diagnosis lists the features
(taxa and sample summaries: richness, smallest non-zero share, singletons, dominance, ...)
that alone best separate each generator's samples from real ones (univariate ROC AUC,
averaged over seeds).

Run from the repository root, e.g.::

    OMP_NUM_THREADS=1 python benchmarks/microbiome_c2st.py --seeds 0 1 2 3 4 5 6 7 8 9 \\
        --generators diffusion,midasim,independent --draws 5 \\
        --out benchmarks/results/microbiome_c2st

``--generators`` takes registry names or ``NAME=registry_name:JSON`` variants, e.g.
``diffusion-no_poincare=diffusion:{"taxon_embedding": "none"}``; ``--ablation`` adds the
diffusion model with each mechanism switched off. The option ``"reference": true`` fits a
diffusion model with a reference cohort (:func:`reference_cohort`: the other HMP body
sites for an HMP site, MetAML stool of the other studies for Nielsen). Writes
``runs.csv`` (one row per dataset, seed, generator and metric), ``summary.md`` and
``diagnosis.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shared_data import read_shared, shared_dataset

DATASETS = (
    "hmp_stool",
    "hmp_tongue",
    "hmp_plaque",
    "hmp_buccal",
    "nielsen_ibd",
    "twins",
    "metaml_stool",
)
HELD_OUT_DATASETS = ("hmp_subgingival", "hmp_nares", "hmp_throat", "hmp_skin")
"""HMP body sites that no tuning run used (subgingival plaque, anterior nares, throat,
skin behind the right ear): named with ``--datasets`` to check that a choice made on
:data:`DATASETS` carries over to tables it was not chosen on."""
LARGE_DATASETS = ("hmp_oral",)
"""Larger tables for choices that depend on the table's size: ``hmp_oral`` pools the HMP
oral body sites (3,320 samples, 2,646 of them in training), several of them also in
:data:`DATASETS`."""
ABLATIONS: dict[str, dict[str, Any]] = {
    "diffusion-no_prevalence_init": {"prevalence_init": False},
    "diffusion-no_sparsity_loss": {"sparsity_weight": 0.0},
    "diffusion-no_poincare": {"taxon_embedding": "none"},
}
METRICS = [
    "c2st",
    "c2st_presence",
    "c2st_abundance",
    "presence_coherence",
    "zero_gap_pp",
    "prevalence_r",
    "richness_w1",
    "shannon_w1",
    "rare_ratio",
    "dcr_ratio",
    "exact_copies",
    "mia_auc",
    "fit_seconds",
    "sample_seconds",
]
C2ST_TAXA = 200
MAX_TEST = 600
RARE = 1e-4
DRAW_SEED_STEP = 17


def load_dataset(name: str, cache: Path) -> Any:
    """The dataset, top 500 taxa by the preprint protocol, cached as h5ad."""
    import anndata as ad

    path = cache / f"{name}.h5ad"
    if path.exists():
        return ad.read_h5ad(path)
    from synthomics.preprocessing import preprint_protocol

    adata = read_shared(name, tree=False)
    X = np.asarray(adata.X)
    adata = adata[X.sum(axis=1) > 0].copy()
    adata = preprint_protocol(adata)
    adata = adata[np.asarray(adata.X).sum(axis=1) > 0].copy()
    adata.uns = {"omics": "microbiome", "units": adata.uns.get("units") or "percent"}
    for column in adata.obs.select_dtypes(include="object").columns:
        adata.obs[column] = adata.obs[column].astype(str)
    cache.mkdir(parents=True, exist_ok=True)
    adata.write_h5ad(path)
    return adata


def split(
    adata: Any,
    group: str | None,
    seed: int,
    test_fraction: float,
    max_train: int | None = None,
) -> tuple[Any, Any]:
    """Seeded split, grouped by subject when ``group`` is a column; at most MAX_TEST held out
    and, with ``max_train``, at most that many training samples (a seeded subsample)."""
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

    n_test = min(MAX_TEST, round(test_fraction * adata.n_obs))
    index = np.arange(adata.n_obs)
    if group and group in adata.obs:
        groups = adata.obs[group].astype(str).to_numpy()
        splitter = GroupShuffleSplit(1, test_size=n_test / adata.n_obs, random_state=seed)
        train, test = next(splitter.split(index, groups=groups))
    else:
        train, test = next(ShuffleSplit(1, test_size=n_test, random_state=seed).split(index))
    if max_train is not None and len(train) > max_train:
        train = np.random.default_rng(seed).choice(train, max_train, replace=False)
    return adata[np.sort(train)].copy(), adata[np.sort(test)].copy()


def reference_cohort(dataset: str, site: Any, test: Any, cache: Path) -> Any:
    """A reference cohort for a split of ``dataset`` (``site``: the whole table), or None.

    HMP body sites: every HMP sample of the other body sites whose subject has no held-out
    sample (``test``). Nielsen: the MetAML stool samples of every study but Nielsen's and
    MetaHIT's. Others have none.
    """
    import anndata as ad

    if dataset == "nielsen_ibd":
        path = cache / "metaml_stool_reference.h5ad"
        if not path.exists():
            table = read_shared("metaml_stool", tree=False)
            studies = table.obs["dataset_name"].astype(str)
            table = table[~studies.isin(["Neilsen_genome_assembly", "metahit"]).to_numpy()]
            table = table[np.asarray(table.X).sum(axis=1) > 0].copy()
            table.obs = table.obs[["dataset_name", "subjectID"]].astype(str)
            table.uns = {"omics": "microbiome", "units": table.uns.get("units")}
            table.write_h5ad(path)
        return ad.read_h5ad(path)
    if "HMPbodysubsite" not in site.obs:
        return None
    path = cache / "hmp_16s_all.h5ad"
    if not path.exists():
        table = read_shared("hmp_16s", tree=False)
        table.obs = table.obs[["HMPbodysubsite", "hostsubjectid"]].astype(str)
        table.uns = {"omics": "microbiome", "units": table.uns.get("units")}
        table.write_h5ad(path)
    table = ad.read_h5ad(path)
    group = shared_dataset(dataset).group
    keep = ~table.obs["HMPbodysubsite"].isin(set(site.obs["HMPbodysubsite"].astype(str)))
    keep &= ~table.obs[group].isin(set(test.obs[group].astype(str)))
    return table[keep.to_numpy()].copy()


def proportions(adata: Any) -> np.ndarray:
    X = np.asarray(adata.X, dtype=np.float64)
    return X / X.sum(axis=1, keepdims=True)


def _c2st(real: np.ndarray, synthetic: np.ndarray, features: str, seed: int) -> float:
    from synthomics.metrics.multivariate import c2st_auc, top_prevalent
    from synthomics.preprocessing.microbiome import clr_transform

    n = min(len(real), len(synthetic))
    both = np.vstack([real[:n], synthetic[:n]])
    columns = top_prevalent(both, C2ST_TAXA)
    if features == "clr":
        X = clr_transform(both)[:, columns]
    elif features == "presence":
        X = (both[:, columns] > 0).astype(float)
    else:  # taxa present in at least 10 % of the samples, so that no fold is all missing
        sub = both[:, columns]
        sub = sub[:, (sub > 0).mean(axis=0) >= 0.1]
        X = np.where(sub > 0, np.log(np.where(sub > 0, sub, 1.0)), np.nan)
    return c2st_auc(X[:n], X[n:], seed=seed)[0]


# feature names of runs written before the diagnosis moved to synthomics.metrics.separation
OLD_NAMES = {
    "shannon": "Shannon index",
    "share at smallest value": "share of taxa at the smallest share",
    "sd log share of present taxa": "sd of log shares of present taxa",
}


def _renamed(feature: str) -> str:
    if feature.endswith(" when present"):
        return feature.replace(" when present", " where present")
    return OLD_NAMES.get(feature, feature)


def judge(
    real: np.ndarray,
    synthetic: np.ndarray,
    train: np.ndarray,
    seed: int,
    privacy: bool = True,
    conditionals: Any = None,
) -> dict[str, float]:
    """The benchmark's metrics of one synthetic set (module docstring).

    ``privacy=False`` (the real-vs-real floor, whose "synthetic" samples are training
    samples) gives NaN for the privacy metrics instead of computing them.
    ``conditionals``: the :class:`~synthomics.metrics.sparsity.PresenceConditionals` of
    ``train`` (fitted here when not given).
    """
    from scipy.stats import wasserstein_distance

    from synthomics.metrics.alpha import shannon
    from synthomics.metrics.prevalence import prevalence_pearson
    from synthomics.metrics.privacy import dcr, hellinger_features, membership_inference_auc
    from synthomics.metrics.sparsity import (
        PresenceConditionals,
        richness_wasserstein,
        zero_fraction_gap,
    )

    if conditionals is None:
        conditionals = PresenceConditionals.fit(train)
    present_r, present_s = real > 0, synthetic > 0
    rare = np.flatnonzero(train.mean(axis=0) < RARE)
    ratios = []
    for j in rare:
        if present_r[:, j].sum() >= 3 and present_s[:, j].sum() >= 3:
            ratios.append(
                np.log(synthetic[present_s[:, j], j].mean() / real[present_r[:, j], j].mean())
            )
    leak = {"dcr_ratio": np.nan, "exact_copies": np.nan, "mia_auc": np.nan}
    if privacy:
        hellinger = [hellinger_features(x) for x in (synthetic, train, real)]
        closest = dcr(*hellinger)
        leak = {
            "dcr_ratio": closest.dcr_ratio,
            "exact_copies": closest.exact_copies,
            "mia_auc": membership_inference_auc(hellinger[1], hellinger[2], hellinger[0]),
        }
    return {
        "c2st": _c2st(real, synthetic, "clr", seed),
        "c2st_presence": _c2st(real, synthetic, "presence", seed),
        "c2st_abundance": _c2st(real, synthetic, "abundance", seed),
        "presence_coherence": conditionals.coherence_gap(real, synthetic),
        "zero_gap_pp": zero_fraction_gap(real, synthetic),
        "prevalence_r": prevalence_pearson(real, synthetic),
        "richness_w1": richness_wasserstein(real, synthetic),
        "shannon_w1": wasserstein_distance(shannon(real), shannon(synthetic)),
        "rare_ratio": float(np.exp(np.mean(ratios))) if ratios else np.nan,
        **leak,
    }


def parse_generators(spec: str, ablation: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in spec.split(";" if "=" in spec else ","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            name, _, rest = item.partition("=")
            registry, _, options = rest.partition(":")
            out[name] = (registry, json.loads(options) if options else {})
        else:
            out[item] = (item, {})
    if ablation:
        for name, change in ABLATIONS.items():
            out[name] = ("diffusion", change)
    return out


def run_one(
    dataset: str, seed: int, generators: dict[str, tuple[str, dict[str, Any]]], args: Any
) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    """All generators on one split: metric rows and the diagnosis AUCs."""
    import torch

    from synthomics.generators import get_generator
    from synthomics.metrics.separation import separating_features
    from synthomics.metrics.sparsity import PresenceConditionals

    torch.set_num_threads(1)
    adata = load_dataset(dataset, Path(args.cache))
    group = shared_dataset(dataset).group
    train, test = split(adata, group, seed, args.test_fraction, args.max_train)
    real, P_train = proportions(test), proportions(train)
    conditionals = PresenceConditionals.fit(P_train)
    rows: list[dict[str, Any]] = []
    diagnosis: dict[str, dict[str, float]] = {}
    names = list(map(str, adata.var_names))
    rng = np.random.default_rng(seed)
    size = min(len(P_train), len(real))
    floors = [P_train[rng.choice(len(P_train), size, replace=False)] for _ in range(args.draws)]
    sets = {"real (floor)": (floors, 0.0, 0.0)}
    for name, (registry, options) in generators.items():
        options = dict(options)
        reference = None
        if options.pop("reference", False):
            reference = reference_cohort(dataset, adata, test, Path(args.cache))
            if reference is None:
                print(f"{dataset}: no reference cohort, {name} fitted without one", flush=True)
        model = get_generator(registry, seed=seed, progress=False, **options)
        start = time.perf_counter()
        if reference is None:
            model.fit(train)
        else:
            model.fit(train, reference=reference)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        draws = [proportions(model.sample(test.n_obs, seed=seed + 1000))]
        sample_seconds = time.perf_counter() - start
        draws += [
            proportions(model.sample(test.n_obs, seed=seed + 1000 + k))
            for k in range(1, args.draws)
        ]
        sets[name] = (draws, fit_seconds, sample_seconds)
        if registry == "diffusion" and args.calibration_ablation:
            sets.update(calibration_variants(model, name, test.n_obs, seed, args.draws))
    for name, (draws, fit_seconds, sample_seconds) in sets.items():
        judged = []
        for k, Q in enumerate(draws):
            try:  # each draw with its own classifier folds
                judged.append(
                    judge(
                        real,
                        Q,
                        P_train,
                        seed + DRAW_SEED_STEP * k,
                        name != "real (floor)",
                        conditionals,
                    )
                )
            except ValueError as exc:  # one failed metric must not lose the whole run
                print(f"{dataset} seed {seed} {name} draw {k}: not judged ({exc})", flush=True)
        if not judged:
            continue
        values = {key: _mean_of_draws([j[key] for j in judged]) for key in judged[0]}
        values |= {"fit_seconds": fit_seconds, "sample_seconds": sample_seconds}
        rows += [
            {"dataset": dataset, "seed": seed, "generator": name, "metric": k, "value": v}
            for k, v in values.items()
        ]
        diagnosis[name] = {f.feature: f.auc for f in separating_features(real, draws[0], names)}
        print(
            f"{dataset} seed {seed} {name}: c2st {values['c2st']:.3f} presence "
            f"{values['c2st_presence']:.3f} abundance {values['c2st_abundance']:.3f} "
            f"coherence {values['presence_coherence']:+.2f} "
            f"rare {values['rare_ratio']:.2f} fit {fit_seconds:.0f} s",
            flush=True,
        )
    return rows, diagnosis


def _mean_of_draws(values: list[float]) -> float:
    """Mean over the draws that have the metric (NaN, without a warning, when none has)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values[~np.isnan(values)].mean()) if not np.isnan(values).all() else np.nan


def calibration_variants(
    model: Any, name: str, n: int, seed: int, draws: int
) -> dict[str, tuple[list[np.ndarray], float, float]]:
    """The same trained network sampled without each of its decoder calibrations."""
    import torch

    def sample() -> list[np.ndarray]:
        return [proportions(model.sample(n, seed=seed + 1000 + k)) for k in range(draws)]

    out = {}
    calibration, spread, evenness = model.calibration_, model.presence_sd_, model.evenness_
    model.evenness_ = None
    out[f"{name} − evenness calibration"] = sample()
    model.evenness_, model.calibration_ = evenness, None
    out[f"{name} − abundance calibration"] = sample()
    model.calibration_, model.presence_sd_ = calibration, 0.0
    out[f"{name} − richness spread"] = sample()
    bias = model.module_.presence.readout.bias
    with torch.no_grad():
        bias -= torch.from_numpy(model.presence_bias_shift_).float()
    model.calibration_, model.evenness_ = None, None
    out[f"{name} − all calibration"] = sample()
    with torch.no_grad():
        bias += torch.from_numpy(model.presence_bias_shift_).float()
    model.calibration_, model.presence_sd_, model.evenness_ = calibration, spread, evenness
    return {key: (value, np.nan, np.nan) for key, value in out.items()}


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval."""
    from scipy.stats import t

    values = values[~np.isnan(values)]
    mean = float(values.mean()) if len(values) else np.nan
    if len(values) < 2:
        return mean, np.nan, np.nan
    half = t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def summary_table(frame: pd.DataFrame, reference: str) -> str:
    """Markdown: mean [95 % interval] per dataset x generator, and paired C2ST differences."""
    lines = []
    shown = [m for m in METRICS if m in set(frame.metric)]
    for dataset, block in frame.groupby("dataset", sort=False):
        seeds = sorted(set(block.seed))
        lines += [f"### {dataset} ({len(seeds)} seeds)", ""]
        lines.append("| generator | " + " | ".join(shown) + f" | C2ST − {reference} |")
        lines.append("|---" * (len(shown) + 2) + "|")
        wide = block.pivot_table(index=["generator", "seed"], columns="metric", values="value")
        for generator in dict.fromkeys(block.generator):
            cells = []
            for metric in shown:
                values = wide.loc[generator][metric].to_numpy() if metric in wide else []
                mean, low, high = interval(np.asarray(values, dtype=float))
                if np.isnan(mean):
                    cells.append("")
                elif metric == "c2st" and not np.isnan(low):
                    cells.append(f"{mean:.3f} [{low:.3f}, {high:.3f}]")
                else:
                    cells.append(f"{mean:.3g}")
            diff = ""
            if reference in wide.index.get_level_values(0) and generator != reference:
                paired = (wide.loc[generator]["c2st"] - wide.loc[reference]["c2st"]).to_numpy()
                mean, low, high = interval(paired)
                if not np.isnan(low):
                    verdict = "better" if high < 0 else "worse" if low > 0 else "within noise"
                    diff = f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] {verdict}"
            lines.append(f"| {generator} | " + " | ".join(cells) + f" | {diff} |")
        lines.append("")
    lines += pooled_lines(frame, reference)
    return "\n".join(lines)


def pooled_lines(frame: pd.DataFrame, reference: str) -> list[str]:
    """All datasets together: the paired C2ST difference over every dataset and seed, the
    number of datasets with the difference's interval below / above zero, and the worst
    seed's zero-fraction gap."""
    wide = frame.pivot_table(
        index=["dataset", "generator", "seed"], columns="metric", values="value"
    )
    lines = [
        "### all datasets",
        "",
        f"| generator | C2ST − {reference}, all dataset-seed pairs | datasets better / "
        "within noise / worse | largest zero gap of any seed (pp) |",
        "|---|---|---|---|",
    ]
    datasets = list(dict.fromkeys(frame.dataset))
    for generator in dict.fromkeys(frame.generator):
        diffs, verdicts = [], {"better": 0, "within noise": 0, "worse": 0}
        for dataset in datasets:
            try:
                mine = wide.loc[(dataset, generator)]["c2st"]
                theirs = wide.loc[(dataset, reference)]["c2st"]
            except KeyError:
                continue
            paired = (mine - theirs).dropna().to_numpy()
            diffs += list(paired)
            _, low, high = interval(paired)
            if not np.isnan(low) and generator != reference:
                verdicts["better" if high < 0 else "worse" if low > 0 else "within noise"] += 1
        gaps = wide.xs(generator, level="generator")["zero_gap_pp"].dropna()
        mean, low, high = interval(np.asarray(diffs, dtype=float))
        cell = "" if np.isnan(low) else f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] (n = {len(diffs)})"
        counts = "" if generator == reference else " / ".join(map(str, verdicts.values()))
        worst = f"{gaps.max():.2f}" if len(gaps) else ""
        lines.append(f"| {generator} | {cell} | {counts} | {worst} |")
    return [*lines, ""]


def diagnosis_table(diagnoses: list[tuple[str, dict[str, dict[str, float]]]], top: int) -> str:
    """Markdown: what separates each generator's samples from real ones, beside the floor.

    Per dataset, the univariate AUC of each sample summary (mean over seeds) for the floor
    and every generator; then, per generator, the taxon features whose AUC exceeds the
    floor's AUC for the same feature the most.
    """
    merged: dict[str, dict[str, dict[str, list[float]]]] = {}
    for dataset, per_generator in diagnoses:
        for generator, aucs in per_generator.items():
            bucket = merged.setdefault(dataset, {}).setdefault(generator, {})
            for feature, auc in aucs.items():
                bucket.setdefault(_renamed(feature), []).append(auc)
    from synthomics.metrics.separation import SUMMARIES

    names = list(SUMMARIES)
    lines = []
    for dataset, generators in merged.items():
        lines += [f"### {dataset}", ""]
        lines.append("| sample summary | " + " | ".join(generators) + " |")
        lines.append("|---" * (len(generators) + 1) + "|")
        for name in names:
            cells = [f"{np.mean(g.get(name, [np.nan])):.2f}" for g in generators.values()]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        floor = {k: np.mean(v) for k, v in generators.get("real (floor)", {}).items()}
        for generator, features in generators.items():
            if generator == "real (floor)":
                continue
            excess = {
                k: np.mean(v) - floor.get(k, 0.5) for k, v in features.items() if k not in names
            }
            ranked = sorted(excess.items(), key=lambda kv: -kv[1])[:top]
            text = "; ".join(
                f"{k} {np.mean(features[k]):.2f} (floor {floor.get(k, 0.5):.2f})" for k, _ in ranked
            )
            lines.append(f"- {generator}, taxa beyond the floor: {text}")
        lines.append("")
    return "\n".join(lines)


def outcomes(
    jobs: list[tuple[str, int]], generators: dict[str, tuple[str, dict[str, Any]]], args: Any
) -> Any:
    """``(dataset, run_one(...))`` of every job in order; in worker processes if ``--jobs`` > 1."""
    if args.jobs <= 1:
        for dataset, seed in jobs:
            yield dataset, run_one(dataset, seed, generators, args)
        return
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [(d, pool.submit(run_one, d, s, generators, args)) for d, s in jobs]
        for dataset, future in futures:
            yield dataset, future.result()


def write_tables(
    out: Path,
    rows: list[dict[str, Any]],
    diagnoses: list[tuple[str, dict[str, dict[str, float]]]],
    args: Any,
) -> None:
    """``runs.csv``, ``summary.md``, ``diagnosis.md`` and ``diagnosis.json`` of ``rows``."""
    frame = pd.DataFrame(rows)
    frame.to_csv(out / "runs.csv", index=False)
    (out / "summary.md").write_text(summary_table(frame, args.reference))
    (out / "diagnosis.md").write_text(diagnosis_table(diagnoses, args.top))
    (out / "diagnosis.json").write_text(json.dumps(diagnoses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--generators", default="diffusion,midasim,independent")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument(
        "--calibration-ablation",
        action="store_true",
        help="also sample each diffusion model without its decoder calibrations",
    )
    parser.add_argument(
        "--combine",
        nargs="*",
        default=[],
        help="earlier output folders whose runs are merged into this one's tables",
    )
    parser.add_argument("--reference", default="midasim")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="at most this many training samples per split (a seeded subsample)",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=5,
        help="synthetic sets per split (and floor subsamples); metrics are their mean",
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--top", type=int, default=6, help="features in the diagnosis")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "synthomics-benchmarks"))
    parser.add_argument("--out", default="benchmarks/results/microbiome_c2st")
    args = parser.parse_args()
    generators = parse_generators(args.generators, args.ablation)
    datasets = [d for d in args.datasets.split(",") if d]
    known = DATASETS + HELD_OUT_DATASETS + LARGE_DATASETS
    unknown = sorted(set(datasets) - set(known))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {', '.join(known)}")
    for dataset in datasets:  # fill the cache once, before the workers read it
        load_dataset(dataset, Path(args.cache))
    jobs = [(d, s) for d in datasets for s in args.seeds]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    diagnoses: list[tuple[str, dict[str, dict[str, float]]]] = []
    for folder in args.combine:
        rows += pd.read_csv(Path(folder) / "runs.csv").to_dict("records")
        diagnoses += [tuple(d) for d in json.loads((Path(folder) / "diagnosis.json").read_text())]
    config: dict[str, Any] = {"combined": args.combine} if args.combine else {}
    if jobs:  # what ran here (the combined folders hold their own config.json)
        config.update(generators=generators, seeds=args.seeds, datasets=datasets, draws=args.draws)
    (out / "config.json").write_text(json.dumps(config))
    for dataset, (new_rows, diagnosis) in outcomes(jobs, generators, args):
        rows += new_rows
        diagnoses.append((dataset, diagnosis))
        write_tables(out, rows, diagnoses, args)
    if not jobs:
        write_tables(out, rows, diagnoses, args)
    print((out / "summary.md").read_text())


if __name__ == "__main__":
    main()
