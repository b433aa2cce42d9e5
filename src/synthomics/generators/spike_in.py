"""Spike known microbe-metadata associations into synthetic cohorts, with their truth.

For benchmarking differential-abundance methods (as SparseDOSSA 2 does): simulate sample
metadata, let any fitted microbiome generator draw a cohort, change the drawn profiles of
chosen taxa with the metadata, and return the table, the metadata and a truth table.

>>> cohort = spike_in(model, 200, covariates=[Covariate.binary("disease", 0.5)],
...                   effects=[Effect("disease", taxa=30, log_fold_change=1.0)],
...                   seed=1)  # doctest: +SKIP
>>> cohort.write("sim/")  # table.tsv, metadata.tsv, truth.tsv, spike.json  # doctest: +SKIP

The rule, applied to the generator's own draw (relative abundances ``p_ij``, before reads)
    *Design.* A binary covariate is 0/1 (1 = case); a categorical one has one 0/1 column
    per level other than the first (the reference); a continuous one acts through
    ``x - mean(x)`` (the baseline profile is that of a sample at the mean).
    *Presence.* With ``pi_j`` the prevalence of taxon ``j`` in the drawn cohort, sample ``i``
    should carry the taxon with probability ``q_ij = expit(logit(pi_j) + sum_t d_tj x_it)``.
    Where ``q_ij > pi_j`` an absent taxon is turned present with probability
    ``(q_ij - pi_j) / (1 - pi_j)``, its abundance drawn at random from the taxon's non-zero
    abundances in the drawn cohort; where ``q_ij < pi_j`` a present taxon is turned absent
    with probability ``(pi_j - q_ij) / pi_j``. Then ``P(present) = q_ij`` for every sample,
    so the presence log-odds move by exactly ``d_tj`` per unit (``pi_j`` is clipped to
    ``[0.5/n, 1 - 0.5/n]``).
    *Abundance.* Present abundances are multiplied by ``exp(sum_t b_tj x_it)``, then every
    row is renormalised to sum to one. Reads are then drawn from the new profiles at each
    sample's depth by the generator's own count rule (so sampling zeros stay realistic).

Truth (:attr:`SpikedCohort.truth`, one row per taxon and design column)
    ``abundance_log_fold_change`` (``b``), ``presence_log_odds_shift`` (``d``) and
    ``relative_log_fold_change``: the effect on the relative-abundance scale, which is what
    a method can recover. Renormalisation divides row ``i`` by ``S_i = sum_j a'_ij``, so
    for a taxon present before and after, ``log p'_ij - log p_ij = sum_t b_tj x_it - log
    S_i``; the relative effect is ``b_tj - g_t``, with ``g`` the least-squares
    coefficients of ``log S`` on the design (with an intercept). It is computed
    empirically from the cohort's own draw, and is exact for those samples. Methods that
    also count the zeros (a log with a pseudocount, CLR) see a smaller effect for sparse
    taxa. ``prevalence_before`` / ``prevalence_after``: share of the drawn samples that
    carry the taxon before and after the spike (before reads).

Taxa are chosen per effect: an explicit list, or a number (or share) picked at random
with the seed among the taxa whose drawn prevalence lies in ``prevalence`` (taxa never
drawn present are never picked); different effects get different taxa. Directions:
``"up"``, ``"down"`` or ``"mixed"`` (half up, half down, at random); magnitudes are
non-negative and the direction gives their sign, for abundance and presence alike.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import special

from synthomics.errors import InputError

COVARIATE_KINDS: tuple[str, ...] = ("binary", "categorical", "continuous")
DISTRIBUTIONS: tuple[str, ...] = ("normal", "uniform", "lognormal")
DIRECTIONS: tuple[str, ...] = ("up", "down", "mixed")
TRUTH_COLUMNS: tuple[str, ...] = (
    "taxon",
    "covariate",
    "level",
    "affected",
    "abundance_log_fold_change",
    "presence_log_odds_shift",
    "relative_log_fold_change",
    "prevalence_before",
    "prevalence_after",
)


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class Covariate:
    """A sample metadata column to simulate.

    Build one with :meth:`binary`, :meth:`categorical` or :meth:`continuous`. Binary and
    categorical columns get exact level counts (largest remainder of ``share x n``) in a
    random order; continuous ones independent draws from the distribution.
    """

    name: str
    kind: str
    levels: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()
    distribution: str = "normal"
    parameters: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        if not str(self.name).strip():
            raise InputError(None, "a covariate has an empty name", expected="a column name")
        if self.kind not in COVARIATE_KINDS:
            raise InputError(
                None,
                f"covariate {self.name!r} has kind {self.kind!r}",
                expected=str(COVARIATE_KINDS),
            )
        if self.kind != "continuous":
            bad = [s for s in self.shares if not (math.isfinite(s) and s >= 0)]
            if bad:
                raise InputError(
                    None,
                    f"covariate {self.name!r} has share {bad[0]!r}",
                    expected="shares between 0 and 1",
                )
            if len(self.levels) < 2 or len(set(self.levels)) != len(self.levels):
                raise InputError(
                    None,
                    f"covariate {self.name!r} has levels {list(self.levels)}",
                    expected="at least two distinct levels",
                )
            if abs(sum(self.shares) - 1.0) > 1e-6:
                raise InputError(
                    None,
                    f"shares of covariate {self.name!r} sum to {sum(self.shares):.6g}",
                    expected="shares that sum to 1",
                )
        else:
            a, b = self.parameters
            if self.distribution not in DISTRIBUTIONS:
                raise InputError(
                    None,
                    f"covariate {self.name!r} has distribution {self.distribution!r}",
                    expected=f"one of {list(DISTRIBUTIONS)}",
                )
            if not (math.isfinite(a) and math.isfinite(b)):
                raise InputError(
                    None,
                    f"covariate {self.name!r} has parameters {a!r}, {b!r}",
                    expected="finite numbers",
                )
            if (self.distribution == "uniform" and not a < b) or (
                self.distribution != "uniform" and not b > 0
            ):
                what = "low < high" if self.distribution == "uniform" else "a positive spread"
                raise InputError(
                    None,
                    f"covariate {self.name!r}: {self.distribution}({a:g}, {b:g})",
                    expected=what,
                )

    @classmethod
    def binary(cls, name: str, share: float = 0.5) -> Covariate:
        """0/1 column with a share ``share`` of ones (cases)."""
        if not (math.isfinite(share) and 0 <= share <= 1):
            raise InputError(
                None, f"case share {share!r} of covariate {name!r}", expected="a share in [0, 1]"
            )
        return cls(name, "binary", ("0", "1"), (1.0 - share, float(share)))

    @classmethod
    def categorical(cls, name: str, shares: Mapping[str, float]) -> Covariate:
        """Levels with their shares, e.g. ``{"A": 0.5, "B": 0.3, "C": 0.2}``; the first
        level is the reference of the effects."""
        return cls(name, "categorical", tuple(map(str, shares)), tuple(map(float, shares.values())))

    @classmethod
    def continuous(
        cls, name: str, distribution: str = "normal", a: float = 0.0, b: float = 1.0
    ) -> Covariate:
        """Numbers from ``normal(mean a, sd b)``, ``uniform(a, b)`` or ``lognormal(meanlog a,
        sdlog b)``."""
        return cls(name, "continuous", distribution=distribution, parameters=(float(a), float(b)))

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values: level names (categorical), 0/1 integers (binary) or floats."""
        if self.kind == "continuous":
            a, b = self.parameters
            if self.distribution == "normal":
                return rng.normal(a, b, n)
            if self.distribution == "uniform":
                return rng.uniform(a, b, n)
            return rng.lognormal(a, b, n)
        counts = level_counts(np.asarray(self.shares), n)
        codes = rng.permutation(np.repeat(np.arange(len(self.levels)), counts))
        if self.kind == "binary":
            return codes.astype(np.int64)
        return np.asarray(self.levels, dtype=object)[codes]


def level_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n`` closest to ``shares x n`` (largest remainder)."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def covariate_kind(values: pd.Series) -> str:
    """How a user's metadata column is used: numeric 0/1 -> binary, other numbers ->
    continuous, anything else -> categorical."""
    if pd.api.types.is_bool_dtype(values):
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        return "binary" if set(np.unique(values)) <= {0, 1} else "continuous"
    return "categorical"


@dataclass(frozen=True)
class DesignColumn:
    """One column of the design: a covariate, or one non-reference level of one."""

    covariate: str
    level: str
    values: np.ndarray = field(repr=False)


def design_columns(metadata: pd.DataFrame, kinds: Mapping[str, str]) -> list[DesignColumn]:
    """The design columns of the covariates in ``kinds`` (see the module documentation)."""
    columns = []
    for name, kind in kinds.items():
        values = metadata[name]
        if kind == "binary":
            columns.append(DesignColumn(name, "", values.to_numpy(dtype=np.float64)))
        elif kind == "continuous":
            x = values.to_numpy(dtype=np.float64)
            columns.append(DesignColumn(name, "", x - x.mean()))
        else:
            if isinstance(values.dtype, pd.CategoricalDtype):
                levels = [str(c) for c in values.cat.categories]
            else:
                levels = sorted({str(v) for v in values}, key=_natural_key)
            text = values.astype(str).to_numpy()
            for level in levels[1:]:
                columns.append(DesignColumn(name, level, (text == level).astype(np.float64)))
    return columns


def _natural_key(text: str) -> tuple[Any, ...]:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Effect:
    """Which taxa a covariate changes, and by how much.

    Parameters
    ----------
    covariate
        The metadata column (for a categorical one, every non-reference level gets the
        effect, on the same taxa).
    taxa
        A number of taxa, a share of the eligible taxa (a float in (0, 1]), or taxon ids.
    log_fold_change
        Magnitude of the abundance effect: natural-log fold change per unit covariate.
    presence_shift
        Magnitude of the shift of the presence log-odds per unit covariate.
    direction
        ``"up"``, ``"down"`` or ``"mixed"`` (half of the taxa up, half down).
    prevalence
        ``(low, high)``: pick random taxa only among those whose prevalence in the drawn
        cohort lies in this band (inclusive); ignored for an explicit list.
    """

    covariate: str
    taxa: int | float | Sequence[str] = 10
    log_fold_change: float = 1.0
    presence_shift: float = 0.0
    direction: str = "mixed"
    prevalence: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        where = f"effect on {self.covariate!r}"
        for label, value in (
            ("log fold change", self.log_fold_change),
            ("presence shift", self.presence_shift),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise InputError(
                    None,
                    f"{where}: {label} {value!r}",
                    expected="a non-negative magnitude (the direction gives the sign)",
                )
        if self.direction not in DIRECTIONS:
            raise InputError(
                None,
                f"{where}: direction {self.direction!r}",
                expected=f"one of {list(DIRECTIONS)}",
            )
        low, high = self.prevalence
        if not (0 <= low <= high <= 1):
            raise InputError(
                None,
                f"{where}: prevalence band ({low!r}, {high!r})",
                expected="0 <= low <= high <= 1",
            )
        taxa = self.taxa
        if isinstance(taxa, bool):
            raise InputError(None, f"{where}: taxa {taxa!r}", expected="a number, share or ids")
        if isinstance(taxa, int | np.integer):
            if taxa < 1:
                raise InputError(None, f"{where}: {taxa} taxa", expected="at least one taxon")
        elif isinstance(taxa, float):
            if not (0 < taxa <= 1):
                raise InputError(
                    None, f"{where}: share of taxa {taxa!r}", expected="a share in (0, 1]"
                )
        elif isinstance(taxa, str) or not len(taxa):
            raise InputError(
                None, f"{where}: taxa {taxa!r}", expected="a number, a share or a list of ids"
            )

    @property
    def explicit(self) -> bool:
        """Whether the taxa are given by id."""
        return not isinstance(self.taxa, int | float | np.integer)


# --------------------------------------------------------------------------- the draw hook


class SpikePlan:
    """Applies effects to one drawn cohort; pass it as ``sample(..., spike=plan)``.

    Called once with the drawn ``n x p`` proportions; returns the spiked ones and keeps
    what it did (:meth:`truth`). Its random choices come from its own generator, so the
    generator's draw (and reads) are the same with and without effects for the same seed.
    """

    def __init__(
        self,
        columns: Sequence[DesignColumn],
        effects: Sequence[Effect],
        feature_names: Sequence[str],
        rng: np.random.Generator,
    ) -> None:
        self.columns = list(columns)
        self.effects = list(effects)
        self.feature_names = [str(f) for f in feature_names]
        self.rng = rng
        self.abundance_: np.ndarray | None = None
        self.presence_: np.ndarray | None = None
        self.affected_: np.ndarray | None = None
        self.offset_: np.ndarray | None = None
        self.prevalence_before_: np.ndarray | None = None
        self.prevalence_after_: np.ndarray | None = None

    def design(self, n: int) -> np.ndarray:
        """``n x t`` design matrix (one column per :class:`DesignColumn`)."""
        if not self.columns:
            return np.zeros((n, 0))
        return np.column_stack([c.values for c in self.columns])

    def __call__(self, proportions: np.ndarray) -> np.ndarray:
        base = np.asarray(proportions, dtype=np.float64)
        base = base / base.sum(axis=1, keepdims=True)
        n, p = base.shape
        X = self.design(n)
        if X.shape[0] != n:
            raise InputError(None, f"{X.shape[0]} metadata rows for {n} samples")
        present = base > 0
        prevalence = present.mean(axis=0)
        B, D, affected = self._coefficients(prevalence)
        # presence: move the log-odds by D'x, then abundance: multiply by exp(B'x)
        pi = np.clip(prevalence, 0.5 / n, 1 - 0.5 / n)
        q = special.expit(special.logit(pi)[None, :] + X @ D)
        u = self.rng.random((n, p))
        with np.errstate(divide="ignore", invalid="ignore"):
            turn_on = ~present & (q > pi) & (u < (q - pi) / (1 - pi))
            turn_off = present & (q < pi) & (u < (pi - q) / pi)
        turn_on &= (present.sum(axis=0) > 0)[None, :]
        abundance = np.where(turn_off, 0.0, base)
        if turn_on.any():
            rows, cols = np.nonzero(turn_on)
            abundance[rows, cols] = self._donor_values(base, present, cols)
        empty = abundance.sum(axis=1) <= 0
        if empty.any():  # a sample lost every taxon: keep its drawn presence
            abundance[empty] = base[empty]
        abundance = abundance * np.exp(X @ B)
        totals = abundance.sum(axis=1)
        spiked = abundance / totals[:, None]
        design = np.column_stack([np.ones(n), X])
        coef, *_ = np.linalg.lstsq(design, np.log(totals), rcond=None)
        self.abundance_, self.presence_, self.affected_ = B, D, affected
        self.offset_ = coef[1:]
        self.prevalence_before_ = prevalence
        self.prevalence_after_ = (spiked > 0).mean(axis=0)
        return spiked

    def _coefficients(self, prevalence: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = len(self.feature_names)
        index = {f: j for j, f in enumerate(self.feature_names)}
        B = np.zeros((len(self.columns), p))
        D = np.zeros((len(self.columns), p))
        affected = np.zeros((len(self.columns), p), dtype=bool)
        taken = np.zeros(p, dtype=bool)
        for effect in self.effects:
            if effect.explicit:
                chosen = np.array([index[str(t)] for t in effect.taxa], dtype=np.int64)
                never = chosen[prevalence[chosen] == 0]
                if effect.presence_shift > 0 and never.size:
                    raise InputError(
                        None,
                        f"taxon {self.feature_names[never[0]]!r} is absent from every drawn "
                        "sample, so it has no abundances to turn present with",
                        expected="taxa the model draws, or presence_shift 0",
                    )
            else:
                low, high = effect.prevalence
                eligible = np.flatnonzero(
                    (prevalence > 0) & (prevalence >= low) & (prevalence <= high) & ~taken
                )
                k = effect.taxa
                if isinstance(k, float):
                    k = max(1, round(k * len(eligible)))
                if k > len(eligible):
                    raise InputError(
                        None,
                        f"effect on {effect.covariate!r} asks for {k} taxa but only "
                        f"{len(eligible)} of {p} taxa are eligible (drawn prevalence in "
                        f"[{low:g}, {high:g}], not taken by another effect)",
                        expected="fewer taxa or a wider prevalence band",
                    )
                chosen = np.sort(self.rng.choice(eligible, size=int(k), replace=False))
            taken[chosen] = True
            if effect.direction == "up":
                signs = np.ones(len(chosen))
            elif effect.direction == "down":
                signs = -np.ones(len(chosen))
            else:
                half = (len(chosen) + 1) // 2
                signs = self.rng.permutation(np.r_[np.ones(half), -np.ones(len(chosen) - half)])
            for t, column in enumerate(self.columns):
                if column.covariate != effect.covariate:
                    continue
                B[t, chosen] = signs * effect.log_fold_change
                D[t, chosen] = signs * effect.presence_shift
                affected[t, chosen] = True
        return B, D, affected

    def _donor_values(self, base: np.ndarray, present: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """For each taxon in ``cols``, one of its non-zero drawn abundances at random."""
        P = base.T  # taxa x samples
        out = np.empty(len(cols))
        for j in np.unique(cols):
            where = np.flatnonzero(cols == j)
            values = P[j][present[:, j]]
            out[where] = values[self.rng.integers(0, len(values), size=len(where))]
        return out

    def truth(self) -> pd.DataFrame:
        """One row per taxon and design column: see :data:`TRUTH_COLUMNS`."""
        if self.abundance_ is None:
            raise RuntimeError("SpikePlan.truth called before the plan was applied")
        p = len(self.feature_names)
        frames = []
        for t, column in enumerate(self.columns):
            frames.append(
                pd.DataFrame(
                    {
                        "taxon": self.feature_names,
                        "covariate": column.covariate,
                        "level": column.level,
                        "affected": self.affected_[t],
                        "abundance_log_fold_change": self.abundance_[t],
                        "presence_log_odds_shift": self.presence_[t],
                        "relative_log_fold_change": self.abundance_[t] - self.offset_[t],
                        "prevalence_before": self.prevalence_before_,
                        "prevalence_after": self.prevalence_after_,
                    },
                    index=pd.RangeIndex(p),
                )
            )
        if not frames:
            return pd.DataFrame(columns=list(TRUTH_COLUMNS))
        return pd.concat(frames, ignore_index=True)[list(TRUTH_COLUMNS)]


# --------------------------------------------------------------------------- the cohort


@dataclass
class SpikedCohort:
    """A simulated cohort with known associations.

    Attributes
    ----------
    data
        The synthetic microbiome container (``obs`` holds the metadata too).
    metadata
        The sample metadata, indexed by the synthetic sample ids.
    truth
        The truth table (:data:`TRUTH_COLUMNS`).
    settings
        What was asked (JSON): covariates, effects, seed, generator.
    """

    data: ad.AnnData
    metadata: pd.DataFrame
    truth: pd.DataFrame
    settings: dict[str, Any]

    def write(
        self, out: str | os.PathLike[str], *, table_format: str = "tsv", counts: bool = True
    ) -> dict[str, Path]:
        """Write ``table.<format>``, ``metadata.tsv``, ``truth.tsv`` and ``spike.json`` into
        the folder ``out``, each atomically. ``counts``: write reads when the cohort has
        them (else relative abundances)."""
        from synthomics.io import write
        from synthomics.io.atomic import atomic_path

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        table = self.data.copy()
        if counts and "counts" in table.layers:
            table.X = np.asarray(table.layers["counts"], dtype=np.float64)
            table.uns["units"] = "counts"
        paths = {"table": out / f"table.{table_format}"}
        write(table, paths["table"])
        paths["metadata"] = out / "metadata.tsv"
        with atomic_path(paths["metadata"]) as tmp:
            self.metadata.rename_axis("sample_id").to_csv(tmp, sep="\t")
        paths["truth"] = out / "truth.tsv"
        with atomic_path(paths["truth"]) as tmp:
            self.truth.to_csv(tmp, sep="\t", index=False)
        paths["settings"] = out / "spike.json"
        with atomic_path(paths["settings"]) as tmp:
            tmp.write_text(json.dumps(self.settings, indent=1))
        return paths


def spike_in(
    model: Any,
    n: int | None = None,
    *,
    covariates: Sequence[Covariate] = (),
    metadata: pd.DataFrame | None = None,
    effects: Sequence[Effect] = (),
    seed: int = 0,
    library_size: int | np.ndarray | None = None,
) -> SpikedCohort:
    """Simulate a cohort from ``model`` with known microbe-metadata associations.

    Parameters
    ----------
    model
        A fitted microbiome generator, or the folder of a saved one.
    n
        Number of samples; defaults to the rows of ``metadata``.
    covariates
        Metadata columns to simulate.
    metadata
        A metadata table to reuse (one row per sample; with ``n`` different from its
        length, ``n`` rows are drawn from it with replacement). Its columns are used as
        binary (numeric 0/1), continuous (other numbers) or categorical (anything else).
    effects
        The associations; none gives a null cohort (for false-positive rates).
    seed
        Seeds the metadata, the choice of taxa, the presence changes and the generator's
        draw. The same seed with and without effects gives the same underlying draw.
    library_size
        Depth of the reads (see the generator's ``sample``).

    Returns
    -------
    SpikedCohort
    """
    from synthomics.generators.base import Generator
    from synthomics.generators.microbiome import MicrobiomeGenerator

    if isinstance(model, str | os.PathLike):
        model = Generator.load(model)
    if not isinstance(model, MicrobiomeGenerator):
        raise InputError(
            None,
            f"spike-in needs a microbiome generator, not {type(model).__name__}",
            expected="a fitted microbiome model (e.g. midasim, diffusion)",
        )
    model._require_fitted("sample")
    rng = np.random.default_rng([int(seed), 7])
    frame, kinds = _metadata_frame(n, covariates, metadata, rng)
    if model.condition_ is not None and model.condition_.column in kinds:
        raise InputError(
            None,
            f"covariate {model.condition_.column!r} is the model's condition column",
            expected="another covariate name",
        )
    features = list(model.feature_names_)
    _check_effects(effects, kinds, features)
    effects = list(effects)
    used = {e.covariate for e in effects} | {c.name for c in covariates}
    for name in sorted(used):
        missing = frame[name].isna().to_numpy()
        if missing.any():
            raise InputError(
                None,
                f"covariate {name!r} has no value for {int(missing.sum())} samples "
                f"(first: row {int(np.argmax(missing)) + 1})",
                expected="a value for every sample (drop those rows first)",
            )
    columns = design_columns(frame, {k: v for k, v in kinds.items() if k in used})
    plan = SpikePlan(columns, effects, features, np.random.default_rng([int(seed), 8]))
    data = model.sample(len(frame), seed=int(seed), library_size=library_size, spike=plan)
    frame.index = data.obs_names
    for name in frame.columns:
        data.obs[name] = frame[name].to_numpy()
    truth = plan.truth()
    settings = {
        "generator": model.name,
        "seed": int(seed),
        "n": len(frame),
        "covariates": {k: kinds[k] for k in kinds},
        "simulated": [_covariate_json(c) for c in covariates],
        "effects": [_effect_json(e) for e in effects],
        "compositional_offset": {
            f"{c.covariate}{'=' + c.level if c.level else ''}": float(g)
            for c, g in zip(columns, plan.offset_, strict=True)
        },
    }
    data.uns["spike_in"] = json.dumps(settings)
    return SpikedCohort(data, frame, truth, settings)


def _metadata_frame(
    n: int | None,
    covariates: Sequence[Covariate],
    metadata: pd.DataFrame | None,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, str]]:
    if metadata is None and n is None:
        raise InputError(None, "no number of samples given", expected="n, or a metadata table")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
        raise InputError(None, f"n is {n!r}", expected="a positive number of samples")
    kinds: dict[str, str] = {}
    if metadata is not None:
        if len(metadata) == 0:
            raise InputError(None, "the metadata table has no rows", expected="one row per sample")
        if n is None or n == len(metadata):
            frame = metadata.copy()
        else:
            frame = metadata.iloc[np.sort(rng.integers(0, len(metadata), size=int(n)))].copy()
        frame.insert(0, "source_sample", frame.index.astype(str))
        frame = frame.reset_index(drop=True)
        for name in metadata.columns:
            kinds[str(name)] = covariate_kind(metadata[name])
        frame.columns = [str(c) for c in frame.columns]
    else:
        frame = pd.DataFrame(index=pd.RangeIndex(int(n)))
    for covariate in covariates:
        if covariate.name in frame.columns:
            raise InputError(
                None,
                f"covariate {covariate.name!r} is given twice",
                expected="distinct covariate names",
            )
        frame[covariate.name] = covariate.draw(len(frame), rng)
        kinds[covariate.name] = covariate.kind
    return frame, kinds


def _check_effects(
    effects: Sequence[Effect], kinds: Mapping[str, str], features: list[str]
) -> None:
    known = set(features)
    for effect in effects:
        if effect.covariate not in kinds:
            raise InputError(
                None,
                f"effect on unknown covariate {effect.covariate!r}",
                expected=f"one of {sorted(kinds)}" if kinds else "a covariate to simulate",
            )
        if effect.explicit:
            missing = [str(t) for t in effect.taxa if str(t) not in known]
            if missing:
                raise InputError(
                    None,
                    f"taxon {missing[0]!r} is not a feature of the model "
                    f"({len(missing)} such taxa)",
                    expected="taxon ids of the training table",
                )
        elif isinstance(effect.taxa, int | np.integer) and effect.taxa > len(features):
            raise InputError(
                None,
                f"effect on {effect.covariate!r} asks for {effect.taxa} taxa but the model "
                f"has {len(features)}",
                expected=f"at most {len(features)} taxa",
            )


def _covariate_json(c: Covariate) -> dict[str, Any]:
    if c.kind == "continuous":
        return {
            "name": c.name,
            "kind": c.kind,
            "distribution": c.distribution,
            "parameters": list(c.parameters),
        }
    return {"name": c.name, "kind": c.kind, "shares": dict(zip(c.levels, c.shares, strict=True))}


def _effect_json(e: Effect) -> dict[str, Any]:
    if e.explicit:
        taxa: Any = [str(t) for t in e.taxa]
    else:
        taxa = float(e.taxa) if isinstance(e.taxa, float) else int(e.taxa)
    return {
        "covariate": e.covariate,
        "taxa": taxa,
        "log_fold_change": e.log_fold_change,
        "presence_shift": e.presence_shift,
        "direction": e.direction,
        "prevalence": list(e.prevalence),
    }
