"""Sample metadata tables, joined onto ``obs`` by sample id.

A metadata file is a TSV/CSV with one row per sample. The sample id column is the one
given; else the first column when it is named ``#SampleID``, ``sample_id``, ``SampleID``,
``sample-id``, ``sample_name``, ``sample`` or ``id`` (any case); else the first column with
one of those names, in that order; else the first column.
Ids stay text (``001`` is not ``1``). QIIME 2 metadata files read as QIIME 2 reads them:
lines starting with ``#`` are comments wherever they are (a ``#SampleID`` header excepted)
and a ``#q2:types`` row below the header declares column types.

Column types: a column declared ``categorical`` in a ``#q2:types`` row stays text; one
declared ``numeric`` must hold numbers. Undeclared columns are numeric (float64) when every
value that is not a missing token parses as a number. Missing tokens
(:data:`MISSING_TOKENS`: blank, ``NA``, ``nan``, ``nd``, ``no_data``, ...) become NaN in
every column. Other columns stay text.

Joining (:func:`join_sample_metadata`): samples of the table without a metadata row get NaN
(a warning, and the count in ``uns["metadata_join"]["samples_without_metadata"]``);
metadata rows for samples not in the table are ignored (count in
``uns["metadata_join"]["metadata_rows_unused"]``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.errors import InputError
from synthomics.io.delimited import read_text_frame

MISSING_TOKENS: frozenset[str] = frozenset(
    {
        "",
        "-",
        "na",
        "n/a",
        "nan",
        "nd",
        "none",
        "null",
        "no_data",
        "missing",
        "not applicable",
        "not collected",
        "not provided",
    }
)
"""Cell texts (compared lower-case, stripped) that mean "no value"."""

_ID_COLUMNS = (
    "#sampleid",
    "sample_id",
    "sampleid",
    "sample-id",
    "#sample id",
    "sample id",
    "sample_name",
    "sample",
    "id",
)


def is_missing_token(text: object) -> bool:
    """Whether ``text`` is a missing value (NaN, None or one of :data:`MISSING_TOKENS`)."""
    if isinstance(text, str):
        return text.strip().lower() in MISSING_TOKENS
    return text is None or (isinstance(text, float) and np.isnan(text))


def infer_column(values: pd.Series) -> pd.Series:
    """Turn a column of text into float64 when every non-missing value is a number.

    Missing tokens become NaN; other text columns keep their text.
    """
    texts = values.to_numpy(dtype=object)
    missing = np.fromiter((is_missing_token(v) for v in texts), dtype=bool, count=len(texts))
    if not missing.all():
        try:  # NumPy parses like float(): exact, the same as the table readers
            numbers = np.array(texts[~missing], dtype=np.float64)
        except (TypeError, ValueError):
            numbers = None
        if numbers is not None:
            out = np.full(len(texts), np.nan)
            out[~missing] = numbers
            return pd.Series(out, index=values.index)
    out_text = texts.copy()
    out_text[missing] = np.nan
    return pd.Series(out_text, index=values.index, dtype=object)


def infer_column_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Apply :func:`infer_column` to every column of a text frame."""
    return pd.DataFrame({c: infer_column(frame[c]) for c in frame.columns}, index=frame.index)


def tidy_column(values: pd.Series) -> pd.Series:
    """Make a column storable in HDF5: numbers -> float64, text -> str with NaN.

    Integers with no missing value stay integers (int64), so that an age or a count
    read from BIOM keeps its type.

    Used on metadata coming from BIOM files and before writing ``.h5ad``: a column that
    mixes numbers and text becomes text; booleans stay booleans; ``None``, NaN and blank
    text are missing.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if values.dtype != object:
        return values
    arr = values.to_numpy(dtype=object)
    blank = np.fromiter(
        (isinstance(v, str) and not v.strip() for v in arr), dtype=bool, count=len(arr)
    )
    missing = pd.isna(arr) | blank
    present = arr[~missing]
    kinds = {type(v) for v in present}
    if kinds and all(issubclass(k, bool | np.bool_) for k in kinds) and not missing.any():
        return values
    integers = all(
        issubclass(k, int | np.integer) and not issubclass(k, bool | np.bool_) for k in kinds
    )
    if kinds and integers and not missing.any():
        return pd.Series(present.astype(np.int64), index=values.index, name=values.name)
    if kinds and all(
        issubclass(k, int | float | np.integer | np.floating) and not issubclass(k, bool | np.bool_)
        for k in kinds
    ):
        out = np.full(len(arr), np.nan)
        out[~missing] = present.astype(np.float64)
        return pd.Series(out, index=values.index, name=values.name)
    text = arr.copy()
    text[~missing] = [str(v) for v in present]
    text[missing] = np.nan
    return pd.Series(text, index=values.index, name=values.name, dtype=object)


def read_sample_metadata(
    path: str | os.PathLike[str], id_column: str | None = None
) -> pd.DataFrame:
    """Read a sample metadata table, indexed by sample id.

    Parameters
    ----------
    path
        TSV/CSV file (gz/bz2/xz compressed or not).
    id_column
        The sample id column; by default the first of the usual names (module docstring),
        else the first column.

    Returns
    -------
    pandas.DataFrame
        Index = sample ids (text); numeric columns as float64, others as text; missing
        tokens as NaN. The id column itself is not kept as a column.

    Raises
    ------
    InputError
        Missing file, no rows, unknown ``id_column``, empty or duplicate sample ids.
    """
    raw, first_line = read_text_frame(path, hash_comments=True)
    if id_column is None:
        lowered = {str(c).strip().lower(): c for c in raw.columns}
        first = raw.columns[0]
        id_column = (
            first
            if str(first).strip().lower() in _ID_COLUMNS
            else next((lowered[n] for n in _ID_COLUMNS if n in lowered), first)
        )
    elif id_column not in raw.columns:
        raise InputError(
            path, f"no column {id_column!r}", expected=f"an id column among {list(raw.columns)}"
        )
    keep = ~raw[id_column].astype(str).str.startswith("#q2:")
    all_lines = np.arange(first_line, first_line + len(raw))
    declared = _declared_types(raw[~keep], id_column, all_lines[~keep.to_numpy()], path)
    lines = all_lines[keep.to_numpy()]
    raw = raw[keep]
    if raw.empty:
        raise InputError(path, "metadata table has no rows", expected="one row per sample")
    ids = raw[id_column].astype(str).str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        raise InputError(
            path,
            "empty sample id",
            where=f"line {lines[np.argmax(empty)]}",
            expected="a sample id in every row",
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        name = ids.iloc[rows[0]]
        at = [int(lines[r]) for r in rows if ids.iloc[r] == name]
        raise InputError(
            path,
            f"duplicate sample id {name!r}",
            where="lines " + ", ".join(map(str, at[:5])),
            expected="one metadata row per sample",
        )
    body = raw.drop(columns=[id_column]).set_axis(pd.Index(ids.to_numpy(), name=None))
    columns = {}
    for column in body.columns:
        kind = declared.get(column)
        if kind == "categorical":
            text = body[column].to_numpy(dtype=object).copy()
            text[[is_missing_token(v) for v in text]] = np.nan
            columns[column] = pd.Series(text, index=body.index, dtype=object)
            continue
        columns[column] = infer_column(body[column])
        if kind == "numeric" and columns[column].dtype != np.float64:
            bad = next(
                k
                for k, v in enumerate(body[column])
                if not is_missing_token(v) and not _is_number(v)
            )
            raise InputError(
                path,
                f"{body[column].iloc[bad]!r} in column {column!r}, declared numeric",
                where=f"line {lines[bad]}",
                expected="a number, or 'categorical' in the #q2:types row",
            )
    return pd.DataFrame(columns, index=body.index)


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _declared_types(
    directives: pd.DataFrame, id_column: str, lines: np.ndarray, path: object
) -> dict[str, str]:
    """``{column: "categorical" | "numeric"}`` from a QIIME 2 ``#q2:types`` row."""
    declared: dict[str, str] = {}
    for k, (_, row) in enumerate(directives.iterrows()):
        if str(row[id_column]).strip().lower() != "#q2:types":
            continue
        for column, value in row.drop(id_column).items():
            kind = str(value).strip().lower()
            if kind in ("categorical", "numeric"):
                declared[str(column)] = kind
            elif kind:
                raise InputError(
                    path,
                    f"#q2:types declares {str(value).strip()!r} for column {column!r}",
                    where=f"line {lines[k]}",
                    expected="'categorical' or 'numeric'",
                )
    return declared


def load_sample_metadata(
    metadata: pd.DataFrame | str | os.PathLike[str] | None,
) -> tuple[pd.DataFrame | None, str | None]:
    """A metadata frame and its source name, from a path or a frame (or ``None``)."""
    if metadata is None:
        return None, None
    if isinstance(metadata, pd.DataFrame):
        return metadata, None
    return read_sample_metadata(metadata), str(Path(metadata))


def join_sample_metadata(
    adata: ad.AnnData, metadata: pd.DataFrame | str | os.PathLike[str], *, source: str | None = None
) -> ad.AnnData:
    """Join sample metadata onto ``adata.obs`` by sample id, in place.

    Columns already in ``obs`` with the same name are replaced by the metadata's. Counts of
    unmatched samples and unused rows go to ``uns["metadata_join"]``; samples without
    metadata also raise a warning.

    Raises
    ------
    InputError
        If no sample of the table has a metadata row (the ids do not match at all).
    """
    frame, read_from = load_sample_metadata(metadata)
    assert frame is not None
    source = source or read_from
    index = frame.index.astype(str)
    frame = frame.set_axis(index)
    has_row = adata.obs_names.isin(index)
    missing = int((~has_row).sum())
    unused = int((~index.isin(adata.obs_names)).sum())
    if not has_row.any():
        raise InputError(
            source,
            "no sample id of the table is in the metadata",
            where=f"table samples like {list(adata.obs_names[:3])}, metadata ids like "
            f"{list(index[:3])}",
            expected="metadata rows keyed by the table's sample ids",
        )
    if missing:
        absent = ", ".join(repr(s) for s in adata.obs_names[~has_row][:5])
        warnings.warn(
            f"{source or 'metadata'}: {missing} of {adata.n_obs} samples have no "
            f"metadata row ({absent}{' ...' if missing > 5 else ''})",
            UserWarning,
            stacklevel=2,
        )
    obs = adata.obs.drop(columns=[c for c in frame.columns if c in adata.obs.columns])
    adata.obs = obs.join(frame, how="left")
    adata.uns["metadata_join"] = {
        "source_file": source or "",
        "samples_without_metadata": missing,
        "metadata_rows_unused": unused,
    }
    return adata


__all__ = [
    "MISSING_TOKENS",
    "infer_column",
    "infer_column_types",
    "is_missing_token",
    "join_sample_metadata",
    "load_sample_metadata",
    "read_sample_metadata",
    "tidy_column",
]
