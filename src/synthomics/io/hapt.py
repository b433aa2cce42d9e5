"""The ``.hapt`` haplotype format of Yelmen et al. (2021), read and written.

One line per haplotype, whitespace-separated: a label, an id, then one 0/1 allele per
variant (``AFR HG00096_A 0 1 0 ...``). There is no header and no variant metadata, so
variants get synthetic ids ``snp1``, ``snp2``, ... on chromosome ``0`` (PLINK's "unplaced")
at positions 1, 2, ... with the placeholder alleles ``REF=N``, ``ALT=<ALT>`` (what the HGDP
subset uses too), unless a ``variants`` table is given.

Yelmen B, Decelle A, Ongaro L, et al. (2021) Creating artificial human genomes using
generative neural networks. PLoS Genet 17(2):e1009303.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import IO, Literal

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import MISSING, genotype_anndata
from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.preprocessing.genotype import dense_calls, genotype_layout

__all__ = ["placeholder_variants", "read_hapt", "write_hapt"]

# Suffix pairs that mark the two haplotypes of one individual on consecutive rows.
HAPLOTYPE_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_A", "_B"),
    ("_a", "_b"),
    ("_0", "_1"),
    ("_1", "_2"),
    (".1", ".2"),
    ("-1", "-2"),
)
_ZERO, _ONE, _SPACE = ord("0"), ord("1"), ord(" ")


def placeholder_variants(n_variants: int) -> pd.DataFrame:
    """Variant table for data without variant metadata: ``snp1..`` on chrom 0, REF=N ALT=<ALT>."""
    return pd.DataFrame(
        {
            "chrom": "0",
            "pos": np.arange(1, n_variants + 1, dtype=np.int64),
            "id": [f"snp{j}" for j in range(1, n_variants + 1)],
            "ref": "N",
            "alt": "<ALT>",
        }
    )


def _open_text(path: Path) -> IO[bytes]:
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _alleles(path: Path, lineno: int, text: bytes, expected: int | None) -> np.ndarray:
    """Alleles of one row; single-space-separated 0/1 rows are decoded with NumPy."""
    n = (len(text) + 1) // 2
    if len(text) % 2 == 1:
        cells = np.frombuffer(text + b" ", dtype=np.uint8).reshape(n, 2)
        values = cells[:, 0]
        if (cells[:, 1] == _SPACE).all() and ((values == _ZERO) | (values == _ONE)).all():
            alleles = (values - _ZERO).astype(np.int8)
            if expected is None or len(alleles) == expected:
                return alleles
    tokens = text.split()
    if expected is not None and len(tokens) != expected:
        raise InputError(
            path,
            f"{len(tokens)} alleles",
            where=f"line {lineno}",
            expected=f"{expected} alleles, as on the first line (rows must not be ragged)",
        )
    for j, token in enumerate(tokens):
        if token not in (b"0", b"1"):
            raise InputError(
                path,
                f"allele {token.decode(errors='replace')!r}",
                where=f"line {lineno}, column {j + 3} (variant {j + 1})",
                expected="0 or 1",
            )
    return np.asarray([t == b"1" for t in tokens], dtype=np.int8)


def _pair_suffix(first: str, second: str) -> str | None:
    """The individual id shared by two haplotype ids, or None when they do not pair."""
    if first == second:
        return first
    for left, right in HAPLOTYPE_SUFFIXES:
        if first.endswith(left) and second.endswith(right):
            stem = first[: -len(left)]
            if stem and stem == second[: -len(right)]:
                return stem
    return None


def _individuals(
    path: Path, ids: list[str], pairing: str
) -> tuple[list[str], list[int], list[str], int]:
    """Row ids, haplotype numbers, individual ids and ploidy for a pairing rule."""
    n = len(ids)
    stems = [_pair_suffix(ids[i], ids[i + 1]) for i in range(0, n - 1, 2)] if n % 2 == 0 else [None]
    paired = n > 0 and all(s is not None for s in stems)
    if pairing == "consecutive" and n % 2:
        raise InputError(
            path, f"{n} haplotype rows cannot be paired", expected="an even number of rows"
        )
    if pairing == "none" or (pairing == "auto" and not paired):
        return ids, [0] * n, ids, 1
    individual = [
        stem if stem is not None else ids[2 * k] for k, stem in enumerate(stems) for _ in (0, 1)
    ]
    rows = list(ids)
    for i in range(0, n, 2):
        if ids[i] == ids[i + 1]:  # the same id on both rows: make row ids unique
            rows[i], rows[i + 1] = f"{ids[i]}_A", f"{ids[i]}_B"
    return rows, [0, 1] * (n // 2), individual, 2


def read_hapt(
    path: str | os.PathLike[str],
    *,
    pairing: Literal["auto", "consecutive", "none"] = "auto",
    variants: pd.DataFrame | None = None,
    samples_metadata: str | os.PathLike[str] | pd.DataFrame | None = None,
    label_column: str | None = None,
) -> ad.AnnData:
    """Read a ``.hapt`` file (plain or gzip) into a haplotype-layout container.

    Parameters
    ----------
    path
        The file.
    pairing
        How rows make individuals. ``"auto"``: consecutive rows whose ids differ only by a
        haplotype suffix (``X_A``/``X_B``, ``X_1``/``X_2``, ..., see
        :data:`HAPLOTYPE_SUFFIXES`) or repeat the same id are the two haplotypes of
        individual ``X``; if any pair fails, every row is its own haploid individual.
        ``"consecutive"``: rows 1-2, 3-4, ... are paired regardless of ids. ``"none"``:
        every row is a haploid individual.
    variants
        Optional variant table (columns chrom, pos, id, ref, alt; one row per allele
        column); otherwise :func:`placeholder_variants`.
    samples_metadata
        Optional table (first column = individual id) joined into ``obs``.
    label_column
        Column holding class labels; the file's own first column is ``obs["label"]``.

    Returns
    -------
    anndata.AnnData
        Haplotype layout: ``X`` int8 0/1, ``obs`` ``label``, ``individual``, ``haplotype``.

    Raises
    ------
    InputError
        For rows with fewer than three fields, alleles other than 0/1, or a different number
        of alleles than the first row (all with line numbers).
    """
    from synthomics.io.genotype import apply_labels

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", expected="an existing .hapt file")
    if pairing not in ("auto", "consecutive", "none"):
        raise InputError(
            path, f"unknown pairing {pairing!r}", expected="'auto', 'consecutive' or 'none'"
        )
    labels: list[str] = []
    ids: list[str] = []
    rows: list[np.ndarray] = []
    expected: int | None = None
    with _open_text(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line:
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise InputError(
                    path,
                    f"{len(parts)} field(s)",
                    where=f"line {lineno}",
                    expected="'label id a1 a2 ...' with at least one allele",
                )
            alleles = _alleles(path, lineno, parts[2], expected)
            expected = len(alleles)
            labels.append(parts[0].decode(errors="replace"))
            ids.append(parts[1].decode(errors="replace"))
            rows.append(alleles)
    if not rows:
        raise InputError(path, "no haplotype rows", expected="'label id a1 a2 ...' lines")
    X = np.stack(rows)
    if variants is None:
        variants = placeholder_variants(X.shape[1])
    elif len(variants) != X.shape[1]:
        raise InputError(
            path,
            f"{X.shape[1]} allele columns but {len(variants)} rows in the variant table",
            expected="one variant row per allele column",
        )
    row_ids, haplotype, individual, ploidy = _individuals(path, ids, pairing)
    obs = pd.DataFrame(
        {"label": labels, "individual": individual, "haplotype": haplotype}, index=row_ids
    )
    adata = genotype_anndata(
        X,
        row_ids,
        variants,
        ploidy=ploidy,
        phased=True,
        layout="haplotype",
        obs=obs,
        source=str(path),
    )
    return apply_labels(adata, samples_metadata, label_column)


def _row_labels(adata: ad.AnnData, label_column: str | None, default: str) -> list[str]:
    column = label_column or ("label" if "label" in adata.obs.columns else None)
    if column is None:
        return [default] * adata.n_obs
    if column not in adata.obs.columns:
        raise InputError(
            adata.uns.get("source_file"),
            f"no obs column {column!r} for the labels",
            expected=f"one of {list(adata.obs.columns)}",
        )
    values = adata.obs[column].astype(object).where(adata.obs[column].notna(), default)
    labels = [str(v) for v in values]
    bad = [v for v in labels if not v or any(ch.isspace() for ch in v)]
    if bad:
        raise InputError(
            adata.uns.get("source_file"),
            f"label {bad[0]!r} contains whitespace",
            expected="labels without spaces (the .hapt format is whitespace-separated)",
        )
    return labels


def write_hapt(
    adata: ad.AnnData,
    path: str | os.PathLike[str],
    *,
    label_column: str | None = None,
    default_label: str = ".",
) -> None:
    """Write haplotypes as ``.hapt`` lines ``label id 0 1 ...`` (gzip if the name ends .gz).

    Parameters
    ----------
    adata
        A haplotype-layout container, or a haploid (ploidy 1) dosage one. Diploid dosages
        have no phase and cannot be written; missing calls cannot be written either.
    path
        Output file.
    label_column
        Obs column for the first field; default ``obs["label"]`` when present, else
        ``default_label``.
    default_label
        Label of rows without one.

    Notes
    -----
    Row ids are ``obs_names`` (``<individual>_A``/``_B`` for haplotypes read from VCF), so
    :func:`read_hapt` pairs them back into individuals.
    """
    layout = genotype_layout(adata)
    source = adata.uns.get("source_file")
    if layout == "dosage" and int(adata.uns.get("ploidy", 2)) != 1:
        raise InputError(
            source,
            "diploid dosages have no phase and cannot be written as haplotypes",
            expected="a haplotype layout (read phased VCF with layout='haplotype')",
        )
    X = dense_calls(adata)
    if (X == MISSING).any():
        i, j = map(int, np.argwhere(X == MISSING)[0])
        raise InputError(
            source,
            f"missing allele in row {adata.obs_names[i]!r}, variant {j + 1}",
            expected="no missing calls in .hapt (impute first, e.g. impute_mode)",
        )
    if not np.isin(X, [0, 1]).all():
        i, j = map(int, np.argwhere(~np.isin(X, [0, 1]))[0])
        raise InputError(
            source,
            f"allele {X[i, j]} in row {adata.obs_names[i]!r}, variant {j + 1}",
            expected="0 or 1",
        )
    labels = _row_labels(adata, label_column, default_label)
    ids = [str(i) for i in adata.obs_names]
    text = np.full((X.shape[0], 2 * X.shape[1]), _SPACE, dtype=np.uint8)
    text[:, 0::2] = X.astype(np.uint8) + _ZERO
    if X.shape[1] == 0:
        raise InputError(source, "no variants", expected="at least one variant")
    text[:, -1] = ord("\n")
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with atomic_path(path) as tmp, opener(tmp, "wb") as out:
        for label, name, row in zip(labels, ids, text, strict=True):
            out.write(f"{label} {name} ".encode() + row.tobytes())
