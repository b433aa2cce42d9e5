"""PLINK 1 binary genotypes (``.bed``/``.bim``/``.fam``), through bed-reader.

Allele convention
    PLINK's ``.bed`` stores, for each call, how many copies of the ``.bim`` column-5 allele
    (A1) an individual carries when read with ``count_A1=True``, the PLINK standard.
    synthomics' ``X`` counts the VCF ALT allele. So :func:`write_plink` puts ALT in A1
    (column 5) and REF in A2 (column 6) and :func:`read_plink` reads A1 as ALT and A2 as
    REF: VCF -> PLINK -> VCF keeps every ALT dosage and the REF/ALT letters unchanged. This
    is also what ``plink --vcf ... --keep-allele-order`` produces (ALT as A1). A ``.bim``
    from elsewhere whose A1 is the minor allele reads as "ALT = minor allele".

The ``.fam`` and ``.bim`` text files are parsed here (whitespace-separated, every line
checked, errors with line numbers); the ``.bed`` bytes are decoded by
:func:`bed_reader.open_bed` and written by :func:`bed_reader.to_bed`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from synthomics.container import MISSING, genotype_anndata
from synthomics.errors import InputError
from synthomics.io.atomic import atomic_paths
from synthomics.preprocessing.genotype import dense_calls, to_dosage

__all__ = ["plink_paths", "read_plink", "write_plink"]

_BED_MAGIC = b"\x6c\x1b"
_BED_MISSING = -127  # bed-reader's int8 missing value
_MISSING_ALLELE = "0"  # PLINK's code for an unknown allele


def plink_paths(path: str | os.PathLike[str]) -> dict[str, Path]:
    """The ``.bed``, ``.bim`` and ``.fam`` paths for any of the three or their prefix.

    ``data.bed``, ``data.bim``, ``data.fam`` and ``data`` all give the same three files;
    a prefix keeps its dots (``chr1.v2`` -> ``chr1.v2.bed``).
    """
    path = Path(path)
    if path.suffix.lower() in (".bed", ".bim", ".fam"):
        path = path.with_suffix("")
    return {ext: path.with_name(f"{path.name}.{ext}") for ext in ("bed", "bim", "fam")}


def _rows(path: Path, n_columns: int, what: str) -> tuple[list[list[str]], list[int]]:
    """Whitespace-split non-empty lines, each checked for ``n_columns``, and their numbers."""
    rows, numbers = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != n_columns:
                raise InputError(
                    path,
                    f"{len(fields)} columns",
                    where=f"line {lineno}",
                    expected=f"{n_columns} whitespace-separated columns ({what})",
                )
            rows.append(fields)
            numbers.append(lineno)
    return rows, numbers


def _read_bim(path: Path) -> pd.DataFrame:
    rows, numbers = _rows(path, 6, "chrom, id, cM, bp position, A1, A2")
    frame = pd.DataFrame(rows, columns=["chrom", "id", "cm", "pos", "a1", "a2"])
    pos = pd.to_numeric(frame["pos"], errors="coerce")
    bad = pos.isna() | (pos < 0) | (pos != pos.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            path,
            f"position {frame['pos'].iloc[i]!r}",
            where=f"line {numbers[i]}",
            expected="a non-negative integer base-pair position in column 4",
        )
    return pd.DataFrame(
        {
            "chrom": frame["chrom"],
            "pos": pos.astype(np.int64),
            "id": frame["id"],
            "ref": frame["a2"].where(frame["a2"] != _MISSING_ALLELE, "N"),
            "alt": frame["a1"].where(frame["a1"] != _MISSING_ALLELE, "."),
        }
    )


def _phenotype(values: pd.Series) -> pd.Series:
    """PLINK phenotypes as floats: -9 is missing, and 0 too when the coding is case/control."""
    numeric = pd.to_numeric(values, errors="coerce")
    numeric = numeric.mask(numeric == -9)
    if numeric.dropna().isin([0, 1, 2]).all():
        numeric = numeric.mask(numeric == 0)
    return numeric.astype(float)


def _read_fam(path: Path) -> pd.DataFrame:
    rows, _ = _rows(path, 6, "FID, IID, father, mother, sex, phenotype")
    frame = pd.DataFrame(rows, columns=["fid", "iid", "father", "mother", "sex", "phenotype"])
    sex = pd.to_numeric(frame["sex"], errors="coerce").fillna(0).astype(np.int64)
    obs = pd.DataFrame({"fid": frame["fid"].to_numpy()})
    for parent in ("father", "mother"):
        if (frame[parent] != "0").any():
            obs[parent] = frame[parent].to_numpy()
    obs["sex"] = sex.where(sex.isin([1, 2]), 0).to_numpy()
    obs["phenotype"] = _phenotype(frame["phenotype"]).to_numpy()
    iid = frame["iid"]
    obs.index = pd.Index(iid if iid.is_unique else frame["fid"] + "_" + iid)
    return obs


def _check_bed(paths: dict[str, Path], n_individuals: int, n_variants: int) -> None:
    bed = paths["bed"]
    with open(bed, "rb") as handle:
        head = handle.read(3)
    if len(head) < 3 or head[:2] != _BED_MAGIC:
        raise InputError(
            bed,
            "not a PLINK 1 .bed file (bad magic bytes)",
            expected="the bytes 0x6c 0x1b at the start (PLINK 1.07+ format)",
        )
    if head[2] not in (0, 1):
        raise InputError(bed, f"unknown mode byte {head[2]}", expected="1 (SNP-major) or 0")
    snp_major = head[2] == 1
    minor, major = (n_individuals, n_variants) if snp_major else (n_variants, n_individuals)
    expected = 3 + math.ceil(minor / 4) * major
    size = bed.stat().st_size
    if size != expected:
        bytes_per_variant = math.ceil(n_individuals / 4)
        implied = (size - 3) / bytes_per_variant if bytes_per_variant else float("nan")
        held = f"{implied:g}" if snp_major else "?"
        raise InputError(
            bed,
            f"{size} bytes, which does not match {n_variants} variants in {paths['bim']} and "
            f"{n_individuals} individuals in {paths['fam']} (the .bed holds {held} variants "
            f"of {n_individuals} individuals)",
            expected=f"3 + ceil({n_individuals} / 4) * {n_variants} = {expected} bytes; "
            "the .bim/.fam may belong to another .bed",
        )


def read_plink(
    path: str | os.PathLike[str],
    *,
    samples_metadata: str | os.PathLike[str] | pd.DataFrame | None = None,
    label_column: str | None = None,
) -> ad.AnnData:
    """Read PLINK 1 ``.bed/.bim/.fam`` into a dosage container counting the A1 (= ALT) allele.

    Parameters
    ----------
    path
        Any of the three files or their common prefix.
    samples_metadata
        Optional table (path or frame, first column = sample id = IID) joined into ``obs``.
    label_column
        Column holding class labels (of the metadata, or ``phenotype``).

    Returns
    -------
    anndata.AnnData
        ``X`` int8 0/1/2 (-1 missing) = copies of A1; ``var`` chrom/pos/id, ``ref`` = A2,
        ``alt`` = A1 (PLINK's missing allele ``0`` becomes ``N``/``.``); ``obs`` index IID
        (``FID_IID`` when IIDs repeat) with ``fid``, ``sex`` and ``phenotype`` (NaN for
        -9), plus ``father``/``mother`` when any is set.

    Raises
    ------
    InputError
        A missing file; a ``.bim``/``.fam`` line without 6 columns or a bad position; a
        ``.bed`` whose size disagrees with the ``.bim`` and ``.fam`` (naming both).
    """
    from bed_reader import open_bed

    from synthomics.io.genotype import apply_labels

    paths = plink_paths(path)
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise InputError(
            absent[0],
            "file not found",
            expected=f"the PLINK trio {', '.join(str(p) for p in paths.values())}"
            + (f" ({len(absent)} missing)" if len(absent) > 1 else ""),
        )
    variants = _read_bim(paths["bim"])
    obs = _read_fam(paths["fam"])
    _check_bed(paths, len(obs), len(variants))
    if len(obs) and len(variants):
        with open_bed(
            paths["bed"],
            iid_count=len(obs),
            sid_count=len(variants),
            count_A1=True,
            skip_format_check=True,
        ) as bed:
            X = bed.read(dtype="int8", order="C")
        X[X == _BED_MISSING] = MISSING
    else:
        X = np.zeros((len(obs), len(variants)), dtype=np.int8)
    adata = genotype_anndata(
        X,
        list(obs.index),
        variants,
        ploidy=2,
        phased=False,
        layout="dosage",
        obs=obs,
        source=str(paths["bed"]),
    )
    return apply_labels(adata, samples_metadata, label_column)


def _column(obs: pd.DataFrame, name: str, default, n: int) -> np.ndarray:
    if name in obs.columns:
        return obs[name].to_numpy()
    return np.full(n, default, dtype=object)


def write_plink(adata: ad.AnnData, path: str | os.PathLike[str]) -> None:
    """Write a genotype container as PLINK 1 ``.bed/.bim/.fam`` (A1 = ALT, see module notes).

    Haplotype layouts are first summed into dosages
    (:func:`synthomics.preprocessing.genotype.to_dosage`). Haploid dosages (ploidy 1) are
    written as homozygous calls (0 -> 0, 1 -> 2), PLINK's convention for haploid genotypes,
    and so read back as 0/2. FID is ``obs["fid"]`` or else the IID (as ``plink --vcf``
    does); sex and phenotype come from ``obs["sex"]``/``obs["phenotype"]`` (NaN -> -9) when
    present. All three files are written atomically together.

    Parameters
    ----------
    adata
        A genotype container.
    path
        Any of ``prefix.bed``/``.bim``/``.fam`` or the prefix.
    """
    from bed_reader import to_bed

    dosage = to_dosage(adata)
    X = dense_calls(dosage).astype(np.int8)
    ploidy = int(dosage.uns.get("ploidy", 2))
    allowed = [MISSING, *range(ploidy + 1)]
    bad = ~np.isin(X, allowed)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(
            adata.uns.get("source_file"),
            f"genotype value {X[i, j]} in row {dosage.obs_names[i]!r}, variant {j + 1}",
            expected=f"values in {allowed}",
        )
    if ploidy == 1:
        X = np.where(X == MISSING, X, X * 2).astype(np.int8)
    X = np.ascontiguousarray(np.where(X == MISSING, _BED_MISSING, X).astype(np.int8))
    n, var, obs = X.shape[0], dosage.var, dosage.obs
    iid = np.asarray(dosage.obs_names, dtype=str)
    phenotype = (
        pd.to_numeric(obs["phenotype"], errors="coerce").fillna(-9).to_numpy()
        if "phenotype" in obs.columns
        else np.full(n, -9.0)
    )
    sex = (
        pd.to_numeric(obs["sex"], errors="coerce").fillna(0).astype(np.int32).to_numpy()
        if "sex" in obs.columns
        else np.zeros(n, dtype=np.int32)
    )
    properties = {
        "fid": np.asarray(_column(obs, "fid", None, n), dtype=object),
        "iid": iid,
        "father": np.asarray(_column(obs, "father", "0", n), dtype=str),
        "mother": np.asarray(_column(obs, "mother", "0", n), dtype=str),
        "sex": sex,
        "pheno": np.asarray([f"{p:g}" for p in phenotype], dtype=str),
        "chromosome": var["chrom"].astype(str).to_numpy(),
        "sid": var["id"].astype(str).to_numpy(),
        "cm_position": np.zeros(len(var), dtype=np.float32),
        "bp_position": var["pos"].astype(np.int32).to_numpy(),
        "allele_1": var["alt"].astype(str).replace(".", _MISSING_ALLELE).to_numpy(),
        "allele_2": var["ref"].astype(str).to_numpy(),
    }
    if "fid" not in obs.columns:
        properties["fid"] = iid
    properties["fid"] = np.asarray(properties["fid"], dtype=str)
    for name in ("iid", "fid", "sid", "allele_1", "allele_2", "chromosome"):
        values = properties[name]
        offending = [v for v in values if not v or any(ch.isspace() for ch in v)]
        if offending:
            raise InputError(
                adata.uns.get("source_file"),
                f"{name} {offending[0]!r} cannot go in PLINK",
                expected="non-empty values without whitespace",
            )
    targets = plink_paths(path)
    with atomic_paths(targets) as tmp:
        to_bed(
            tmp["bed"],
            X,
            properties=properties,
            count_A1=True,
            fam_filepath=tmp["fam"],
            bim_filepath=tmp["bim"],
        )
