"""Plain 0/1/2 genotype matrices: the vcftools ``--012`` layout and generic text matrices.

vcftools ``--012`` (files ending ``.012``)
    ``prefix.012``: one line per individual, tab-separated, first column the 0-based row
    index, then one ALT dosage per variant, ``-1`` for missing. Beside it, when present,
    ``prefix.012.indv`` (one sample id per line) and ``prefix.012.pos`` (``CHROM<TAB>POS``
    per variant).

Generic matrix (``.geno``, or any text file with ``format="genotype-matrix"``)
    Individuals x variants, whitespace- or tab-separated; an optional header row of variant
    ids and an optional first column of sample ids, both detected (a header is a first line
    with a value that is not a genotype; a sample-id column is a first column whose first
    value is not a genotype, or headed ``sample``/``sample_id``/``id``/``iid``/...) or forced
    with ``header=`` and ``sample_ids=``. Values 0/1/2, missing as ``-1`` or ``NA``.

Variant metadata the file lacks is filled in as for ``.hapt`` files
(:func:`synthomics.io.hapt.placeholder_variants`: ``REF=N``, ``ALT=<ALT>``).
"""

from __future__ import annotations

import contextlib
import gzip
import os
from pathlib import Path
from typing import IO

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import MISSING, genotype_anndata
from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path, atomic_paths
from synthomics.preprocessing.genotype import dense_calls, to_dosage

__all__ = ["read_genotype_matrix", "write_genotype_matrix"]

_CODES = {b"0": 0, b"1": 1, b"2": 2, b"-1": MISSING, b"NA": MISSING}
_ID_HEADERS = {
    "sample",
    "sample_id",
    "sampleid",
    "samples",
    "id",
    "iid",
    "individual",
    "individual_id",
    "#sample",
    "#id",
    "#iid",
    "fid_iid",
    "name",
    "",
}


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _is_vcftools(path: Path) -> bool:
    return path.name.lower().endswith(".012")


def _dosages(path: Path, lineno: int, tokens: list[bytes], offset: int) -> np.ndarray:
    """Dosages of one row; ``offset`` = file columns before the first value (for errors)."""
    values = None
    with contextlib.suppress(ValueError):  # non-integers: found and named below
        values = np.asarray(tokens).astype(np.int16)
    if values is not None and np.isin(values, (0, 1, 2, MISSING)).all():
        return values.astype(np.int8)
    out = np.empty(len(tokens), dtype=np.int8)
    for j, token in enumerate(tokens):
        code = _CODES.get(token)
        if code is None:
            raise InputError(
                path,
                f"genotype {token.decode(errors='replace')!r}",
                where=f"line {lineno}, column {j + 1 + offset}",
                expected="0, 1 or 2 (copies of the ALT allele), -1 or NA for missing",
            )
        out[j] = code
    return out


def _sibling_lines(path: Path) -> list[list[str]] | None:
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [line.split() for line in handle if line.strip()]


def _read_vcftools(path: Path) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    from synthomics.io.hapt import placeholder_variants

    rows: list[np.ndarray] = []
    with _open(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            tokens = raw.split()
            if not tokens:
                continue
            values = _dosages(path, lineno, tokens[1:], offset=1)
            if rows and len(values) != len(rows[0]):
                raise InputError(
                    path,
                    f"{len(values)} genotypes",
                    where=f"line {lineno}",
                    expected=f"{len(rows[0])} genotypes after the index, as on the first line",
                )
            rows.append(values)
    if not rows:
        raise InputError(path, "no genotype rows", expected="'index g1 g2 ...' lines")
    X = np.stack(rows)
    indv_path = path.with_name(path.name + ".indv")
    indv = _sibling_lines(indv_path)
    if indv is None:
        samples = [f"sample{i + 1}" for i in range(X.shape[0])]
    elif len(indv) != X.shape[0]:
        raise InputError(
            indv_path,
            f"{len(indv)} sample ids for {X.shape[0]} rows in {path}",
            expected="one id per line of the .012 file",
        )
    else:
        samples = [line[0] for line in indv]
    pos_path = path.with_name(path.name + ".pos")
    pos = _sibling_lines(pos_path)
    if pos is None:
        return X, samples, placeholder_variants(X.shape[1])
    if len(pos) != X.shape[1]:
        raise InputError(
            pos_path,
            f"{len(pos)} positions for {X.shape[1]} genotype columns in {path}",
            expected="one 'CHROM POS' line per variant",
        )
    for lineno, line in enumerate(pos, start=1):
        if len(line) != 2 or not line[1].isdigit():
            raise InputError(
                pos_path,
                f"line reads {' '.join(line)!r}",
                where=f"line {lineno}",
                expected="'CHROM<TAB>POS' with an integer position",
            )
    variants = pd.DataFrame(
        {
            "chrom": [line[0] for line in pos],
            "pos": [int(line[1]) for line in pos],
            "id": [f"{line[0]}:{line[1]}" for line in pos],
            "ref": "N",
            "alt": "<ALT>",
        }
    )
    return X, samples, variants


def _is_code(token: bytes) -> bool:
    return token in _CODES


def _read_generic(
    path: Path, header: bool | str, sample_ids: bool | str
) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    from synthomics.io.hapt import placeholder_variants

    rows: list[np.ndarray] = []
    samples: list[str] = []
    names: list[str] | None = None
    has_ids: bool | None = None if sample_ids == "auto" else bool(sample_ids)
    first_tokens: list[bytes] | None = None
    with _open(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            tokens = raw.split()
            if not tokens or tokens[0].startswith(b"##"):
                continue
            if len(tokens) == 1 and len(tokens[0]) > 2 and set(tokens[0]) <= set(b"0129"):
                raise InputError(
                    path,
                    "a line of digits without separators (EIGENSTRAT .geno?)",
                    where=f"line {lineno}",
                    expected="whitespace-separated genotypes, one row per individual "
                    "(EIGENSTRAT is not supported; convert it with convertf to PLINK)",
                )
            if first_tokens is None:
                first_tokens = tokens
                is_header = (
                    not all(_is_code(t) for t in tokens[1:] or tokens)
                    if header == "auto"
                    else bool(header)
                )
                if is_header:
                    names = [t.decode(errors="replace") for t in tokens]
                    continue
            if has_ids is None:
                has_ids = not _is_code(tokens[0]) or (
                    names is not None
                    and (len(names) + 1 == len(tokens) or names[0].lower() in _ID_HEADERS)
                )
            start = 1 if has_ids else 0
            values = _dosages(path, lineno, tokens[start:], offset=start)
            if rows and len(values) != len(rows[0]):
                raise InputError(
                    path,
                    f"{len(values)} genotypes",
                    where=f"line {lineno}",
                    expected=f"{len(rows[0])} genotypes, as on the first data line",
                )
            rows.append(values)
            samples.append(tokens[0].decode(errors="replace") if has_ids else "")
    if not rows:
        raise InputError(path, "no genotype rows", expected="one row per individual")
    X = np.stack(rows)
    if not has_ids:
        samples = [f"sample{i + 1}" for i in range(X.shape[0])]
    variants = placeholder_variants(X.shape[1])
    if names is not None:
        if len(names) == X.shape[1] + 1:
            names = names[1:]
        if len(names) != X.shape[1]:
            raise InputError(
                path,
                f"{len(names)} names in the header row for {X.shape[1]} genotype columns",
                where="line 1",
                expected="one variant id per genotype column (plus an optional first cell)",
            )
        variants["id"] = names
    return X, samples, variants


def read_genotype_matrix(
    path: str | os.PathLike[str],
    *,
    header: bool | str = "auto",
    sample_ids: bool | str = "auto",
    samples_metadata: str | os.PathLike[str] | pd.DataFrame | None = None,
    label_column: str | None = None,
) -> ad.AnnData:
    """Read a 0/1/2 dosage matrix: vcftools ``.012`` (+ ``.indv``/``.pos``) or a text matrix.

    Parameters
    ----------
    path
        ``prefix.012`` (vcftools layout) or any whitespace/tab-separated matrix (gzip ok).
    header, sample_ids
        For generic matrices: ``"auto"`` (detect, see module notes), ``True`` or ``False``.
    samples_metadata
        Optional table (first column = sample id) joined into ``obs``.
    label_column
        Column holding class labels.

    Returns
    -------
    anndata.AnnData
        Diploid, unphased dosage layout.

    Raises
    ------
    InputError
        For values other than 0/1/2/-1/NA (line and column), ragged rows, and sibling files
        whose line counts disagree with the matrix.
    """
    from synthomics.io.genotype import apply_labels

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", expected="an existing genotype matrix")
    if _is_vcftools(path):
        X, samples, variants = _read_vcftools(path)
    else:
        X, samples, variants = _read_generic(path, header, sample_ids)
    adata = genotype_anndata(
        X, samples, variants, ploidy=2, phased=False, layout="dosage", source=str(path)
    )
    return apply_labels(adata, samples_metadata, label_column)


def _text_rows(X: np.ndarray) -> list[str]:
    table = np.array(["-1", "0", "1", "2"])
    return ["\t".join(table[row + 1].tolist()) for row in X]


def write_genotype_matrix(adata: ad.AnnData, path: str | os.PathLike[str]) -> None:
    """Write ALT dosages as a vcftools ``.012`` trio or a TSV matrix with ids.

    ``prefix.012`` writes ``prefix.012``, ``.012.indv`` and ``.012.pos``; any other name a
    TSV (gzip if it ends ``.gz``) with a header ``sample_id<TAB>variant ids...`` and one row
    per individual. Haplotype layouts are summed to dosages first (phase is lost). Missing
    is ``-1``.
    """
    dosage = to_dosage(adata)
    X = dense_calls(dosage).astype(np.int16)
    bad = ~np.isin(X, (MISSING, 0, 1, 2))
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(
            adata.uns.get("source_file"),
            f"genotype value {X[i, j]} in row {dosage.obs_names[i]!r}, variant {j + 1}",
            expected="0, 1, 2 or -1",
        )
    samples = [str(s) for s in dosage.obs_names]
    rows = _text_rows(X)
    path = Path(path)
    if _is_vcftools(path):
        targets = {
            "matrix": path,
            "indv": path.with_name(path.name + ".indv"),
            "pos": path.with_name(path.name + ".pos"),
        }
        with atomic_paths(targets) as tmp:
            tmp["matrix"].write_text("".join(f"{i}\t{r}\n" for i, r in enumerate(rows)))
            tmp["indv"].write_text("".join(f"{s}\n" for s in samples))
            tmp["pos"].write_text(
                "".join(
                    f"{c}\t{p}\n"
                    for c, p in zip(dosage.var["chrom"], dosage.var["pos"], strict=True)
                )
            )
        return
    head = "\t".join(["sample_id", *(str(v) for v in dosage.var_names)])
    body = "".join(f"{s}\t{r}\n" for s, r in zip(samples, rows, strict=True))
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with atomic_path(path) as tmp, opener(tmp, "wt", encoding="utf-8") as out:
        out.write(head + "\n" + body)
