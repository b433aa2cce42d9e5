"""Downstream benchmark of microbiome embeddings on the MetAML table.

Question: does a representation pretrained without labels on other cohorts predict host
traits better than the raw abundances when a study is small, and does it transfer across
cohorts?

Protocol
    * **Folds.** Cohorts used by a task are never seen in pretraining. The evaluation
      cohorts form four folds (:data:`METAML_FOLDS`); for each fold a model is pretrained
      on every other sample of the table, excluding samples whose ``sampleID`` or
      ``subjectID`` also occurs in the fold (MetAML repeats MetaHIT samples across the
      Nielsen, MetaHIT and Le Chatelier cohorts).
    * **Within-cohort tasks** (:func:`metaml_tasks`): age and BMI as regression (Pearson
      r), each disease against healthy controls as classification (AUROC and PR-AUC). For
      each of ``n_draws`` random draws, 30 % of the subjects (stratified by class) form a
      test set and the rest a training pool; training sets of 25, 50, 100, 200 samples
      (stratified) and the whole pool are drawn from the pool; every feature set is scored
      on the same test set (paired comparisons).
    * **Cross-cohort tasks**: train on all of one cohort, test on another (samples shared
      with the training cohort removed); 95 % intervals by a paired bootstrap of the test
      samples.
    * **Features and learners.** ``mae``: the embeddings of the default
      :class:`~synthomics.embeddings.model.MicrobiomeMAE` (CLR input, standardised
      encoder input, 30 % + 30 % masking, one 1024-wide encoder layer, 60 epochs) with
      ridge regression / L2 logistic regression (penalty chosen by inner
      cross-validation; features standardised), the standard linear probe of
      representation learning. ``log_abundance``: the field's standard
      baseline, log10 relative abundance with the 1e-4 detection floor (the same transform
      the autoencoder reads), same learners. ``rf_relative``: random forest on relative
      abundances (the MetAML paper's learner). Optional ``pca``: the first principal
      components of the log abundances, fitted on the same pretraining samples (a linear
      unsupervised control of the same width).
    * **Summary.** Means over draws with 95 % t-intervals, and the paired difference
      embedding minus baseline with its own 95 % t-interval (bootstrap for cross-cohort).

The functions take an AnnData (samples x species, MetAML metadata in ``obs``) so that the
file is read once, by :func:`synthomics.io.read`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["classification", "regression"]

METAML_FOLDS: dict[str, tuple[str, ...]] = {
    "cirrhosis": ("Quin_gut_liver_cirrhosis",),
    "t2d": ("WT2D", "t2dmeta_long", "t2dmeta_short"),
    "ibd_obesity": ("Neilsen_genome_assembly", "metahit", "Chatelier_gut_obesity"),
    "crc": ("Zeller_fecal_colorectal_cancer",),
}
"""Evaluation folds: cohorts held out of pretraining together."""

SIZES: tuple[int | None, ...] = (25, 50, 100, 200, None)
"""Training-set sizes; ``None`` is the whole training pool ("all")."""


@dataclass(frozen=True)
class Task:
    """A prediction target on a set of cohorts (within-cohort) or from one cohort to
    another (``test_cohorts`` set)."""

    name: str
    target: str
    kind: Kind
    cohorts: tuple[str, ...]
    fold: str
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ("n",)
    test_cohorts: tuple[str, ...] = ()

    @property
    def cross_cohort(self) -> bool:
        return bool(self.test_cohorts)


def metaml_tasks() -> tuple[list[Task], list[Task]]:
    """The within-cohort and cross-cohort tasks of the MetAML benchmark."""
    quin, zeller = ("Quin_gut_liver_cirrhosis",), ("Zeller_fecal_colorectal_cancer",)
    t2dmeta = ("t2dmeta_long", "t2dmeta_short")
    nielsen, chatelier = ("Neilsen_genome_assembly",), ("Chatelier_gut_obesity",)
    ibd = ("ibd_ulcerative_colitis", "ibd_crohn_disease")
    within = [
        Task("cirrhosis", "disease", "classification", quin, "cirrhosis", ("cirrhosis",)),
        Task("t2d", "disease", "classification", ("WT2D", *t2dmeta), "t2d", ("t2d",)),
        Task("ibd", "disease", "classification", nielsen, "ibd_obesity", ibd),
        Task(
            "obesity",
            "disease",
            "classification",
            chatelier,
            "ibd_obesity",
            ("obesity",),
            ("leaness",),
        ),
        Task("crc", "disease", "classification", zeller, "crc", ("cancer",)),
        Task("age@cirrhosis", "age", "regression", quin, "cirrhosis"),
        Task("age@t2dmeta", "age", "regression", t2dmeta, "t2d"),
        Task("age@nielsen", "age", "regression", nielsen, "ibd_obesity"),
        Task("age@crc", "age", "regression", zeller, "crc"),
        Task("bmi@cirrhosis", "bmi", "regression", quin, "cirrhosis"),
        Task("bmi@t2dmeta", "bmi", "regression", t2dmeta, "t2d"),
        Task("bmi@obesity", "bmi", "regression", chatelier, "ibd_obesity"),
        Task("bmi@crc", "bmi", "regression", zeller, "crc"),
    ]
    cross = [
        Task(
            "t2d:t2dmeta->WT2D",
            "disease",
            "classification",
            ("t2dmeta_long",),
            "t2d",
            ("t2d",),
            test_cohorts=("WT2D",),
        ),
        Task(
            "t2d:WT2D->t2dmeta",
            "disease",
            "classification",
            ("WT2D",),
            "t2d",
            ("t2d",),
            test_cohorts=("t2dmeta_long",),
        ),
        Task(
            "ibd:metahit->nielsen",
            "disease",
            "classification",
            ("metahit",),
            "ibd_obesity",
            ibd,
            test_cohorts=nielsen,
        ),
        Task(
            "bmi:t2dmeta->WT2D",
            "bmi",
            "regression",
            ("t2dmeta_long",),
            "t2d",
            test_cohorts=("WT2D",),
        ),
        Task(
            "bmi:WT2D->t2dmeta",
            "bmi",
            "regression",
            ("WT2D",),
            "t2d",
            test_cohorts=("t2dmeta_long",),
        ),
        Task(
            "bmi:obesity->nielsen",
            "bmi",
            "regression",
            chatelier,
            "ibd_obesity",
            test_cohorts=nielsen,
        ),
        Task(
            "bmi:nielsen->obesity",
            "bmi",
            "regression",
            nielsen,
            "ibd_obesity",
            test_cohorts=chatelier,
        ),
    ]
    return within, cross


# --- data ------------------------------------------------------------------------------
def _ids(obs: pd.DataFrame, column: str) -> pd.Series:
    if column not in obs.columns:
        return pd.Series([None] * len(obs), index=obs.index, dtype=object)
    values = obs[column].astype(str).str.strip().str.lower()
    return values.where(~values.isin(["", "nan", "nd", "na", "-", "none"]), None)


def pretraining_mask(
    obs: pd.DataFrame, fold_cohorts: Iterable[str], cohort_column: str = "dataset_name"
) -> np.ndarray:
    """Samples that may be used to pretrain for a fold: outside its cohorts and sharing no
    ``sampleID``/``subjectID`` with it."""
    in_fold = obs[cohort_column].astype(str).isin(list(fold_cohorts)).to_numpy()
    keep = ~in_fold
    for column in ("sampleID", "subjectID"):
        ids = _ids(obs, column)
        held = set(ids[in_fold].dropna())
        keep &= ~ids.isin(held).to_numpy()
    return keep


def task_samples(
    obs: pd.DataFrame, task: Task, cohorts: Sequence[str], cohort_column: str = "dataset_name"
) -> tuple[np.ndarray, np.ndarray]:
    """Row positions and targets of a task's samples in ``cohorts``."""
    in_cohort = obs[cohort_column].astype(str).isin(list(cohorts)).to_numpy()
    if task.kind == "classification":
        label = obs[task.target].astype(str).str.strip()
        pos, neg = label.isin(task.positive).to_numpy(), label.isin(task.negative).to_numpy()
        rows = np.flatnonzero(in_cohort & (pos | neg))
        return rows, pos[rows].astype(int)
    values = pd.to_numeric(obs[task.target], errors="coerce").to_numpy(dtype=float)
    rows = np.flatnonzero(in_cohort & np.isfinite(values))
    return rows, values[rows]


def _groups(obs: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    subject = _ids(obs, "subjectID").to_numpy()[rows]
    fallback = np.asarray(obs.index[rows]).astype(str)
    return np.where(pd.isna(subject), fallback, subject).astype(str)


def split_draw(
    y: np.ndarray, groups: np.ndarray, kind: Kind, seed: int, test_fraction: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Training pool and test positions (into ``y``): whole subjects go to one side;
    classification splits each class's subjects separately."""
    rng = np.random.default_rng(seed)
    strata = y if kind == "classification" else np.zeros(len(y), dtype=int)
    test = np.zeros(len(y), dtype=bool)
    for stratum in np.unique(strata):
        members = np.unique(groups[strata == stratum])
        chosen = rng.permutation(members)[: max(1, round(test_fraction * len(members)))]
        test |= np.isin(groups, chosen) & (strata == stratum)
    return np.flatnonzero(~test), np.flatnonzero(test)


def training_subset(
    pool: np.ndarray, y: np.ndarray, size: int | None, kind: Kind, rng: np.random.Generator
) -> np.ndarray | None:
    """``size`` positions from ``pool`` (stratified for classification; at least 3 per
    class); the whole pool for ``None``; ``None`` when the pool is too small."""
    if size is None:
        return pool
    if size > len(pool):
        return None
    if kind == "regression":
        return rng.choice(pool, size=size, replace=False)
    classes = [pool[y[pool] == c] for c in (0, 1)]
    n1 = round(size * len(classes[1]) / len(pool))
    n1 = min(max(n1, 3), size - 3, len(classes[1]))
    n0 = size - n1
    if n0 > len(classes[0]) or n1 < 3 or n0 < 3:
        return None
    return np.concatenate(
        [rng.choice(classes[0], n0, replace=False), rng.choice(classes[1], n1, replace=False)]
    )


# --- learners and metrics ----------------------------------------------------------------
Learner = Literal["linear", "linear_unscaled", "forest"]
"""``linear``: ridge / L2 logistic regression on standardised features;
``linear_unscaled``: the same learners on the features as they are; ``forest``: random
forest."""
FOREST_TREES = 300
"""Trees of the random-forest baseline."""


def _l2_only() -> dict[str, Any]:
    """Pure-L2 options of LogisticRegressionCV in the spelling of the installed sklearn."""
    import inspect

    from sklearn.linear_model import LogisticRegressionCV

    parameters = inspect.signature(LogisticRegressionCV).parameters
    if "use_legacy_attributes" in parameters:  # sklearn >= 1.8
        return {"l1_ratios": (0.0,), "use_legacy_attributes": False}
    return {"penalty": "l2"}


_L2_ONLY = _l2_only()


def fit_predict(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    kind: Kind,
    learner: Learner,
    seed: int,
) -> np.ndarray:
    """Fit a learner and predict the test samples (probabilities of class 1 for
    classification)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if learner == "forest":
        cls = RandomForestClassifier if kind == "classification" else RandomForestRegressor
        model = cls(n_estimators=FOREST_TREES, max_features="sqrt", n_jobs=1, random_state=seed)
    elif kind == "regression":
        scaler = StandardScaler() if learner == "linear" else "passthrough"
        model = make_pipeline(scaler, RidgeCV(alphas=np.logspace(-2, 5, 15)))
    else:
        folds = min(3, int(np.bincount(y_train.astype(int)).min()))
        model = make_pipeline(
            StandardScaler() if learner == "linear" else "passthrough",
            LogisticRegressionCV(
                Cs=np.logspace(-4, 1, 6),
                cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                scoring="roc_auc",
                max_iter=2000,
                **_L2_ONLY,
            ),
        )
    model.fit(X_train, y_train)
    if kind == "classification":
        return model.predict_proba(X_test)[:, 1]
    return model.predict(X_test)


def score(y: np.ndarray, prediction: np.ndarray, kind: Kind) -> dict[str, float]:
    """AUROC and PR-AUC (average precision) for classification, Pearson r for regression."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if kind == "classification":
        if len(np.unique(y)) < 2:
            return {"auroc": math.nan, "pr_auc": math.nan}
        return {
            "auroc": float(roc_auc_score(y, prediction)),
            "pr_auc": float(average_precision_score(y, prediction)),
        }
    if np.std(prediction) == 0 or np.std(y) == 0:
        return {"pearson_r": 0.0}
    return {"pearson_r": float(np.corrcoef(y, prediction)[0, 1])}


# --- feature sets ------------------------------------------------------------------------
@dataclass
class FeatureSet:
    """A feature matrix (all samples of the table) and the learner that reads it."""

    name: str
    matrix: np.ndarray
    learner: Learner = "linear"


# --- running -------------------------------------------------------------------------------
@dataclass
class BenchmarkResult:
    """Per-draw records and their summary."""

    records: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict[str, Any] = field(default_factory=dict)


def evaluate_within(
    obs: pd.DataFrame,
    task: Task,
    features: Mapping[str, FeatureSet],
    *,
    sizes: Sequence[int | None] = SIZES,
    n_draws: int = 10,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Score every feature set on every draw and training size of a within-cohort task."""
    rows, y = task_samples(obs, task, task.cohorts)
    groups = _groups(obs, rows)
    records = []
    for draw in range(n_draws):
        pool, test = split_draw(y, groups, task.kind, seed + draw)
        rng = np.random.default_rng(10_000 + seed + draw)
        for size in sizes:
            train = training_subset(pool, y, size, task.kind, rng)
            if train is None:
                continue
            for fs in features.values():
                X = fs.matrix[rows]
                prediction = fit_predict(
                    X[train], y[train], X[test], task.kind, fs.learner, seed + draw
                )
                for metric, value in score(y[test], prediction, task.kind).items():
                    records.append(
                        {
                            "task": task.name,
                            "kind": task.kind,
                            "fold": task.fold,
                            "draw": draw,
                            "size": "all" if size is None else int(size),
                            "n_train": len(train),
                            "n_test": len(test),
                            "features": fs.name,
                            "metric": metric,
                            "value": value,
                        }
                    )
            if on_step:
                on_step()
    return records


def evaluate_cross(
    obs: pd.DataFrame,
    task: Task,
    features: Mapping[str, FeatureSet],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Train on ``task.cohorts``, test on ``task.test_cohorts`` (shared samples removed).

    Returns the records and, per feature set, the test predictions (for the bootstrap)."""
    train_rows, y_train = task_samples(obs, task, task.cohorts)
    test_rows, y_test = task_samples(obs, task, task.test_cohorts)
    shared = set()
    for column in ("sampleID", "subjectID"):
        ids = _ids(obs, column).to_numpy()
        shared |= {i for i in ids[train_rows] if i is not None}
    for column in ("sampleID", "subjectID"):
        ids = _ids(obs, column).to_numpy()[test_rows]
        keep = np.array([i is None or i not in shared for i in ids])
        test_rows, y_test = test_rows[keep], y_test[keep]
    predictions, records = {}, []
    for fs in features.values():
        prediction = fit_predict(
            fs.matrix[train_rows], y_train, fs.matrix[test_rows], task.kind, fs.learner, seed
        )
        predictions[fs.name] = prediction
        for metric, value in score(y_test, prediction, task.kind).items():
            records.append(
                {
                    "task": task.name,
                    "kind": task.kind,
                    "fold": task.fold,
                    "draw": 0,
                    "size": "cross",
                    "n_train": len(train_rows),
                    "n_test": len(test_rows),
                    "features": fs.name,
                    "metric": metric,
                    "value": value,
                }
            )
    predictions["__y__"] = y_test
    return records, predictions


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of ``values`` (NaNs dropped)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return mean, mean - half, mean + half


def summarize_within(
    records: pd.DataFrame, embedding: str, baselines: Sequence[str]
) -> pd.DataFrame:
    """Mean and 95 % CI per (task, size, metric, features), and the paired difference of
    ``embedding`` minus each baseline."""
    out = []
    keys = ["task", "kind", "size", "metric"]
    for key, group in records.groupby(keys, sort=False):
        wide = group.pivot_table(index="draw", columns="features", values="value")
        row = dict(zip(keys, key, strict=True))
        row["n_draws"] = len(wide)
        row["n_train"] = int(group["n_train"].median())
        for fs in wide.columns:
            row[f"{fs}"], row[f"{fs}_lo"], row[f"{fs}_hi"] = t_interval(wide[fs].to_numpy())
        if embedding in wide.columns:
            for base in baselines:
                if base in wide.columns:
                    diff = (wide[embedding] - wide[base]).to_numpy()
                    m, lo, hi = t_interval(diff)
                    row[f"diff_{base}"], row[f"diff_{base}_lo"], row[f"diff_{base}_hi"] = (
                        m,
                        lo,
                        hi,
                    )
        out.append(row)
    return pd.DataFrame(out)


def summarize_cross(
    predictions: Mapping[str, Mapping[str, np.ndarray]],
    tasks: Mapping[str, Task],
    embedding: str,
    baselines: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Cross-cohort metrics with paired-bootstrap 95 % intervals (percentile)."""
    rng = np.random.default_rng(seed)
    out = []
    for name, preds in predictions.items():
        task = tasks[name]
        y = preds["__y__"]
        names = [k for k in preds if k != "__y__"]
        metrics = list(score(y, preds[names[0]], task.kind))
        boots = {m: {fs: [] for fs in names} for m in metrics}
        for _ in range(n_boot):
            idx = rng.integers(0, len(y), len(y))
            if task.kind == "classification" and len(np.unique(y[idx])) < 2:
                continue
            for fs in names:
                for m, v in score(y[idx], preds[fs][idx], task.kind).items():
                    boots[m][fs].append(v)
        for m in metrics:
            row: dict[str, Any] = {
                "task": name,
                "kind": task.kind,
                "size": "cross",
                "metric": m,
                "n_test": len(y),
            }
            for fs in names:
                row[fs] = score(y, preds[fs], task.kind)[m]
                lo, hi = np.nanpercentile(boots[m][fs], [2.5, 97.5])
                row[f"{fs}_lo"], row[f"{fs}_hi"] = float(lo), float(hi)
            if embedding in names:
                for base in baselines:
                    if base in names:
                        diff = np.asarray(boots[m][embedding]) - np.asarray(boots[m][base])
                        row[f"diff_{base}"] = row[embedding] - row[base]
                        lo, hi = np.nanpercentile(diff, [2.5, 97.5])
                        row[f"diff_{base}_lo"], row[f"diff_{base}_hi"] = float(lo), float(hi)
            out.append(row)
    return pd.DataFrame(out)


# --- reporting -------------------------------------------------------------------------------
PRIMARY_METRIC = {"classification": "auroc", "regression": "pearson_r"}


def _fmt(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None or not np.isfinite(value):
        return "–"
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    if lo is None or not np.isfinite(lo):
        return f"{value:.3f}"
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def verdict(row: Mapping[str, Any], base: str) -> str:
    """``win``/``loss`` when the 95 % interval of the paired difference excludes 0, else
    ``(+)``/``(-)`` by the sign of the mean difference."""
    m, lo, hi = row.get(f"diff_{base}"), row.get(f"diff_{base}_lo"), row.get(f"diff_{base}_hi")
    if m is None or not np.isfinite(m):
        return "–"
    if lo is not None and np.isfinite(lo) and lo > 0:
        return "**win**"
    if hi is not None and np.isfinite(hi) and hi < 0:
        return "loss"
    return "(+)" if m > 0 else "(-)"


def markdown_table(
    summary: pd.DataFrame,
    feature_names: Sequence[str],
    embedding: str,
    baseline: str,
    metrics: Sequence[str] | None = None,
) -> str:
    """Markdown table: one row per (task, size, metric), a column per feature set (mean
    [95 % CI]) and the paired difference embedding - baseline."""
    metrics = metrics or list(PRIMARY_METRIC.values())
    cols = [
        "task",
        "metric",
        "size",
        "n_train",
        *feature_names,
        f"{embedding} − {baseline}",
        "verdict",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in summary[summary["metric"].isin(metrics)].iterrows():
        cells = [
            str(row["task"]),
            str(row["metric"]),
            str(row["size"]),
            str(row.get("n_train", row.get("n_test", ""))),
        ]
        cells += [_fmt(row, fs) for fs in feature_names]
        cells += [_fmt(row, f"diff_{baseline}"), verdict(row, baseline)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tally(
    summary: pd.DataFrame, embedding: str, baseline: str, sizes: Iterable[Any] = (25, 50, 100)
) -> dict[str, Any]:
    """Count tasks where the embedding beats the baseline (primary metric) by size."""
    out: dict[str, Any] = {}
    for size in sizes:
        rows = summary[
            (summary["size"] == size) & (summary["metric"] == summary["kind"].map(PRIMARY_METRIC))
        ]
        if rows.empty or f"diff_{baseline}" not in rows:
            continue
        diff = rows[f"diff_{baseline}"]
        lo, hi = rows[f"diff_{baseline}_lo"], rows[f"diff_{baseline}_hi"]
        out[str(size)] = {
            "tasks": len(rows),
            "higher_mean": int((diff > 0).sum()),
            "ci_above_zero": int((lo > 0).sum()),
            "ci_below_zero": int((hi < 0).sum()),
            "mean_difference": float(diff.mean()),
            "wins": sorted(rows.loc[diff > 0, "task"].tolist()),
            "significant_wins": sorted(rows.loc[lo > 0, "task"].tolist()),
            "significant_losses": sorted(rows.loc[hi < 0, "task"].tolist()),
        }
    return out


def to_json(obj: Any) -> Any:
    """JSON-safe copy (NaN -> None, numpy scalars -> Python)."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dump_json(path: Any, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON atomically."""
    from synthomics.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(to_json(dict(payload)), indent=1) + "\n", encoding="utf-8")


# --- the whole benchmark ----------------------------------------------------------------
VARIANTS: dict[str, dict[str, Any]] = {
    "mask15": {"mask_rate": 0.15, "present_mask_rate": 0.15},
    "mask50": {"mask_rate": 0.5, "present_mask_rate": 0.5},
    "no_present_mask": {"present_mask_rate": 0.0},
    "log10": {"transform": "log10"},
    "unscaled_input": {"input_scaling": "none"},
    "width512": {"encoder_sizes": [512]},
    "width256": {"encoder_sizes": [256]},
    "epochs120": {"max_epochs": 120},
}
"""Alternatives to the default model compared by ``variants=...`` (masking rate, input
transform, width, training length); keys of
:data:`~synthomics.embeddings.model.TRAIN_DEFAULTS` change the training, the others the
model."""

REQUIRED_OBS = ("dataset_name", "disease", "age", "bmi")
BASELINES = ("log_abundance", "clr", "rf_relative", "pca")
COMPARED_TO_LOG = (
    "mae+log_abundance",
    "mae[unscaled_readout]",
    "mbembed",
    "mbembed[names_only]",
    "mbembed[renormalised]",
    "log_abundance[mbembed_taxa]",
    "clr",
    "pca",
    "rf_relative",
)
"""Representations besides ``mae`` whose paired difference with log abundance is tallied."""


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _pretrained(
    table: Any,
    mask: np.ndarray,
    directory: Any,
    options: Mapping[str, Any],
    train_options: Mapping[str, Any],
    progress: bool,
) -> Any:
    """Load the model cached in ``directory`` when its options match, else pretrain it."""
    from pathlib import Path

    from synthomics.embeddings.model import MicrobiomeMAE
    from synthomics.training import read_model_config

    directory = Path(directory)
    wanted = to_json({"module": dict(options), "train": dict(train_options)})
    if (directory / "config.json").is_file():
        config = read_model_config(directory)["config"]
        if config.get("training", {}).get("benchmark_options") == wanted:
            return MicrobiomeMAE.load(directory)
    model_options = dict(options)
    transform = model_options.pop("transform", "log10")
    floor = model_options.pop("floor", 1e-4)
    model = MicrobiomeMAE(transform, floor, **model_options)
    model.pretrain(table[mask].copy(), progress=progress, **train_options)
    model.training_summary["benchmark_options"] = wanted  # lets a rerun reuse the model
    model.save(directory)
    return model


def time_embedding(model: Any, table: Any, n: int = 10_000, seed: int = 0) -> float:
    """Seconds to embed ``n`` samples drawn (with replacement) from ``table``: alignment,
    transform and encoder, as ``model.embed`` does it."""
    import warnings

    import anndata as ad

    rng = np.random.default_rng(seed)
    rows = rng.integers(0, table.n_obs, n)
    big = ad.AnnData(np.asarray(table.X)[rows], var=table.var.copy(), uns=dict(table.uns))
    big.obs_names = [f"sample{i}" for i in range(n)]
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.embed(big)
    return time.perf_counter() - started


def run_metaml_benchmark(
    table: Any,
    out_dir: Any,
    *,
    model_options: Mapping[str, Any] | None = None,
    train_options: Mapping[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    folds: Sequence[str] | None = None,
    sizes: Sequence[int | None] = SIZES,
    n_draws: int = 10,
    forest: bool = True,
    pca: bool = True,
    cross: bool = True,
    clr: bool = True,
    concat: bool = True,
    unscaled: bool = False,
    mbembed: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    progress: bool = False,
    models_dir: Any = None,
    log: Callable[[str], None] = _log,
) -> dict[str, Any]:
    """Run the MetAML embedding benchmark and write its tables.

    Parameters
    ----------
    table
        The MetAML species table (:func:`synthomics.io.read` of ``abundance.txt.bz2``),
        with ``obs`` columns ``dataset_name``, ``disease``, ``age``, ``bmi``,
        ``sampleID``, ``subjectID``.
    out_dir
        Output folder: ``results.md``, ``results.json``, ``records.csv``,
        ``summary_within.csv``, ``summary_cross.csv`` and ``models/<config>/<fold>/``
        (reused by a rerun with the same options).
    model_options
        Options of the default :class:`~synthomics.embeddings.model.MicrobiomeMAE`
        (``transform``, ``floor`` and :data:`~synthomics.embeddings.model.MODULE_DEFAULTS`
        keys).
    train_options
        Keyword arguments of :meth:`MicrobiomeMAE.pretrain` (``max_epochs``, ``seed``...).
    variants
        Other model options to compare, ``{name: options overriding the default}`` (see
        :data:`VARIANTS`); each becomes a feature set ``mae[name]``.
    folds
        Subset of :data:`METAML_FOLDS` (default: all).
    sizes
        Training-set sizes (``None``: the whole pool).
    n_draws
        Random draws per task and size.
    forest, pca, cross
        Include the random-forest baseline, the PCA control, the cross-cohort tasks.
    clr, concat
        Include the CLR baseline (same linear learners) and ``mae+log_abundance``, the
        embeddings concatenated with the log abundances (a readout of the same model).
    unscaled
        Include ``mae[unscaled_readout]``: the embeddings read by the linear learners
        without standardising them first.
    mbembed
        Folder of the published MBEmbed encoder: adds ``mbembed`` (names translated with
        the NCBI/GTDB synonym table), ``mbembed[names_only]`` (names as written),
        ``mbembed[renormalised]`` and ``log_abundance[mbembed_taxa]`` (log abundances of
        the species the encoder sees), with the alignment reports in ``results.json``.
        It was pretrained elsewhere, so the held-out cohorts may overlap its pretraining
        data.
    n_boot
        Bootstrap resamples of the cross-cohort intervals.
    seed
        Seeds the draws and the learners.
    progress
        Show Lightning progress bars while pretraining.
    models_dir
        Where pretrained models are kept and reused (default ``out_dir/models``); runs
        with different ``out_dir`` can share one.
    log
        Where progress lines go.

    Returns
    -------
    dict
        What ``results.json`` holds.
    """
    from pathlib import Path

    from synthomics.embeddings.model import (
        MODULE_DEFAULTS,
        TRAIN_DEFAULTS,
        TRANSFORM_DEFAULTS,
        union_reference,
    )
    from synthomics.embeddings.transforms import AbundanceTransform
    from synthomics.errors import InputError

    missing = [c for c in REQUIRED_OBS if c not in table.obs.columns]
    if missing:
        raise InputError(
            table.uns.get("source_file"),
            f"the table lacks metadata {missing}",
            expected="the MetAML table (abundance.txt.bz2) read by synthomics",
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    models_dir = Path(models_dir) if models_dir is not None else out_dir / "models"
    folds = list(folds or METAML_FOLDS)
    unknown = set(folds) - set(METAML_FOLDS)
    if unknown:
        raise InputError(
            None, f"unknown folds {sorted(unknown)}", expected=f"some of {list(METAML_FOLDS)}"
        )
    base_options = {**TRANSFORM_DEFAULTS, **MODULE_DEFAULTS, **(model_options or {})}
    train = dict(TRAIN_DEFAULTS) | dict(train_options or {})
    configs = {"mae": base_options} | {
        f"mae[{name}]": {**base_options, **{k: v for k, v in opts.items() if k not in train}}
        for name, opts in (variants or {}).items()
    }
    # a variant may also change training options (e.g. max_epochs)
    config_train = {"mae": train} | {
        f"mae[{name}]": train | {k: v for k, v in opts.items() if k in train}
        for name, opts in (variants or {}).items()
    }

    from synthomics.embeddings.alignment import align_to_reference

    species = union_reference([table])
    fractions = align_to_reference(table, species, warn_below=0.0).fractions
    log_abundance = AbundanceTransform("log10", 1e-4)(fractions)
    clr_features = AbundanceTransform("clr", 1e-4)(fractions) if clr else None
    mbembed_features: dict[str, np.ndarray] = {}
    mbembed_alignment: dict[str, Any] = {}
    if mbembed is not None:
        mbembed_features, mbembed_alignment = _mbembed_features(table, mbembed)
        for name, info in mbembed_alignment.items():
            log(
                f"{name}: {info['reference_found']}/{info['reference_taxa']} reference taxa, "
                f"median {info['median_abundance_carried']:.1%} of abundance"
            )
    obs = table.obs
    within_tasks, cross_tasks = metaml_tasks()
    records: list[dict[str, Any]] = []
    cross_predictions: dict[str, dict[str, np.ndarray]] = {}
    timings: dict[str, Any] = {"pretrain_seconds": {}, "embed_all_seconds": {}}
    pretrain_info: dict[str, Any] = {}
    started = time.perf_counter()
    for fold in folds:
        mask = pretraining_mask(obs, METAML_FOLDS[fold])
        log(
            f"fold {fold}: pretraining on {int(mask.sum())} samples "
            f"(held out: {', '.join(METAML_FOLDS[fold])})"
        )
        features: dict[str, FeatureSet] = {}
        for tag, options in configs.items():
            t0 = time.perf_counter()
            model = _pretrained(
                table, mask, models_dir / tag / fold, options, config_train[tag], progress
            )
            fresh = time.perf_counter() - t0
            t0 = time.perf_counter()
            features[tag] = FeatureSet(tag, model.embed(table))
            timings["embed_all_seconds"][f"{tag}/{fold}"] = round(time.perf_counter() - t0, 3)
            timings["pretrain_seconds"][f"{tag}/{fold}"] = model.training_summary.get(
                "seconds", round(fresh, 1)
            )
            pretrain_info[f"{tag}/{fold}"] = {
                k: model.training_summary.get(k) for k in ("n_samples", "n_taxa", "epochs")
            }
            log(
                f"  {tag}: {model.training_summary.get('n_taxa')} taxa, "
                f"{model.training_summary.get('epochs')} epochs, "
                f"{timings['pretrain_seconds'][f'{tag}/{fold}']} s"
            )
            if "embed_10000_seconds" not in timings and tag == "mae":
                timings["embed_10000_seconds"] = round(time_embedding(model, table), 3)
        if unscaled:
            name = "mae[unscaled_readout]"
            features[name] = FeatureSet(name, features["mae"].matrix, "linear_unscaled")
        if concat:
            joined = np.hstack([features["mae"].matrix, log_abundance])
            features["mae+log_abundance"] = FeatureSet("mae+log_abundance", joined)
        for name, matrix in mbembed_features.items():
            features[name] = FeatureSet(name, matrix)
        features["log_abundance"] = FeatureSet("log_abundance", log_abundance)
        if clr_features is not None:
            features["clr"] = FeatureSet("clr", clr_features)
        if forest:
            features["rf_relative"] = FeatureSet("rf_relative", fractions, "forest")
        if pca:
            from sklearn.decomposition import PCA

            width = min(100, int(mask.sum()) - 1, log_abundance.shape[1])
            fitted = PCA(width, random_state=seed).fit(log_abundance[mask])
            features["pca"] = FeatureSet("pca", fitted.transform(log_abundance))
        for task in within_tasks:
            if task.fold == fold:
                t0 = time.perf_counter()
                records += evaluate_within(
                    obs, task, features, sizes=sizes, n_draws=n_draws, seed=seed
                )
                log(f"  task {task.name}: {time.perf_counter() - t0:.0f} s")
        if cross:
            for task in cross_tasks:
                if task.fold == fold:
                    recs, preds = evaluate_cross(obs, task, features, seed=seed)
                    records += recs
                    cross_predictions[task.name] = preds
                    log(f"  cross {task.name}: done")
    timings["total_seconds"] = round(time.perf_counter() - started, 1)

    frame = pd.DataFrame(records)
    frame["size"] = frame["size"].astype(str)
    within_frame = frame[frame["size"] != "cross"]
    baselines = [b for b in BASELINES if b in within_frame["features"].unique()]
    summary = summarize_within(within_frame, "mae", baselines)
    summary["size"] = summary["size"].astype(str)
    cross_summary = (
        summarize_cross(
            cross_predictions,
            {t.name: t for t in cross_tasks},
            "mae",
            baselines,
            n_boot=n_boot,
            seed=seed,
        )
        if cross_predictions
        else pd.DataFrame()
    )
    present = set(frame["features"].unique())
    extras = [
        f
        for f in ("mae+log_abundance", "mae[unscaled_readout]", *mbembed_features)
        if f in present
    ]
    feature_names = [*configs, *extras, *baselines]
    by_features: dict[str, Any] = {}
    cross_by_features: dict[str, Any] = {}
    tasks_by_name = {t.name: t for t in cross_tasks}
    for name in COMPARED_TO_LOG:
        if name not in frame["features"].unique():
            continue
        other = summarize_within(within_frame, name, ["log_abundance"])
        other["size"] = other["size"].astype(str)
        by_features[name] = tally(other, name, "log_abundance", ["25", "50", "100", "200", "all"])
        if cross_predictions:
            pair = {
                task: {k: v for k, v in preds.items() if k in (name, "log_abundance", "__y__")}
                for task, preds in cross_predictions.items()
            }  # the same bootstrap draws as the full table (drawn once per resample)
            crossed = summarize_cross(pair, tasks_by_name, name, ["log_abundance"], n_boot, seed)
            cross_by_features[name] = _cross_overview(crossed, ["log_abundance"])
    report = {
        "protocol": {
            "folds": {f: list(METAML_FOLDS[f]) for f in folds},
            "sizes": ["all" if s is None else s for s in sizes],
            "n_draws": n_draws,
            "seed": seed,
            "test_fraction": 0.3,
            "n_boot": n_boot,
            "model_options": base_options,
            "train_options": train,
            "variants": {
                k: {"model": v, "train": config_train[k]} for k, v in configs.items() if k != "mae"
            },
            "n_samples": int(table.n_obs),
            "n_species": len(species),
        },
        "pretraining": pretrain_info,
        "timings": timings,
        "tally_vs_log_abundance": tally(
            summary, "mae", "log_abundance", ["25", "50", "100", "200", "all"]
        ),
        "tally_vs_rf_relative": tally(
            summary, "mae", "rf_relative", ["25", "50", "100", "200", "all"]
        )
        if forest
        else {},
        "cross_cohort": _cross_overview(cross_summary, baselines),
        "tally_vs_log_abundance_by_features": by_features,
        "cross_cohort_vs_log_abundance_by_features": cross_by_features,
        "mbembed_alignment": mbembed_alignment,
        "variants_overview": _variants_overview(summary, configs),
        "within": summary.to_dict(orient="records"),
        "cross": cross_summary.to_dict(orient="records"),
    }
    frame.to_csv(out_dir / "records.csv", index=False)
    summary.to_csv(out_dir / "summary_within.csv", index=False)
    if not cross_summary.empty:
        cross_summary.to_csv(out_dir / "summary_cross.csv", index=False)
    dump_json(out_dir / "results.json", report)
    from synthomics.io.atomic import atomic_path

    with atomic_path(out_dir / "results.md") as tmp:
        tmp.write_text(
            results_markdown(report, summary, cross_summary, feature_names), encoding="utf-8"
        )
    return report


def _mbembed_features(table: Any, folder: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """MBEmbed embeddings of ``table`` with and without the NCBI/GTDB synonyms (and, with
    them, the matched species closed to one), and the alignment report of each.

    ``log_abundance[mbembed_taxa]`` is the log-abundance baseline restricted to what the
    encoder sees (the translated names): the encoder against its own input.
    """
    from synthomics.embeddings.alignment import align_to_reference
    from synthomics.embeddings.mbembed import MBEmbedEncoder
    from synthomics.embeddings.transforms import AbundanceTransform

    encoder = MBEmbedEncoder.load(folder)
    features, reports = {}, {}
    for name, synonyms in (("mbembed", True), ("mbembed[names_only]", False)):
        aligned = align_to_reference(
            table, encoder.reference_taxa, duplicates="split", warn_below=0.0, synonyms=synonyms
        )
        features[name] = encoder.embed_fractions(aligned.fractions)
        if synonyms:  # the matched species closed to one, as if they were the whole profile
            total = aligned.fractions.sum(axis=1, keepdims=True)
            closed = np.where(total > 0, aligned.fractions / np.maximum(total, 1e-300), 0.0)
            features["mbembed[renormalised]"] = encoder.embed_fractions(closed)
            seen = aligned.fractions[:, aligned.fractions.max(axis=0) > 0]
            features["log_abundance[mbembed_taxa]"] = AbundanceTransform("log10", 1e-4)(seen)
        report = aligned.report
        reports[name] = {
            "reference_taxa": report.n_reference,
            "reference_found": report.n_found,
            "median_abundance_carried": report.median_abundance_carried,
            "mean_abundance_carried": float(np.nanmean(report.abundance_carried)),
            "rules": report.rules_table(),
        }
    return features, reports


def _cross_overview(cross_summary: pd.DataFrame, baselines: Sequence[str]) -> dict[str, Any]:
    if cross_summary.empty:
        return {}
    primary = cross_summary[cross_summary["metric"] == cross_summary["kind"].map(PRIMARY_METRIC)]
    out: dict[str, Any] = {"tasks": primary["task"].tolist()}
    for base in baselines:
        if f"diff_{base}" in primary:
            diff = primary[f"diff_{base}"]
            out[base] = {
                "mean_difference": float(diff.mean()),
                "higher": int((diff > 0).sum()),
                "tasks": len(diff),
                "ci_above_zero": int((primary[f"diff_{base}_lo"] > 0).sum()),
                "ci_below_zero": int((primary[f"diff_{base}_hi"] < 0).sum()),
            }
    return out


def _variants_overview(summary: pd.DataFrame, configs: Mapping[str, Any]) -> dict[str, Any]:
    """Per size: mean primary metric over tasks of each configuration, and in how many
    tasks it beats the log-abundance baseline."""
    primary = summary[summary["metric"] == summary["kind"].map(PRIMARY_METRIC)]
    out: dict[str, Any] = {}
    for size, rows in primary.groupby("size", sort=False):
        out[str(size)] = {
            tag: {
                "mean": float(rows[tag].mean()),
                "beats_log_abundance": int((rows[tag] > rows["log_abundance"]).sum()),
                "tasks": int(rows[tag].notna().sum()),
            }
            for tag in configs
            if tag in rows
        }
    return out


def results_markdown(
    report: Mapping[str, Any],
    summary: pd.DataFrame,
    cross_summary: pd.DataFrame,
    feature_names: Sequence[str],
) -> str:
    """The benchmark's tables as markdown."""
    p = report["protocol"]
    lines = [
        "# MetAML embedding benchmark",
        "",
        f"{p['n_samples']} samples, {p['n_species']} species; folds "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in p["folds"].items())
        + f". {p['n_draws']} draws per task and size, 30 % of subjects as test set; "
        "mean [95 % t-interval]; difference = paired difference mae − log_abundance "
        "(**win**: interval above 0; loss: below 0; (+)/(−): sign of the mean only).",
        "",
        "## Within-cohort (primary metrics: AUROC, Pearson r)",
        "",
        markdown_table(summary, feature_names, "mae", "log_abundance"),
        "",
    ]
    if "pr_auc" in set(summary["metric"]):
        lines += [
            "## Within-cohort PR-AUC",
            "",
            markdown_table(summary, feature_names, "mae", "log_abundance", ["pr_auc"]),
            "",
        ]
    if not cross_summary.empty:
        lines += [
            "## Cross-cohort (train on one cohort, test on another; paired bootstrap "
            "95 % intervals)",
            "",
            markdown_table(
                cross_summary,
                feature_names,
                "mae",
                "log_abundance",
                ["auroc", "pr_auc", "pearson_r"],
            ),
            "",
        ]
    lines += [
        "## Tally: mae vs log_abundance, primary metric",
        "",
        "| size | tasks | mae higher | interval above 0 | interval below 0 | mean difference |",
        "|---|---|---|---|---|---|",
    ]
    for size, t in report["tally_vs_log_abundance"].items():
        lines.append(
            f"| {size} | {t['tasks']} | {t['higher_mean']} | {t['ci_above_zero']} "
            f"| {t['ci_below_zero']} | {t['mean_difference']:+.3f} |"
        )
    by_features = report.get("tally_vs_log_abundance_by_features") or {}
    if by_features:
        crossed = report.get("cross_cohort_vs_log_abundance_by_features") or {}
        lines += [
            "",
            "## Other representations vs log_abundance, primary metric",
            "",
            "| features | size | tasks | higher | interval above 0 | interval below 0 "
            "| mean difference |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, sizes in by_features.items():
            for size, t in sizes.items():
                lines.append(
                    f"| {name} | {size} | {t['tasks']} | {t['higher_mean']} "
                    f"| {t['ci_above_zero']} | {t['ci_below_zero']} "
                    f"| {t['mean_difference']:+.3f} |"
                )
            c = (crossed.get(name) or {}).get("log_abundance")
            if c:
                lines.append(
                    f"| {name} | cross | {c['tasks']} | {c['higher']} | {c['ci_above_zero']} "
                    f"| {c['ci_below_zero']} | {c['mean_difference']:+.3f} |"
                )
    alignment = report.get("mbembed_alignment") or {}
    if alignment:
        lines += [
            "",
            "## MBEmbed: reference taxa and abundance matched",
            "",
            "| names | reference taxa found | median abundance carried | by rule |",
            "|---|---|---|---|",
        ]
        for name, info in alignment.items():
            rules = "; ".join(
                f"{r['rule']}: {r['reference_taxa']} taxa, {r['mean_abundance']:.1%}"
                for r in info["rules"]
            )
            lines.append(
                f"| {name} | {info['reference_found']}/{info['reference_taxa']} "
                f"| {info['median_abundance_carried']:.1%} | {rules} |"
            )
    cross = report.get("cross_cohort") or {}
    if "log_abundance" in cross:
        c = cross["log_abundance"]
        lines += [
            "",
            f"Cross-cohort: mae higher in {c['higher']}/{c['tasks']} tasks, mean "
            f"difference {c['mean_difference']:+.3f}.",
        ]
    variants = report.get("variants_overview") or {}
    tags = sorted({t for v in variants.values() for t in v})
    if len(tags) > 1:
        lines += [
            "",
            "## Model variants (mean primary metric over tasks; tasks beating log_abundance)",
            "",
            "| size | " + " | ".join(tags) + " |",
            "|---|" + "---|" * len(tags),
        ]
        for size, v in variants.items():
            lines.append(
                f"| {size} | "
                + " | ".join(
                    f"{v[t]['mean']:.3f} ({v[t]['beats_log_abundance']}/{v[t]['tasks']})"
                    if t in v
                    else "–"
                    for t in tags
                )
                + " |"
            )
    tm = report["timings"]
    lines += [
        "",
        "## Timings (shared machine, under contention)",
        "",
        f"- pretraining (s): {tm['pretrain_seconds']}",
        f"- embedding all {p['n_samples']} samples (s): {tm['embed_all_seconds']}",
        f"- embedding 10,000 samples (s): {tm.get('embed_10000_seconds')}",
        f"- whole run (s): {tm['total_seconds']}",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "BASELINES",
    "METAML_FOLDS",
    "SIZES",
    "VARIANTS",
    "BenchmarkResult",
    "FeatureSet",
    "Task",
    "evaluate_cross",
    "evaluate_within",
    "fit_predict",
    "markdown_table",
    "metaml_tasks",
    "pretraining_mask",
    "results_markdown",
    "run_metaml_benchmark",
    "score",
    "split_draw",
    "summarize_cross",
    "summarize_within",
    "t_interval",
    "tally",
    "task_samples",
    "time_embedding",
    "training_subset",
]
