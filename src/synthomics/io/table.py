"""TSV/CSV feature tables: samples as rows or as columns, QIIME exports included.

The file layout (comment lines, header, delimiter, compression) and the exact number
parsing are those of :mod:`synthomics.io.delimited`. A trailing column named ``taxonomy``
(or ``Taxonomy``, ``Consensus Lineage``, ``Taxon``, ``lineage``) in a features-as-rows
table, as QIIME's ``biom convert --to-tsv --header-key taxonomy`` writes, holds the
features' taxonomy strings. Feature names that look like lineages are parsed into rank
columns too.

Orientation (``orientation="auto"``): the first rule that decides wins
    1. the header's first cell names the axis: ``#OTU ID``, ``OTU``, ``feature_id``,
       ``ASV``, ``taxon``, ``clade_name``, ``genus``... -> features are rows;
       ``sample_id``, ``#SampleID``, ``SampleID``, ``sample`` -> samples are rows;
    2. a trailing taxonomy column -> features are rows;
    3. names that look like taxonomy (rank prefixes ``k__``/``D_0__`` or two ``;``/``|``
       levels): if at least half the column names do and under a tenth of the row names,
       samples are rows; and the reverse;
    4. sample metadata, when given: the axis whose names match more metadata sample ids is
       the samples axis;
    5. row names numbered 0..n-1 or 1..n (a data frame's row index, as
       ``pandas.DataFrame.to_csv`` writes it) while the column names are not: samples are
       rows;
    6. shape, as a last resort and only when one axis is at least twice as long as the
       other: the longer axis is taken as the features.

    When no rule decides, the table is refused with a message naming ``--orientation``
    rather than read in a guessed orientation. ``orientation="samples-as-rows"`` or
    ``"samples-as-columns"`` skips the rules. The rule that decided is stored in
    ``uns["orientation_rule"]``.

Tables whose feature names are MetaPhlAn clades are told apart by :func:`sniff_metaphlan`
(without reading the whole file) and read by :func:`synthomics.io.metaphlan.read_metaphlan`.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import RANKS, microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.io.delimited import (
    check_header,
    format_values,
    iter_lines,
    normal_name,
    open_write,
    parse_cells,
    scan_layout,
    sep_hint,
    write_frame,
)
from synthomics.io.taxonomy import looks_like_lineage, taxonomy_frame
from synthomics.io.validate import (
    DEFAULT_SUM_TOLERANCE,
    AllZeroPolicy,
    CellLocator,
    SumRule,
    UnitsOption,
    check_options,
    validate_abundance,
)

Orientation = Literal["auto", "samples-as-rows", "samples-as-columns"]

_FEATURE_HEADERS = frozenset(
    {
        "otuid",
        "otu",
        "otus",
        "featureid",
        "feature",
        "features",
        "asv",
        "asvid",
        "taxon",
        "taxa",
        "cladename",
        "clade",
        "taxonomy",
        "lineage",
        "genus",
        "species",
    }
)
_SAMPLE_HEADERS = frozenset({"sampleid", "sample", "samples", "samplename", "sampleids"})
_TAXONOMY_COLUMNS = frozenset(
    {"taxonomy", "consensuslineage", "taxon", "lineage", "taxonomystring"}
)

# --------------------------------------------------------------------------- sniffing

_METAPHLAN = re.compile(r"^[kd]__[^|;]*(\|[kdpcofgst]__[^|;]*)*$")


def is_metaphlan_name(name: str) -> bool:
    """Whether ``name`` is a MetaPhlAn clade name, ``k__X`` or ``k__X|p__Y|...``."""
    return bool(_METAPHLAN.match(str(name).strip().strip('"')))


def sniff_metaphlan(path: str | os.PathLike[str], max_lines: int = 500) -> bool:
    """Whether a text table's feature names are MetaPhlAn lineages (``k__...|p__...``).

    Reads only the header and the first field of at most ``max_lines`` lines. True when at
    least half of the header names are MetaPhlAn names with ``|`` levels (samples as rows),
    or when, below any metadata rows, a first-column name is a MetaPhlAn name and it or one
    of the next ten has ``|`` levels (features as rows, as in MetAML's table with 211
    metadata rows on top). Files that cannot be read give ``False``.
    """
    try:
        layout = scan_layout(path)
        names = layout.header[1:]
        piped = sum("|" in n and is_metaphlan_name(n) for n in names)
        if names and piped >= max(1, len(names) // 2):
            return True
        seen_at: int | None = None
        for k, line in enumerate(iter_lines(path)):
            if k > max_lines or (seen_at is not None and k > seen_at + 10):
                break
            if k < layout.n_skip:
                continue
            first = line.split(layout.sep, 1)[0]
            if is_metaphlan_name(first):
                if "|" in first:
                    return True
                seen_at = k if seen_at is None else seen_at
    except (InputError, OSError):
        return False
    return False


# --------------------------------------------------------------------------- orientation


@dataclass(frozen=True)
class OrientationChoice:
    """Result of :func:`choose_orientation`: whether samples are rows, and why."""

    samples_as_rows: bool
    rule: str


def lineage_share(names: Sequence[str]) -> float:
    """Share of (up to 500 of) ``names`` that look like taxonomy strings."""
    if not names:
        return 0.0
    sample = list(names[:500])
    return sum(looks_like_lineage(n) for n in sample) / len(sample)


def choose_orientation(
    corner: str,
    row_names: Sequence[str],
    column_names: Sequence[str],
    *,
    has_taxonomy_column: bool = False,
    sample_ids: Sequence[str] | None = None,
    source: str | os.PathLike[str] | None = None,
) -> OrientationChoice:
    """Decide whether samples are the rows of a table (rules in the module docstring).

    Parameters
    ----------
    corner
        The header's first cell.
    row_names, column_names
        First-column values and the other header cells (taxonomy column excluded).
    has_taxonomy_column
        Whether a trailing taxonomy column was found.
    sample_ids
        Sample ids of the metadata, if any.
    source
        The file, named in the error.

    Raises
    ------
    InputError
        When no rule decides (the evidence is too weak to read the table safely).
    """
    key = normal_name(corner)
    if key in _FEATURE_HEADERS:
        return OrientationChoice(False, f"header cell {corner!r} names features")
    if key in _SAMPLE_HEADERS:
        return OrientationChoice(True, f"header cell {corner!r} names samples")
    if has_taxonomy_column:
        return OrientationChoice(False, "trailing taxonomy column")
    rows_tax, cols_tax = lineage_share(row_names), lineage_share(column_names)
    if cols_tax >= 0.5 and rows_tax < 0.1:
        return OrientationChoice(True, "column names look like taxonomy")
    if rows_tax >= 0.5 and cols_tax < 0.1:
        return OrientationChoice(False, "row names look like taxonomy")
    if sample_ids is not None:
        known = {str(s) for s in sample_ids}
        in_rows = sum(str(n) in known for n in row_names)
        in_cols = sum(str(n) in known for n in column_names)
        if in_rows != in_cols:
            axis = "row" if in_rows > in_cols else "column"
            return OrientationChoice(
                in_rows > in_cols, f"metadata sample ids match {max(in_rows, in_cols)} {axis} names"
            )
    if _numbered(row_names) and not _numbered(column_names):
        return OrientationChoice(True, "row names are numbered like a data frame's row index")
    n_rows, n_cols = len(row_names), len(column_names)
    if max(n_rows, n_cols) >= SHAPE_RATIO * min(n_rows, n_cols):
        rows_longer = n_rows > n_cols
        return OrientationChoice(
            not rows_longer,
            f"shape: {max(n_rows, n_cols)} {'rows' if rows_longer else 'columns'} against "
            f"{min(n_rows, n_cols)} {'columns' if rows_longer else 'rows'}, the longer axis "
            "taken as features",
        )
    raise InputError(
        source,
        f"cannot tell whether the {n_rows} rows or the {n_cols} columns are the samples "
        "(no header cell naming an axis, no taxonomy-like names, no metadata ids to match)",
        expected="--orientation samples-as-rows or samples-as-columns "
        "(orientation= in Python), or --metadata with the sample ids",
    )


SHAPE_RATIO = 2
"""How much longer one axis must be for the shape alone to decide the orientation."""


def _numbered(names: Sequence[str]) -> bool:
    """Whether ``names`` are the integers 0..n-1 or 1..n in order (a row index)."""
    if len(names) < 2 or not all(str(n).strip().isdigit() for n in names):
        return False
    values = [int(n) for n in names]
    return values[0] in (0, 1) and values == list(range(values[0], values[0] + len(values)))


def orientation_option(orientation: str, source: object) -> bool | None:
    """``None`` for ``"auto"``, else whether samples are rows; unknown values rejected."""
    if orientation == "auto":
        return None
    if orientation in ("samples-as-rows", "samples-as-columns"):
        return orientation == "samples-as-rows"
    raise InputError(
        source,
        f"unknown orientation {orientation!r}",
        expected="'auto', 'samples-as-rows' or 'samples-as-columns'",
    )


# --------------------------------------------------------------------------- reading


def read_table(
    path: str | os.PathLike[str],
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    orientation: Orientation = "auto",
    sep: str | None = None,
    units: UnitsOption = "auto",
    sum_rule: SumRule = "equal",
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    all_zero: AllZeroPolicy = "drop",
    taxonomy_tree: bool = True,
) -> ad.AnnData:
    """Read a TSV/CSV feature table (either orientation, QIIME exports too).

    Parameters
    ----------
    path
        The table (gzip/bzip2/xz compressed or not).
    metadata
        Sample metadata file or frame, joined on sample id
        (:func:`~synthomics.io.metadata.join_sample_metadata`); it also helps tell the
        orientation.
    tree
        Newick file or :class:`skbio.TreeNode`, matched to the features
        (:func:`~synthomics.io.tree.attach_tree`).
    taxonomy
        Feature taxonomy table or frame (:func:`~synthomics.io.taxonomy.read_taxonomy_table`);
        replaces a taxonomy column or taxonomy parsed from the feature names.
    orientation
        ``"auto"`` (rules in the module docstring), ``"samples-as-rows"`` or
        ``"samples-as-columns"``.
    sep
        Field delimiter; by default from the name or the header.
    units, sum_rule, sum_tolerance, all_zero
        See :func:`~synthomics.io.validate.validate_abundance`.
    taxonomy_tree
        Without a tree file, build one from the rank columns when there are any
        (:func:`~synthomics.io.tree.tree_from_taxonomy`).

    Returns
    -------
    anndata.AnnData
        Microbiome container (:mod:`synthomics.container`).

    Raises
    ------
    InputError
        Missing file, empty table, a cell that is not a finite number (line, column and text
        named), negative values, duplicate ids, bad sample sums, all-zero samples with
        ``all_zero="error"``.
    """
    from synthomics.io.metadata import load_sample_metadata
    from synthomics.io.microbiome import finish_microbiome

    check_options(
        units=units, sum_rule=sum_rule, all_zero=all_zero, sum_tolerance=sum_tolerance, source=path
    )
    forced = orientation_option(orientation, path)
    layout = scan_layout(path, sep)
    check_header(layout)
    if len(layout.header) < 2:
        raise InputError(
            path,
            "the table has a single column",
            where=f"line {layout.header_line}",
            expected=f"an id column and data columns separated by {layout.sep!r}",
        )
    meta_frame, meta_source = load_sample_metadata(metadata)
    tax_col = _taxonomy_column(layout.header)
    data_cols = [k for k in range(1, len(layout.header)) if k != tax_col]
    cells = parse_cells(layout, data_cols, [] if tax_col is None else [tax_col])
    if not cells.row_names:
        raise InputError(
            path, "empty table (a header and no data rows)", expected="at least one data row"
        )
    column_names = [layout.header[k] for k in data_cols]
    if forced is None:
        choice = choose_orientation(
            layout.header[0],
            cells.row_names,
            column_names,
            has_taxonomy_column=tax_col is not None,
            sample_ids=None if meta_frame is None else list(meta_frame.index),
            source=path,
        )
    else:
        choice = OrientationChoice(forced, f"orientation={orientation!r}")
    _refuse_mixed_clades(path, column_names if choice.samples_as_rows else cells.row_names)
    col_numbers = [k + 1 for k in data_cols]
    if choice.samples_as_rows:
        X, sample_ids, feature_ids = cells.values, cells.row_names, column_names
        locator = CellLocator(True, cells.lines, col_numbers)
    else:
        X, sample_ids, feature_ids = cells.values.T, column_names, cells.row_names
        locator = CellLocator(False, col_numbers, cells.lines)
    checked = validate_abundance(
        X,
        sample_ids,
        feature_ids,
        source=path,
        units=units,
        sum_rule=sum_rule,
        sum_tolerance=sum_tolerance,
        all_zero=all_zero,
        locator=locator,
    )
    var = None
    if tax_col is not None and not choice.samples_as_rows:
        var = taxonomy_frame(cells.text[tax_col], index=feature_ids)
    elif lineage_share(feature_ids) >= 0.5:
        var = taxonomy_frame(feature_ids)
    adata = microbiome_anndata(
        checked.X,
        checked.sample_ids,
        checked.feature_ids,
        units=checked.units,
        taxonomy=var,
        source=str(path),
    )
    adata.uns["orientation"] = (
        "samples-as-rows" if choice.samples_as_rows else ("samples-as-columns")
    )
    adata.uns["orientation_rule"] = choice.rule
    if checked.dropped:
        adata.uns["dropped_all_zero_samples"] = list(checked.dropped)
    return finish_microbiome(
        adata,
        metadata=meta_frame,
        metadata_source=meta_source,
        taxonomy=taxonomy,
        tree=tree,
        taxonomy_tree=taxonomy_tree,
    )


def _refuse_mixed_clades(path: str | os.PathLike[str], features: Sequence[str]) -> None:
    """MetaPhlAn clades of several depths would count each read once per rank."""
    depths = {n.count("|") for n in features if is_metaphlan_name(n)}
    if len(depths) > 1:
        raise InputError(
            path,
            f"feature names are MetaPhlAn clades of {len(depths)} different ranks",
            expected="a table at one rank; read MetaPhlAn tables with "
            "synthomics.io.metaphlan.read_metaphlan (format='metaphlan'), which picks one rank",
        )


def _taxonomy_column(header: Sequence[str]) -> int | None:
    last = len(header) - 1
    if last >= 2 and normal_name(header[last]) in _TAXONOMY_COLUMNS:
        return last
    return None


# --------------------------------------------------------------------------- writing


def write_table(
    adata: ad.AnnData,
    path: str | os.PathLike[str],
    *,
    taxonomy: str | os.PathLike[str] | None = None,
    metadata: str | os.PathLike[str] | None = None,
    sep: str | None = None,
) -> Path:
    """Write a microbiome container as a TSV/CSV table, samples as rows, atomically.

    The first column is ``sample_id``; the others are the feature ids. Counts are written as
    integers, other values with the shortest exact text (:func:`repr`). Compression follows
    the extension (``.gz``, ``.bz2``, ``.xz``).

    Parameters
    ----------
    adata
        Microbiome container.
    path
        Output table.
    taxonomy
        Optional second file for ``var``: ``feature_id``, the rank columns and ``lineage``
        (read back with ``read_table(..., taxonomy=...)``).
    metadata
        Optional third file for ``obs``: ``sample_id`` and the metadata columns
        (read back with ``read_table(..., metadata=...)``).
    sep
        Delimiter; ``,`` for ``.csv`` names, else tab.

    Returns
    -------
    pathlib.Path
        The table's path.
    """
    path = Path(path)
    sep = sep or sep_hint(path) or "\t"
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    rows = format_values(X)
    with atomic_path(path) as tmp, open_write(tmp, path) as handle:
        writer = csv.writer(handle, delimiter=sep, lineterminator="\n")
        writer.writerow(["sample_id", *map(str, adata.var_names)])
        for name, row in zip(adata.obs_names, rows, strict=True):
            writer.writerow([str(name), *row])
    if taxonomy is not None:
        columns = [c for c in (*RANKS, "lineage") if c in adata.var.columns]
        if not columns:
            raise InputError(
                taxonomy,
                "the features have no taxonomy to write",
                expected="rank columns or a lineage column in var",
            )
        frame = adata.var[columns].rename_axis("feature_id")
        write_frame(frame, taxonomy)
    if metadata is not None:
        write_frame(adata.obs.rename_axis("sample_id"), metadata)
    return path


__all__ = [
    "OrientationChoice",
    "choose_orientation",
    "is_metaphlan_name",
    "lineage_share",
    "orientation_option",
    "read_table",
    "sniff_metaphlan",
    "write_table",
]
