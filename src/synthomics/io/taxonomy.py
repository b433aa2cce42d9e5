"""Taxonomy strings and taxonomy tables, split into the rank columns of ``var``.

Four lineage styles are recognised, each by its rank prefixes:

============  ==========================================  =====================
style         example                                     prefixes
============  ==========================================  =====================
Greengenes    ``k__Bacteria; p__Firmicutes; c__; ...``    ``k p c o f g s``
SILVA (QIIME) ``D_0__Bacteria;D_1__Firmicutes;...``        ``D_0`` ... ``D_7``
GTDB          ``d__Bacteria;p__Firmicutes;...``            ``d p c o f g s``
MetaPhlAn     ``k__Bacteria|p__Firmicutes|...|t__...``     ``k p c o f g s t``
============  ==========================================  =====================

Levels are separated by ``|`` when the string has one, else by ``;``. A level without a
prefix takes its rank from its position (``Bacteria;Firmicutes`` is kingdom, phylum). Domains
(``d__``) go into the ``kingdom`` column. Empty levels (``g__``, ``NA``, blank) are missing.

Every parsed lineage is also written back in one canonical form, the ``lineage`` column:
MetaPhlAn style, ``k__Bacteria|p__Firmicutes|c__|o__X``, down to the deepest named rank, so
that tables from any source compare equal and round trips through BIOM do not change it.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import RANKS
from synthomics.errors import InputError
from synthomics.io.delimited import read_text_frame

RANK_PREFIXES: dict[str, str] = {rank: rank[0] for rank in RANKS} | {"strain": "t"}
"""One-letter prefix of each rank in the canonical lineage (``kingdom`` -> ``k``)."""

_PREFIX_RANK: dict[str, str] = {p: r for r, p in RANK_PREFIXES.items()} | {"d": "kingdom"}
_PREFIXED = re.compile(r"^([A-Za-z])__(.*)$")
_SILVA = re.compile(r"^D_(\d+)__(.*)$")
_MISSING_NAMES = frozenset({"", "na", "nan", "none", "null"})

_RANK_ALIASES: dict[str, str] = {
    "kingdom": "kingdom",
    "domain": "kingdom",
    "superkingdom": "kingdom",
    "phylum": "phylum",
    "class": "class",
    "order": "order",
    "family": "family",
    "genus": "genus",
    "species": "species",
    "strain": "strain",
}
_ID_COLUMNS = (
    "feature_id",
    "featureid",
    "feature id",
    "#otu id",
    "otu id",
    "otu_id",
    "#otuid",
    "otuid",
    "otu",
    "asv",
    "id",
    "#featureid",
    "taxon_id",
)
_STRING_COLUMNS = (
    "taxon",
    "taxonomy",
    "lineage",
    "consensus lineage",
    "consensuslineage",
    "taxonomy_string",
)


def _clean(name: str | None) -> str | None:
    if name is None:
        return None
    name = name.strip().strip("\"'").strip()
    return None if name.lower() in _MISSING_NAMES else name


def parse_lineage(text: str | None) -> dict[str, str | None]:
    """Split one taxonomy string into ranks.

    Parameters
    ----------
    text
        A lineage in Greengenes, SILVA, GTDB or MetaPhlAn style (see the module docstring).

    Returns
    -------
    dict
        ``{rank: name}`` for every rank the string mentions, in :data:`RANKS` order; the
        name is ``None`` where the level is empty (``g__``). Names carry no prefix.

    Examples
    --------
    >>> parse_lineage("k__Bacteria; p__Firmicutes; c__")
    {'kingdom': 'Bacteria', 'phylum': 'Firmicutes', 'class': None}
    >>> parse_lineage("d__Archaea;p__Halobacteriota")
    {'kingdom': 'Archaea', 'phylum': 'Halobacteriota'}
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return {}
    text = str(text).strip()
    if _clean(text) is None:
        return {}
    separator = "|" if "|" in text else ";"
    ranks: dict[str, str | None] = {}
    for position, level in enumerate(text.rstrip(separator + " ").split(separator)):
        level = level.strip()
        rank: str | None
        silva = _SILVA.match(level)
        prefixed = _PREFIXED.match(level)
        if silva:
            depth = int(silva.group(1))
            rank = RANKS[depth] if depth < len(RANKS) else None
            name = silva.group(2)
        elif prefixed and prefixed.group(1).lower() in _PREFIX_RANK:
            rank = _PREFIX_RANK[prefixed.group(1).lower()]
            name = prefixed.group(2)
        else:
            rank = RANKS[position] if position < len(RANKS) else None
            name = level
        if rank is None or rank in ranks:
            continue
        ranks[rank] = _clean(name)
    return {rank: ranks[rank] for rank in RANKS if rank in ranks}


def format_lineage(ranks: Mapping[str, str | None]) -> str | None:
    """Write ranks as a canonical lineage, ``k__Bacteria|p__Firmicutes|c__|o__X``.

    Levels run from kingdom down to the deepest named rank; missing levels above it stay as
    empty prefixes. Returns ``None`` when no rank is named.
    """
    names = [_clean(_as_text(ranks.get(rank))) for rank in RANKS]
    named = [i for i, n in enumerate(names) if n is not None]
    if not named:
        return None
    return "|".join(
        f"{RANK_PREFIXES[rank]}__{names[i] or ''}" for i, rank in enumerate(RANKS[: named[-1] + 1])
    )


def _as_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def looks_like_lineage(name: str) -> bool:
    """Whether a feature name looks like a taxonomy string rather than an OTU/ASV id.

    True for names with a rank prefix (``k__``, ``D_0__``) or at least two ``;``/``|`` levels.
    """
    name = str(name).strip()
    first = re.split(r"[|;]", name, maxsplit=1)[0].strip()
    if _SILVA.match(first) or (_PREFIXED.match(first) and first[0].lower() in _PREFIX_RANK):
        return True
    return len([p for p in re.split(r"[|;]", name) if p.strip()]) >= 2


def _rank_frame(rows: Sequence[Mapping[str, str | None]], index: pd.Index) -> pd.DataFrame:
    present = [r for r in RANKS if any(r in row for row in rows)]
    deepest = RANKS.index(present[-1]) + 1 if present else 0
    columns = list(RANKS[:deepest])
    frame = pd.DataFrame(
        {
            rank: pd.Series([row.get(rank) for row in rows], index=index, dtype=object)
            for rank in columns
        },
        index=index,
    )
    frame["lineage"] = pd.Series([format_lineage(row) for row in rows], index=index, dtype=object)
    return frame.astype(object).where(frame.notna(), np.nan)


def taxonomy_frame(
    strings: Iterable[str | None], index: Iterable[str] | None = None
) -> pd.DataFrame:
    """Parse many taxonomy strings into rank columns plus the canonical ``lineage``.

    Parameters
    ----------
    strings
        One taxonomy string per feature (any style of :func:`parse_lineage`; ``None`` for none).
    index
        Feature ids; defaults to the strings themselves.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RANKS` from kingdom down to the deepest rank any string mentions, then
        ``lineage``; missing names are NaN.
    """
    strings = list(strings)
    idx = pd.Index([str(s) for s in strings] if index is None else [str(i) for i in index])
    parsed: dict[object, dict[str, str | None]] = {}
    for text in strings:  # many features share a lineage: parse each string once
        key = None if text is None or (isinstance(text, float) and np.isnan(text)) else text
        if key not in parsed:
            parsed[key] = parse_lineage(key)
    return _rank_frame([parsed[None if _as_text(s) is None else s] for s in strings], idx)


def rank_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Map columns of ``frame`` naming ranks (``Kingdom``, ``Domain``...) to :data:`RANKS`."""
    found: dict[str, str] = {}
    for column in frame.columns:
        rank = _RANK_ALIASES.get(str(column).strip().lower())
        if rank is not None and rank not in found.values():
            found[str(column)] = rank
    return found


def taxonomy_from_rank_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a table with ``Kingdom`` ... ``Species`` columns into rank columns + ``lineage``.

    ``NA`` and blanks are missing; a name that repeats its own rank prefix (``g__Prevotella``
    in a ``Genus`` column) loses it.
    """
    mapping = rank_columns(frame)
    rows: list[dict[str, str | None]] = []
    for values in frame[list(mapping)].itertuples(index=False, name=None):
        row: dict[str, str | None] = {}
        for (_, rank), value in zip(mapping.items(), values, strict=True):
            name = _clean(_as_text(value))
            if name is not None:
                prefixed = _PREFIXED.match(name)
                if prefixed and _PREFIX_RANK.get(prefixed.group(1).lower()) == rank:
                    name = _clean(prefixed.group(2))
            row[rank] = name
        rows.append(row)
    out = _rank_frame(rows, frame.index)
    extra = [c for c in frame.columns if str(c) not in mapping]
    for column in extra:
        out[column] = frame[column].to_numpy()
    return out


def read_taxonomy_table(path: str | os.PathLike[str], id_column: str | None = None) -> pd.DataFrame:
    """Read a feature taxonomy table into rank columns + ``lineage``, indexed by feature id.

    Two layouts are accepted: rank columns (``Kingdom`` ... ``Species``, as phyloseq's
    ``tax_table`` exports, ``NA`` for unassigned) or one taxonomy-string column (``Taxon`` as
    in QIIME 2's ``taxonomy.tsv``, ``taxonomy``, ``Consensus Lineage``, or simply the second
    of two columns). The feature id column is ``id_column``, else the first column. Other
    columns (``Confidence``) are kept as they are. A QIIME 2 ``FeatureData[Taxonomy]``
    artifact (``.qza``) is read by :func:`~synthomics.io.qiime.read_qza_taxonomy`.

    Raises
    ------
    InputError
        If the file is missing, empty, has duplicate feature ids, or no taxonomy column.
    """
    from synthomics.io.qiime import is_artifact, read_qza_taxonomy

    if is_artifact(path):
        return read_qza_taxonomy(path, id_column=id_column)
    raw, first_line = read_text_frame(path)
    if raw.shape[1] < 2:
        raise InputError(
            path,
            "taxonomy table has a single column",
            expected="a feature id column and rank or taxonomy columns",
        )
    id_col = _pick_id_column(raw, id_column, path)
    ids = raw[id_col].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        row = int(np.flatnonzero(ids.duplicated().to_numpy())[0])
        raise InputError(
            path,
            f"duplicate feature id {dup.iloc[0]!r}",
            where=f"line {first_line + row}",
            expected="unique feature ids",
        )
    body = raw.drop(columns=[id_col]).set_axis(pd.Index(ids, name=None))
    if rank_columns(body):
        return taxonomy_from_rank_columns(body)
    lowered = {str(c).strip().lower(): c for c in body.columns}
    string_col = next((lowered[n] for n in _STRING_COLUMNS if n in lowered), None)
    if string_col is None and body.shape[1] == 1:
        string_col = body.columns[0]
    if string_col is None:
        raise InputError(
            path,
            f"no taxonomy column among {list(body.columns)}",
            expected="Kingdom..Species columns or a 'Taxon'/'taxonomy' column",
        )
    out = taxonomy_frame(body[string_col].tolist(), index=body.index)
    for column in body.columns:
        if column != string_col:
            out[column] = body[column].to_numpy()
    return out


def _pick_id_column(raw: pd.DataFrame, id_column: str | None, path: object) -> str:
    if id_column is not None:
        if id_column not in raw.columns:
            raise InputError(
                path, f"no column {id_column!r}", expected=f"one of {list(raw.columns)}"
            )
        return id_column
    lowered = {str(c).strip().lower(): c for c in raw.columns}
    for name in _ID_COLUMNS:
        if name in lowered:
            return lowered[name]
    return raw.columns[0]


def taxonomy_columns(var: pd.DataFrame) -> list[str]:
    """The rank columns of a ``var`` frame, in :data:`RANKS` order."""
    return [r for r in RANKS if r in var.columns]


def join_taxonomy(adata: ad.AnnData, taxonomy: pd.DataFrame | str | os.PathLike[str]) -> ad.AnnData:
    """Replace the taxonomy of ``adata.var`` with the rows of a taxonomy table, in place.

    Rank columns and ``lineage`` already in ``var`` are dropped first. Features absent from
    the table get missing ranks (warning; count in ``uns["taxonomy_join"]``); table rows for
    features not in the data are ignored (count there too).
    """
    source = None
    if not isinstance(taxonomy, pd.DataFrame):
        source = str(taxonomy)
        taxonomy = read_taxonomy_table(taxonomy)
    var = adata.var.drop(columns=[c for c in (*RANKS, "lineage") if c in adata.var.columns])
    joined = var.join(taxonomy.set_axis(taxonomy.index.astype(str)), how="left")
    missing = int((~adata.var_names.isin(taxonomy.index.astype(str))).sum())
    unused = int((~taxonomy.index.astype(str).isin(adata.var_names)).sum())
    if missing == adata.n_vars:
        raise InputError(
            source,
            "no feature id of the table is in the taxonomy table",
            where=f"first feature {adata.var_names[0]!r}",
            expected="taxonomy rows keyed by the table's feature ids",
        )
    if missing:
        warnings.warn(
            f"{source or 'taxonomy'}: {missing} of {adata.n_vars} features have no taxonomy row",
            UserWarning,
            stacklevel=2,
        )
    adata.var = joined.astype({c: object for c in (*RANKS, "lineage") if c in joined.columns})
    adata.uns["taxonomy_join"] = {
        "source_file": source or "",
        "features_without_taxonomy": missing,
        "taxonomy_rows_unused": unused,
    }
    return adata


__all__ = [
    "RANK_PREFIXES",
    "format_lineage",
    "join_taxonomy",
    "looks_like_lineage",
    "parse_lineage",
    "rank_columns",
    "read_taxonomy_table",
    "taxonomy_columns",
    "taxonomy_frame",
    "taxonomy_from_rank_columns",
]
