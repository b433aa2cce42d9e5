"""BIOM feature tables (1.0 JSON and 2.x HDF5) through biom-format.

Reading
    :func:`biom.load_table` reads JSON, HDF5 and classic text BIOM. gzip-compressed files are
    decompressed to a temporary file first, since biom-format cannot open gzipped HDF5.
    Observation metadata ``taxonomy`` (a list of levels or one string, any style of
    :mod:`synthomics.io.taxonomy`) becomes rank columns and ``lineage``; other scalar
    observation metadata become ``var`` columns. Sample metadata become ``obs`` columns.

Writing
    HDF5 (BIOM 2.1) by default; JSON (BIOM 1.0) when the name ends in ``.json`` or
    ``.json.gz``; a ``.gz`` name is gzip-compressed. Taxonomy is written as the observation
    metadata ``taxonomy`` (``["k__Bacteria", "p__Firmicutes", ..., "s__"]``, one level per
    rank column); ``obs`` columns as sample metadata: numbers as floats, text as text,
    missing text as empty strings (read back as missing). Values are written as float64
    (HDF5) or with the shortest exact text (JSON; biom-format's own JSON writer keeps six
    decimals, so the values are rewritten), so a round trip does not change a value. The
    units are noted in the file's ``generated_by`` (``synthomics 0.1.0; units=percent``) and
    used again when the file is read.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd

from synthomics.container import RANKS, microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.io.delimited import compression_of
from synthomics.io.taxonomy import RANK_PREFIXES, taxonomy_frame
from synthomics.io.validate import (
    DEFAULT_SUM_TOLERANCE,
    AllZeroPolicy,
    SumRule,
    UnitsOption,
    check_options,
    validate_abundance,
)

_TAXONOMY_KEYS = ("taxonomy", "Taxonomy", "taxon", "Consensus Lineage", "consensus_lineage")


def _load_biom_table(path: Path) -> Any:
    from biom import load_table

    if not path.exists():
        raise InputError(path, "file not found", expected="an existing file")
    try:
        if compression_of(path) == "gzip":
            with tempfile.TemporaryDirectory(prefix="synthomics-biom-") as tmp:
                inner = Path(tmp) / path.name.removesuffix(".gz")
                with gzip.open(path, "rb") as src, open(inner, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                return load_table(str(inner))
        return load_table(str(path))
    except InputError:
        raise
    except Exception as exc:  # biom-format raises TypeError/ValueError/KeyError/OSError...
        raise InputError(
            path,
            f"not a readable BIOM table ({exc.__class__.__name__}: {exc})",
            expected="BIOM 1.0 JSON or 2.x HDF5, optionally gzipped",
        ) from exc


def _load_nonempty(path: Path) -> Any:
    table = _load_biom_table(path)
    if 0 in table.shape:
        # biom-format reads any text as a classic (TSV) table; garbage gives an empty one
        raise InputError(
            path,
            f"not a BIOM table, or an empty one (shape {table.shape})",
            expected="BIOM 1.0 JSON or 2.x HDF5 with samples and observations",
        )
    return table


def _taxonomy_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple | np.ndarray):
        levels = [str(v).strip() for v in value]
        return "; ".join(levels) if any(levels) else None
    text = str(value).strip()
    return text or None


_NOTE = re.compile(r"^synthomics\b.*\bunits=(counts|proportion|percent)\b")


def _recorded_units(table: Any) -> str | None:
    """Units noted in ``generated_by`` by :func:`write_biom`, if the file is ours."""
    match = _NOTE.match(str(getattr(table, "generated_by", "") or ""))
    return match.group(1) if match else None


def _observation_frame(table: Any, feature_ids: list[str]) -> pd.DataFrame | None:
    metadata = table.metadata(axis="observation")
    if metadata is None:
        return None
    keys = list(dict.fromkeys(k for md in metadata if md for k in md))
    tax_key = next((k for k in _TAXONOMY_KEYS if k in keys), None)
    frame = (
        taxonomy_frame(
            [_taxonomy_text(md.get(tax_key)) if md else None for md in metadata], index=feature_ids
        )
        if tax_key is not None
        else pd.DataFrame(index=pd.Index(feature_ids))
    )
    for key in keys:
        if key == tax_key or key in frame.columns:
            continue
        values = [md.get(key) if md else None for md in metadata]
        if all(v is None or np.isscalar(v) for v in values):
            frame[key] = values
    return frame


def _sample_frame(table: Any, sample_ids: list[str]) -> pd.DataFrame | None:
    from synthomics.io.metadata import tidy_column

    metadata = table.metadata(axis="sample")
    if metadata is None:
        return None
    keys = list(dict.fromkeys(k for md in metadata if md for k in md))
    index = pd.Index(sample_ids)
    columns: dict[str, pd.Series] = {}
    for key in keys:
        values = [md.get(key) if md else None for md in metadata]
        values = [None if isinstance(v, str) and not v.strip() else v for v in values]
        if not all(v is None or np.isscalar(v) for v in values):
            values = [None if v is None else str(v) for v in values]
        columns[key] = tidy_column(pd.Series(values, index=index, dtype=object))
    return pd.DataFrame(columns, index=index)


def read_biom(
    path: str | os.PathLike[str],
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    units: UnitsOption = "auto",
    sum_rule: SumRule | None = None,
    sum_tolerance: float = DEFAULT_SUM_TOLERANCE,
    all_zero: AllZeroPolicy = "drop",
    taxonomy_tree: bool = True,
) -> ad.AnnData:
    """Read a BIOM table (1.0 JSON or 2.x HDF5, gzipped or not).

    Parameters
    ----------
    path
        The ``.biom`` file.
    metadata, tree, taxonomy, taxonomy_tree
        Joined as by :func:`~synthomics.io.microbiome.finish_microbiome`; a metadata file's
        columns replace sample metadata of the same name found in the BIOM file.
    units, sum_rule, sum_tolerance, all_zero
        See :func:`~synthomics.io.validate.validate_abundance`. For files written by
        synthomics, ``units="auto"`` takes the units they record and ``sum_rule`` defaults
        to ``"at-most"`` (they were checked in full when first read); otherwise ``"equal"``.

    Returns
    -------
    anndata.AnnData
        Microbiome container; ``X`` dense samples x features.

    Raises
    ------
    InputError
        Missing or unreadable file, or a table failing validation.
    """
    from synthomics.io.microbiome import finish_microbiome

    path = Path(path)
    check_options(
        units=units,
        sum_rule=sum_rule or "equal",
        all_zero=all_zero,
        sum_tolerance=sum_tolerance,
        source=path,
    )
    table = _load_nonempty(path)
    recorded = _recorded_units(table)
    if units == "auto" and recorded is not None:
        units = recorded
    sum_rule = sum_rule or ("at-most" if recorded is not None else "equal")
    sample_ids = [str(s) for s in table.ids(axis="sample")]
    feature_ids = [str(f) for f in table.ids(axis="observation")]
    X = table.matrix_data.T.toarray()
    checked = validate_abundance(
        X,
        sample_ids,
        feature_ids,
        source=path,
        units=units,
        sum_rule=sum_rule,
        sum_tolerance=sum_tolerance,
        all_zero=all_zero,
    )
    var = _observation_frame(table, feature_ids)
    obs = _sample_frame(table, sample_ids)
    if obs is not None:
        obs = obs.iloc[checked.kept]
    adata = microbiome_anndata(
        checked.X,
        checked.sample_ids,
        checked.feature_ids,
        units=checked.units,
        taxonomy=var,
        obs=obs,
        source=str(path),
    )
    if checked.dropped:
        adata.uns["dropped_all_zero_samples"] = list(checked.dropped)
    return finish_microbiome(
        adata, metadata=metadata, taxonomy=taxonomy, tree=tree, taxonomy_tree=taxonomy_tree
    )


def _taxonomy_levels(var: pd.DataFrame) -> list[list[str]] | None:
    ranks = [r for r in RANKS if r in var.columns]
    if not ranks and "lineage" in var.columns:
        from synthomics.io.taxonomy import taxonomy_frame as parse

        var = parse(var["lineage"].where(var["lineage"].notna(), None).tolist(), index=var.index)
        ranks = [r for r in RANKS if r in var.columns]
    if not ranks:
        return None
    return [
        [f"{RANK_PREFIXES[r]}__{'' if _missing(v) else v}" for r, v in zip(ranks, row, strict=True)]
        for row in var[ranks].itertuples(index=False, name=None)
    ]


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _sample_metadata(obs: pd.DataFrame) -> list[dict[str, Any]] | None:
    if obs.shape[1] == 0:
        return None
    columns: dict[str, list[Any]] = {}
    for name in obs.columns:
        values = obs[name]
        if values.dtype.kind in "iu":  # integers stay integers (an age, a count)
            columns[str(name)] = [None if _missing(v) else int(v) for v in values]
        elif values.dtype.kind == "f":
            columns[str(name)] = [float(v) for v in values]
        else:
            columns[str(name)] = [None if _missing(v) else str(v) for v in values]
    return [{k: v[i] for k, v in columns.items()} for i in range(obs.shape[0])]


def _generated_by(adata: ad.AnnData) -> str:
    from synthomics import __version__

    units = adata.uns.get("units")
    return f"synthomics {__version__}" + (f"; units={units}" if units else "")


def _exact_json(table: Any, generated_by: str) -> str:
    """BIOM 1.0 JSON with every value written exactly.

    biom-format's ``to_json`` writes values with ``%f`` (six decimals), which would change
    relative abundances; its document is kept and only ``data`` is rewritten, with the
    shortest exact text of each float (:func:`json.dumps` uses :func:`repr`).
    """
    document = json.loads(table.to_json(generated_by))
    coo = table.matrix_data.tocoo()
    order = np.lexsort((coo.col, coo.row))
    document["data"] = [
        [int(r), int(c), float(v)]
        for r, c, v in zip(coo.row[order], coo.col[order], coo.data[order], strict=True)
    ]
    document["matrix_element_type"] = "float"
    return json.dumps(document)


def write_biom(
    adata: ad.AnnData, path: str | os.PathLike[str], *, format: str | None = None
) -> Path:
    """Write a microbiome container as a BIOM table, atomically.

    Parameters
    ----------
    adata
        Microbiome container.
    path
        Output; ``.json``/``.json.gz`` names give BIOM 1.0 JSON, others BIOM 2.1 HDF5;
        ``.gz`` names are gzip-compressed.
    format
        ``"hdf5"`` or ``"json"`` to override the name.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    from biom import Table

    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    fmt = format or ("json" if name.endswith(".json") else "hdf5")
    if fmt not in ("hdf5", "json"):
        raise InputError(path, f"unknown BIOM format {fmt!r}", expected="'hdf5' or 'json'")
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    levels = _taxonomy_levels(adata.var)
    table = Table(
        np.asarray(X, dtype=np.float64).T,
        observation_ids=[str(f) for f in adata.var_names],
        sample_ids=[str(s) for s in adata.obs_names],
        observation_metadata=None if levels is None else [{"taxonomy": t} for t in levels],
        sample_metadata=_sample_metadata(adata.obs),
        type="OTU table",
    )
    gzipped = path.name.lower().endswith(".gz")
    with atomic_path(path) as tmp:
        inner = tmp.with_name(tmp.name + ".inner") if gzipped else tmp
        try:
            note = _generated_by(adata)
            if fmt == "hdf5":
                with h5py.File(inner, "w") as handle:
                    table.to_hdf5(handle, note)
            else:
                inner.write_text(_exact_json(table, note), encoding="utf-8")
            if gzipped:
                with open(inner, "rb") as src, gzip.open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        finally:
            if gzipped:
                inner.unlink(missing_ok=True)
    return path


__all__ = ["read_biom", "write_biom"]
