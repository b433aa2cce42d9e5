"""Fit and sample time and peak memory of every baseline generator on the shared datasets.

For each shared dataset (``benchmarks/shared_data.py``) and each generator, a fresh subprocess
fits the generator to the whole table and draws as many samples as the table has, and
reports

* ``fit_s`` / ``sample_s``: wall-clock seconds of ``fit`` and ``sample``;
* ``fit_peak_mib`` / ``sample_peak_mib``: peak of Python-visible allocations (NumPy arrays
  included) during each call, from :mod:`tracemalloc`;
* ``max_rss_mib``: the subprocess's peak resident memory (``ru_maxrss``), data included;
* ``data_rss_mib``: resident memory right after the data were loaded, for reference.

Each worker first fits and samples on a 40-sample slice, so that first imports are not
timed.

Each subprocess runs with one BLAS/OpenMP thread. The tables are read once with
:func:`synthomics.io.microbiome.read_microbiome` (MetAML: species rows) and cached as
``.h5ad`` for the workers. Every generator fits all taxa: the copulas use their low-rank
forms above 1,000 taxa (rank 200), no prevalence filter is applied.

With ``--evaluate`` the script also fits each generator on a seeded 80/20 split of the
Nielsen IBD table (conditioned on ``disease``), draws the test split's size per level and
reports the evaluation suite's headline metrics against the held-out test split
(:func:`synthomics.metrics.evaluate`), with the real-vs-real floor.

Usage::

    python benchmarks/generators.py --out benchmarks/results/generators [--evaluate]
        [--datasets nielsen_ibd,twins] [--models ziln_copula,dmm]

Writes ``OUT.json`` (all records) and ``OUT.md`` (the tables).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from shared_data import read_shared

REPO = Path(__file__).resolve().parents[1]
BASELINES = ("ziln_copula", "midasim", "dmm", "independent", "bootstrap")
THREADS = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
DATASETS = ("nielsen_ibd", "twins", "global_patterns", "hmp_16s", "metaml")


def read_dataset(name: str):
    """Read one shared dataset into a microbiome AnnData, its reader's warnings silenced."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_shared(name)


def cache_dataset(name: str, cache: Path) -> Path:
    """Read ``name`` once and keep it as ``.h5ad`` (metadata as strings) for the workers."""
    target = cache / f"{name}.h5ad"
    if not target.exists():
        adata = read_dataset(name)
        adata.obs = adata.obs.astype(str)
        adata.write_h5ad(target)
    return target


# --------------------------------------------------------------------------- worker


def worker(h5ad: Path, model: str, out: Path) -> None:
    """Fit and sample one generator in this (fresh) process and write a JSON record."""
    import resource
    import tracemalloc

    import anndata as ad

    from synthomics.generators import get_generator

    adata = ad.read_h5ad(h5ad)
    data_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # warm-up on a slice, so that imports (scikit-learn, SciPy) are not timed
    get_generator(model, seed=0, progress=False).fit(adata[:40].copy()).sample(5, seed=0)
    generator = get_generator(model, seed=0, progress=False)
    tracemalloc.start()
    started = time.perf_counter()
    generator.fit(adata)
    fit_s = time.perf_counter() - started
    fit_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.reset_peak()
    started = time.perf_counter()
    synthetic = generator.sample(adata.n_obs, seed=1)
    sample_s = time.perf_counter() - started
    sample_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    record = {
        "n_samples": int(adata.n_obs),
        "n_taxa": int(adata.n_vars),
        "units": str(adata.uns.get("units")),
        "fit_s": fit_s,
        "sample_s": sample_s,
        "fit_peak_mib": fit_peak,
        "sample_peak_mib": sample_peak,
        "data_rss_mib": data_rss,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "synthetic_zero_fraction": float((synthetic.X == 0).mean()),
        "info": getattr(generator, "levels_", [None])[0].info
        if hasattr(generator, "levels_")
        else {},
    }
    out.write_text(json.dumps(record))


def run_worker(h5ad: Path, model: str, timeout: float) -> dict[str, Any]:
    """Run :func:`worker` in a subprocess; failures become records with an ``error``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "record.json"
        command = [sys.executable, __file__, "--worker", str(h5ad), model, str(out)]
        try:
            done = subprocess.run(
                command,
                env={**os.environ, **THREADS},
                timeout=timeout,
                capture_output=True,
                text=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return {"error": f"exit {done.returncode}: " + " | ".join(tail)}
        return json.loads(out.read_text())


# --------------------------------------------------------------------------- evaluation


def evaluate_on_nielsen(models: list[str], seed: int = 0) -> dict[str, Any]:
    """Headline metrics of each generator on the Nielsen test split (80/20, seeded)."""
    from synthomics.generators import get_generator
    from synthomics.metrics import evaluate
    from synthomics.preprocessing.split import train_test_split
    from synthomics.report.microbiome_figures import HEADLINE

    adata = read_dataset("nielsen_ibd")
    train, test = train_test_split(adata, test_fraction=0.2, seed=seed, stratify="disease")
    wanted = test.obs["disease"].astype(str).value_counts().to_dict()
    synthetic, timings = {}, {}
    for model in models:
        started = time.perf_counter()
        generator = get_generator(model, seed=seed, progress=False).fit(train, condition="disease")
        fitted = time.perf_counter()
        synthetic[model] = generator.sample(conditions={"disease": wanted}, seed=seed + 1)
        timings[model] = {"fit_s": fitted - started, "sample_s": time.perf_counter() - fitted}
    result = evaluate(test, synthetic, train=train, label="disease", seed=seed)
    metrics = [m for m in HEADLINE if any(s.name == m for s in result.specs)]
    table: dict[str, Any] = {"metrics": metrics, "sets": {}, "floor": {}, "better": {}}
    for spec in result.specs:
        if spec.name in metrics:
            table["better"][spec.name] = spec.arrow
    for model in models:
        table["sets"][model] = {m: result.value(model, m) for m in metrics}
    for m in metrics:
        record = result.result(models[0], m)
        table["floor"][m] = record.floor
    table["timings"] = timings
    table["split"] = {"train": int(train.n_obs), "test": int(test.n_obs), "seed": seed}
    return table


# --------------------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(
    records: list[dict[str, Any]], evaluation: dict[str, Any] | None, header: dict[str, Any]
) -> str:
    lines = [
        "# Generator benchmark",
        "",
        f"Machine: {header['machine']}; {header['cpus']} CPUs shared with other jobs "
        f"(load average at start {header['load']}), 1 BLAS thread per run, so times are "
        "noisy upper bounds. Peak memory: tracemalloc peak of the call / process max RSS "
        "(data included). Sample size = training size.",
        "",
        "| dataset | n x taxa | generator | fit s | sample s | fit peak MiB | "
        "sample peak MiB | max RSS MiB | notes |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in records:
        shape = f"{r.get('n_samples', '?')} x {r.get('n_taxa', '?')}"
        note = r.get("error", "") or ", ".join(
            f"{k}={_fmt(v)}" for k, v in (r.get("info") or {}).items()
        )
        lines.append(
            f"| {r['dataset']} | {shape} | {r['generator']} | {_fmt(r.get('fit_s'))} | "
            f"{_fmt(r.get('sample_s'))} | {_fmt(r.get('fit_peak_mib'))} | "
            f"{_fmt(r.get('sample_peak_mib'))} | {_fmt(r.get('max_rss_mib'))} | {note} |"
        )
    if evaluation:
        metrics = evaluation["metrics"]
        lines += [
            "",
            f"## Headline metrics on Nielsen IBD (test split, {evaluation['split']['test']} "
            f"samples; fitted on {evaluation['split']['train']}, conditioned on disease)",
            "",
            "| generator | "
            + " | ".join(f"{m} {evaluation['better'].get(m, '')}" for m in metrics)
            + " |",
            "|---|" + "---:|" * len(metrics),
            "| real-vs-real floor | "
            + " | ".join(_fmt(evaluation["floor"].get(m)) for m in metrics)
            + " |",
        ]
        for model, values in evaluation["sets"].items():
            lines.append(f"| {model} | " + " | ".join(_fmt(values.get(m)) for m in metrics) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/generators"))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--models", default=",".join(BASELINES))
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--cache", default=None, help="Folder for the cached .h5ad tables.")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.datasets.split(",")) - set(DATASETS))
    if unknown:
        parser.error(f"unknown datasets {unknown}; choose from {', '.join(DATASETS)}")
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1], Path(args.worker[2]))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="synthomics-bench-"))
    cache.mkdir(parents=True, exist_ok=True)
    header = {
        "machine": f"{platform.machine()} {platform.system()}",
        "cpus": os.cpu_count(),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    records: list[dict[str, Any]] = []
    for name in args.datasets.split(","):
        h5ad = cache_dataset(name, cache)
        for model in args.models.split(","):
            print(f"{name} / {model} ...", flush=True)
            record = {"dataset": name, "generator": model, **run_worker(h5ad, model, args.timeout)}
            records.append(record)
            print(f"  {json.dumps(record)}", flush=True)
            out.with_suffix(".json").write_text(
                json.dumps({"header": header, "records": records}, indent=1)
            )
    evaluation = None
    if args.evaluate:
        print("evaluating on nielsen_ibd ...", flush=True)
        evaluation = evaluate_on_nielsen(args.models.split(","))
    header["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    out.with_suffix(".json").write_text(
        json.dumps(
            {"header": header, "records": records, "evaluation": evaluation}, indent=1, default=str
        )
    )
    out.with_suffix(".md").write_text(markdown(records, evaluation, header))
    print(out.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
