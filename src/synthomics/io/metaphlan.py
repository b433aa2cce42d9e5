"""MetaPhlAn merged abundance tables (``merge_metaphlan_tables.py`` output and relatives).

Feature names are clade lineages, ``k__Bacteria|p__Firmicutes|...|s__Name`` and
``...|t__Strain``; every level of the taxonomy has its own row, so a sample's species rows
and its genus rows each sum to about 100. :func:`read_metaphlan` keeps only the rows whose
last level is the chosen rank (species by default), so no abundance is counted twice.

Layouts (``orientation="auto"`` tells them apart from the names)
    Features as rows (the usual merged table): leading ``#`` comment lines
    (``#mpa_v30_CHOCOPhlAn_201901``) are skipped; every line above the first clade row is a
    header or a metadata row (MetAML's table has 211 of them: ``dataset_name``,
    ``sampleID``, ``disease``, ``age``...). Sample ids come from the row named ``sampleID``
    / ``sample_id`` / ``SampleID`` / ``sample`` when there is one, else from the first line
    (``ID``/``clade_name`` header). If those ids repeat (MetAML: the same MetaHIT sample in
    three studies) and the first line is another metadata row, each id is prefixed with it,
    ``<first-row value>:<id>`` (``metahit:MH0002``). Metadata rows become ``obs`` columns,
    numeric where every value parses (``nd``, ``NA`` and blanks are missing). Columns
    ``NCBI_tax_id``/``clade_taxid`` are dropped.

    Samples as rows (Nielsen's table): the header holds the clade names; other columns after
    the id column become ``obs`` columns.

Units (``units="auto"``): MetaPhlAn reports relative abundance, so proportion or percent,
never counts. When kingdom rows are present their per-sample sums decide (at most
``1 + sum_tolerance`` -> proportion, else percent); otherwise the selected rows' sums do
(same rule). The sum check is ``"at-most"`` by default: at one rank a sample may sum to
less than 100 (unclassified reads; Nielsen's species rows sum to 97.75-100) but not to more.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import RANKS, microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.delimited import (
    TextLayout,
    iter_lines,
    normal_name,
    parse_cells,
    scan_layout,
    split_fields,
)
from synthomics.io.metadata import infer_column_types
from synthomics.io.table import Orientation, is_metaphlan_name, orientation_option
from synthomics.io.taxonomy import RANK_PREFIXES, taxonomy_frame
from synthomics.io.validate import (
    DEFAULT_SUM_TOLERANCE,
    AllZeroPolicy,
    CellLocator,
    SumRule,
    UnitsOption,
    check_options,
    validate_abundance,
)

_ID_ROWS = frozenset({"sampleid", "sample", "samplename", "sampleids"})
_TAXID_COLUMNS = frozenset({"ncbitaxid", "cladetaxid", "taxid", "ncbitaxonomyid"})


def clade_rank(name: str) -> str | None:
    """Rank of a clade name's last level (``...|s__X`` -> ``"species"``), or ``None``."""
    last = str(name).strip().rsplit("|", 1)[-1]
    if len(last) < 3 or last[1:3] != "__":
        return None
    letter = last[0].lower()
    if letter == "d":
        return "kingdom"
    return next((r for r, p in RANK_PREFIXES.items() if p == letter), None)


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def read_metaphlan(
    path: str | os.PathLike[str],
    *,
    rank: str = "species",
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    orientation: Orientation = "auto",
    units: UnitsOption = "auto",
    sum_rule: SumRule = "at-most",
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    all_zero: AllZeroPolicy = "drop",
    taxonomy_tree: bool = True,
) -> ad.AnnData:
    """Read a MetaPhlAn merged table at one rank.

    Parameters
    ----------
    path
        The table (tab-separated; gzip/bzip2/xz compressed or not).
    rank
        One of :data:`~synthomics.container.RANKS` (``"species"`` by default); only rows whose
        last level is this rank are kept.
    metadata, tree, taxonomy, taxonomy_tree
        Joined as by :func:`~synthomics.io.microbiome.finish_microbiome`.
    orientation
        ``"auto"``, ``"samples-as-rows"`` or ``"samples-as-columns"``.
    units, sum_rule, sum_tolerance, all_zero
        See the module docstring and :func:`~synthomics.io.validate.validate_abundance`.

    Returns
    -------
    anndata.AnnData
        Microbiome container; features are the full clade names; metadata rows/columns of
        the table are ``obs`` columns; ``uns["metaphlan_rank"]`` is the rank.

    Raises
    ------
    InputError
        Missing file, no clade names, no row at ``rank``, or a table failing validation.
    """
    from synthomics.io.metadata import load_sample_metadata
    from synthomics.io.microbiome import finish_microbiome

    path = Path(path)
    check_options(
        units=units, sum_rule=sum_rule, all_zero=all_zero, sum_tolerance=sum_tolerance, source=path
    )
    if rank not in RANKS:
        raise InputError(path, f"unknown rank {rank!r}", expected=f"one of {RANKS}")
    forced = orientation_option(orientation, path)
    layout = scan_layout(path)
    names = layout.header[1:]
    header_clades = sum(is_metaphlan_name(n) for n in names)
    samples_as_rows = forced if forced is not None else header_clades >= max(1, len(names) // 2)
    reader = _read_samples_as_rows if samples_as_rows else _read_samples_as_columns
    parsed = reader(path, layout, rank)

    table_units = units
    if units == "auto":  # MetaPhlAn is relative: proportion or percent, never counts
        sums = parsed.kingdom_sums if parsed.kingdom_sums is not None else parsed.X.sum(axis=1)
        top = float(np.max(sums, initial=0.0))
        table_units = "proportion" if top <= 1.0 + sum_tolerance else "percent"
    checked = validate_abundance(
        parsed.X,
        parsed.sample_ids,
        parsed.feature_ids,
        source=path,
        units=table_units,
        sum_rule=sum_rule,
        sum_tolerance=sum_tolerance,
        all_zero=all_zero,
        locator=parsed.locator,
    )
    obs = None if parsed.obs is None else parsed.obs.iloc[checked.kept]
    adata = microbiome_anndata(
        checked.X,
        checked.sample_ids,
        checked.feature_ids,
        units=checked.units,
        taxonomy=taxonomy_frame(checked.feature_ids),
        obs=obs,
        source=str(path),
    )
    adata.uns["metaphlan_rank"] = rank
    adata.uns["orientation"] = "samples-as-rows" if samples_as_rows else "samples-as-columns"
    if parsed.id_note:
        adata.uns["sample_id_rule"] = parsed.id_note
    if checked.dropped:
        adata.uns["dropped_all_zero_samples"] = list(checked.dropped)
    meta_frame, meta_source = load_sample_metadata(metadata)
    return finish_microbiome(
        adata,
        metadata=meta_frame,
        metadata_source=meta_source,
        taxonomy=taxonomy,
        tree=tree,
        taxonomy_tree=taxonomy_tree,
    )


@dataclass
class _Parsed:
    """What the layout-specific readers hand back: samples x features, ids, obs, units hint."""

    X: np.ndarray
    sample_ids: list[str]
    feature_ids: list[str]
    locator: CellLocator
    obs: pd.DataFrame | None
    kingdom_sums: np.ndarray | None
    id_note: str | None = None


def _rank_masks(path: Path, names: Sequence[str], rank: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows at ``rank``, and single-level kingdom rows (which decide the units)."""
    ranks = [clade_rank(n) if is_metaphlan_name(n) else None for n in names]
    selected = np.array([r == rank for r in ranks], dtype=bool)
    kingdom = np.array(
        [r == "kingdom" and "|" not in str(n) for r, n in zip(ranks, names, strict=True)],
        dtype=bool,
    )
    if not selected.any():
        present = [r for r in RANKS if r in set(ranks)]
        raise InputError(
            path,
            f"no clade at rank {rank!r}",
            expected=f"one of the ranks present: {present or 'none'}",
        )
    return selected, kingdom


def _top_rows(path: Path, layout: TextLayout) -> list[list[str]]:
    """The header and metadata rows above the first clade row."""
    top: list[list[str]] = []
    for lineno, line in enumerate(iter_lines(path), start=1):
        if lineno <= layout.n_skip or not line.strip():
            continue
        fields = [f.strip() for f in split_fields(line, layout.sep)]
        if is_metaphlan_name(fields[0]):
            return top
        top.append(fields)
    raise InputError(
        path,
        "no MetaPhlAn clade names in the first column",
        expected="rows named k__...|p__...|... (or columns, with orientation='samples-as-rows')",
    )


def _read_samples_as_columns(path: Path, layout: TextLayout, rank: str) -> _Parsed:
    top = _top_rows(path, layout)
    if not top:
        raise InputError(
            path,
            "no header line above the clade rows",
            where=f"line {layout.header_line}",
            expected="a header with sample ids",
        )
    width = len(top[0])
    for i, row in enumerate(top):
        if len(row) != width and not (len(row) == width + 1 and row[-1] == ""):
            raise InputError(
                path,
                f"row has {len(row)} fields",
                where=f"line {layout.header_line + i} ({row[0]!r})",
                expected=f"{width} fields, like line {layout.header_line}",
            )
    header_keys = [normal_name(f) for f in top[0]]
    sample_cols = [k for k in range(1, width) if header_keys[k] not in _TAXID_COLUMNS]
    id_row = next((i for i, row in enumerate(top) if normal_name(row[0]) in _ID_ROWS), 0)
    raw_ids = [top[id_row][k] for k in sample_cols]
    ids, note = raw_ids, None
    if len(set(ids)) < len(ids) and id_row != 0:
        ids = [f"{top[0][k]}:{i}" for k, i in zip(sample_cols, raw_ids, strict=True)]
        note = (
            f"ids in row {top[id_row][0]!r} repeat; each is prefixed with row "
            f"{top[0][0]!r}: '<{top[0][0]}>:<{top[id_row][0]}>'"
        )
    # the first line is the header unless a named id row follows it; then it is metadata
    meta_rows = [row for i, row in enumerate(top) if i != 0 or id_row != 0]
    obs = None
    if meta_rows:
        names = _unique_names([row[0] for row in meta_rows])
        obs = infer_column_types(
            pd.DataFrame(
                {
                    name: [row[k] for k in sample_cols]
                    for name, row in zip(names, meta_rows, strict=True)
                },
                index=pd.Index(ids),
            )
        )
    error_header = [top[id_row][0], *top[id_row][1:width]]
    block_layout = TextLayout(path, layout.sep, layout.n_skip, error_header)
    cells = parse_cells(block_layout, sample_cols, start_line=layout.header_line + len(top))
    selected, kingdom = _rank_masks(path, cells.row_names, rank)
    lines = np.asarray(cells.lines)
    kingdom_sums = cells.values[kingdom].sum(axis=0) if kingdom.any() else None
    locator = CellLocator(False, [k + 1 for k in sample_cols], lines[selected].tolist())
    feature_ids = [n for n, s in zip(cells.row_names, selected, strict=True) if s]
    return _Parsed(cells.values[selected].T, ids, feature_ids, locator, obs, kingdom_sums, note)


def _read_samples_as_rows(path: Path, layout: TextLayout, rank: str) -> _Parsed:
    header = layout.header
    clade_cols = [k for k in range(1, len(header)) if is_metaphlan_name(header[k])]
    if not clade_cols:
        raise InputError(
            path,
            "no MetaPhlAn clade names in the header",
            where=f"line {layout.header_line}",
            expected="columns named k__...|p__...|... (or rows, with "
            "orientation='samples-as-columns')",
        )
    clade_set = set(clade_cols)
    meta_cols = [k for k in range(1, len(header)) if k not in clade_set]
    cells = parse_cells(layout, clade_cols, meta_cols)
    if not cells.row_names:
        raise InputError(
            path, "empty table (a header and no data rows)", expected="one row per sample"
        )
    selected, kingdom = _rank_masks(path, [header[k] for k in clade_cols], rank)
    kingdom_sums = cells.values[:, kingdom].sum(axis=1) if kingdom.any() else None
    obs = None
    if meta_cols:
        obs = infer_column_types(
            pd.DataFrame(
                {header[k]: cells.text[k] for k in meta_cols}, index=pd.Index(cells.row_names)
            )
        )
    sel_cols = [k for k, s in zip(clade_cols, selected, strict=True) if s]
    locator = CellLocator(True, cells.lines, [k + 1 for k in sel_cols])
    return _Parsed(
        cells.values[:, selected],
        cells.row_names,
        [header[k] for k in sel_cols],
        locator,
        obs,
        kingdom_sums,
    )


__all__ = ["clade_rank", "read_metaphlan"]
