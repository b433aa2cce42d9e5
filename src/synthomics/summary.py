"""What a container holds, in a few numbers: the body of ``synthomics info``.

:func:`summarize` returns a :class:`Summary`, a list of ``(field, value)`` rows whose values
are plain Python numbers, text, lists and dicts (so the summary prints as a table and
serialises to JSON unchanged).

Microbiome tables
    samples, features, units, sparsity (fraction of zero entries), library size (counts) or
    row sums (relative units) as min/median/max, ranks present with the number of distinct
    names, the tree (tips, features on it, mean and smallest share of a sample's abundance
    carried by the features on it), the QIIME 2 artifacts read (type, uuid), and each
    ``obs`` column.
Genotype matrices
    individuals, rows (haplotypes in the haplotype layout), variants, layout, ploidy,
    phasing, missingness, the minor allele frequency spectrum, chromosomes and each label
    column.

MAF spectrum
    :func:`~synthomics.preprocessing.genotype.minor_allele_frequencies`: ``min(p, 1 - p)``
    for the ALT allele frequency ``p`` over the called alleles. Variants with
    ``MAF = 0`` count as ``monomorphic``; the others fall in the bins
    ``(0, 0.01)``, ``[0.01, 0.05)``, ``[0.05, 0.1)``, ``[0.1, 0.2)``, ``[0.2, 0.5]``,
    labelled ``0-0.01`` ... ``0.2-0.5``. Variants with no call at all count as
    ``all missing``.

Examples
--------
>>> from synthomics.datasets import synthetic_microbiome
>>> from synthomics.summary import summarize
>>> s = summarize(synthetic_microbiome(n_samples=10, n_taxa=5))
>>> s["samples"], s["features"], s["units"]
(10, 5, 'counts')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import MISSING, RANKS
from synthomics.errors import InputError

__all__ = ["MAF_BINS", "Summary", "maf_spectrum", "summarize"]

MAF_BINS: tuple[float, ...] = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)
"""Edges of the MAF spectrum bins (see the module docstring)."""

_MAX_LEVELS = 8  # obs columns with at most this many levels show them all ...
_SHOWN_LEVELS = 5  # ... others show the most frequent few (all are counted)


@dataclass
class Summary:
    """Rows of ``(field, value)`` describing one container.

    Attributes
    ----------
    title
        What was summarised (usually the file name).
    omics
        ``"microbiome"`` or ``"genotype"``.
    rows
        ``(field, value)`` pairs in display order; values are JSON-serialisable.
    """

    title: str
    omics: str
    rows: list[tuple[str, Any]] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        for key, value in self.rows:
            if key == name:
                return value
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.rows)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self.rows)

    def as_dict(self) -> dict[str, Any]:
        """``{"title": ..., "omics": ..., "fields": {field: value}}``, ready for JSON."""
        return {"title": self.title, "omics": self.omics, "fields": dict(self.rows)}

    def to_table(self, max_obs_columns: int | None = 30) -> Any:
        """A :class:`rich.table.Table` with one row per field.

        Parameters
        ----------
        max_obs_columns
            Show at most this many ``obs`` columns in full; the names of the others go in
            one last row. ``None`` shows all.
        """
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=self.title, show_header=True, header_style="bold", title_justify="left")
        table.add_column("field", style="cyan", no_wrap=True)
        table.add_column("value", overflow="fold")
        hidden: list[str] = []
        shown_obs = 0
        for key, value in self.rows:
            if key.startswith("obs: ") and max_obs_columns is not None:
                if shown_obs >= max_obs_columns:
                    hidden.append(key.removeprefix("obs: "))
                    continue
                shown_obs += 1
            table.add_row(escape(key), escape(format_value(value)))
        if hidden:
            table.add_row(f"obs: {len(hidden)} more", escape(", ".join(hidden)))
        return table

    def __str__(self) -> str:
        width = max((len(k) for k, _ in self.rows), default=0)
        lines = [self.title]
        lines += [f"  {k:<{width}}  {format_value(v)}" for k, v in self.rows]
        return "\n".join(lines)


def format_value(value: Any) -> str:
    """Text of a summary value: numbers rounded, dicts as ``key: value`` pairs."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if np.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.6g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def _plain(value: Any) -> Any:
    """NumPy scalars to Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _dense(adata: ad.AnnData) -> np.ndarray:
    X = adata.X
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X)


def _min_median_max(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {}
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "max": float(np.max(values)),
    }


def _obs_column(values: pd.Series) -> dict[str, Any]:
    """Levels (with counts) of a categorical/text column, or range of a numeric one."""
    missing = int(values.isna().sum())
    present = values.dropna()
    out: dict[str, Any]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and present.nunique() > _MAX_LEVELS:
        out = {"type": "numeric", **_min_median_max(present.to_numpy(dtype=np.float64))}
    else:
        counts = present.astype(str).value_counts()
        out = {"levels": len(counts)}
        if len(counts) > _MAX_LEVELS and len(counts) == len(present):
            out["one per sample"] = True  # ids, barcodes: listing them says nothing
        else:
            shown = counts.iloc[: _MAX_LEVELS if len(counts) <= _MAX_LEVELS else _SHOWN_LEVELS]
            out.update({str(k): int(v) for k, v in shown.items()})
            if len(counts) > len(shown):
                out["others"] = int(counts.iloc[len(shown) :].sum())
    if missing:
        out["missing"] = missing
    return out


def _obs_rows(adata: ad.AnnData, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    rows = []
    for column in adata.obs.columns:
        if column in skip:
            continue
        rows.append((f"obs: {column}", _obs_column(adata.obs[column])))
    return rows


def _tree_tips(newick: str) -> list[str]:
    from synthomics.container import tree_from_newick

    return [t.name for t in tree_from_newick(newick).tips() if t.name]


def _microbiome_rows(adata: ad.AnnData) -> list[tuple[str, Any]]:
    X = np.asarray(_dense(adata), dtype=np.float64)  # no copy for a container's float64 X
    units = str(adata.uns.get("units", "unknown"))
    totals = X.sum(axis=1)
    rows: list[tuple[str, Any]] = [
        ("samples", int(adata.n_obs)),
        ("features", int(adata.n_vars)),
        ("units", units),
        ("sparsity", 1.0 - np.count_nonzero(X) / X.size if X.size else 0.0),
        ("library size" if units == "counts" else "row sums", _min_median_max(totals)),
    ]
    ranks = {
        rank: int(adata.var[rank].dropna().astype(str).nunique())
        for rank in RANKS
        if rank in adata.var.columns
    }
    rows.append(("ranks", ranks if ranks else "none"))
    if "orientation" in adata.uns:  # text tables: which axis held the samples, and why
        rule = adata.uns.get("orientation_rule")
        orientation = str(adata.uns["orientation"]).replace("-", " ")
        rows.append(("orientation", f"{orientation} ({rule})" if rule else orientation))
    newick = adata.uns.get("tree")
    if newick is None:
        rows.append(("tree", "none"))
    else:
        tips = _tree_tips(str(newick))
        on_tree = np.asarray(adata.var_names.isin(tips))
        rows.append(
            (
                "tree",
                {
                    "tips": len(tips),
                    "features on tree": int(on_tree.sum()),
                    "features": int(adata.n_vars),
                    "source": str(adata.uns.get("tree_source", "unknown")),
                },
            )
        )
        ok = totals > 0
        if ok.any():
            share = (X @ on_tree.astype(np.float64))[ok] / totals[ok]
            rows.append(
                ("abundance on tree", {"mean": float(share.mean()), "min": float(share.min())})
            )
    for role, artifact in dict(adata.uns.get("qiime2_artifacts", {})).items():
        rows.append((f"QIIME 2 {role}", {k: str(v) for k, v in dict(artifact).items()}))
    steps = adata.uns.get("preprocessing")
    if steps is not None:
        from synthomics.preprocessing.history import preprocessing_history

        rows.append(("preprocessing", [r.get("step", "?") for r in preprocessing_history(adata)]))
    return rows + _obs_rows(adata)


def maf_spectrum(frequencies: np.ndarray) -> dict[str, int]:
    """Count variants per MAF bin (see the module docstring for the bins)."""
    frequencies = np.asarray(frequencies, dtype=np.float64)
    known = frequencies[~np.isnan(frequencies)]
    out = {"monomorphic": int((known == 0).sum())}
    polymorphic = known[known > 0]
    edges = np.asarray(MAF_BINS)
    which = np.clip(np.searchsorted(edges, polymorphic, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(which, minlength=len(edges) - 1)
    for k in range(len(edges) - 1):
        out[f"{edges[k]:g}-{edges[k + 1]:g}"] = int(counts[k])
    n_all_missing = int(np.isnan(frequencies).sum())
    if n_all_missing:
        out["all missing"] = n_all_missing
    return out


def _genotype_rows(adata: ad.AnnData) -> list[tuple[str, Any]]:
    from synthomics.preprocessing.genotype import minor_allele_frequencies

    X = _dense(adata)
    layout = str(adata.uns.get("layout", "dosage"))
    ploidy = int(adata.uns.get("ploidy", 2))
    if layout == "haplotype" and "individual" in adata.obs.columns:
        n_individuals = int(adata.obs["individual"].nunique())
    elif layout == "haplotype":
        n_individuals = int(adata.n_obs // max(ploidy, 1))
    else:
        n_individuals = int(adata.n_obs)
    rows: list[tuple[str, Any]] = [("individuals", n_individuals)]
    if layout == "haplotype":
        rows.append(("haplotypes", int(adata.n_obs)))
    rows += [
        ("variants", int(adata.n_vars)),
        ("layout", layout),
        ("ploidy", ploidy),
        ("phased", bool(adata.uns.get("phased", False))),
        ("missingness", float((X == MISSING).mean()) if X.size else 0.0),
        ("MAF spectrum", maf_spectrum(minor_allele_frequencies(adata).to_numpy())),
    ]
    if "chrom" in adata.var.columns:
        chroms = adata.var["chrom"].astype(str).value_counts(sort=False)
        rows.append(("chromosomes", {str(k): int(v) for k, v in chroms.items()}))
    label = adata.uns.get("label_column")
    if label:
        rows.append(("label column", str(label)))
    return rows + _obs_rows(adata, skip=("individual", "haplotype"))


def summarize(adata: ad.AnnData, title: str | None = None) -> Summary:
    """Summarise a microbiome or genotype container.

    Parameters
    ----------
    adata
        Container following :mod:`synthomics.container`.
    title
        Heading of the summary; defaults to ``uns["source_file"]`` or ``"AnnData"``.

    Returns
    -------
    Summary
        Rows described in the module docstring.

    Raises
    ------
    InputError
        If ``uns["omics"]`` is neither ``"microbiome"`` nor ``"genotype"``.
    """
    from synthomics.container import omics_kind

    kind = omics_kind(adata)
    title = title or str(adata.uns.get("source_file", "AnnData"))
    if kind == "microbiome":
        rows = _microbiome_rows(adata)
    elif kind == "genotype":
        rows = _genotype_rows(adata)
    else:  # pragma: no cover - omics_kind raises first
        raise InputError(None, f"unknown omics {kind!r}")
    return Summary(title=title, omics=kind, rows=[(k, _plain(v)) for k, v in rows])
