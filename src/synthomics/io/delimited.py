"""Delimited text files (TSV/CSV), shared by the microbiome table readers and writers.

Layout of a file (:func:`scan_layout`)
    Leading lines that start with ``#`` and hold no delimiter are comments
    (``# Constructed from biom file``, ``#mpa_v30_CHOCOPhlAn_201901``); blank leading lines
    are skipped too. The next line is the header; it may start with ``#`` (``#OTU ID``,
    ``#SampleID``). A header one cell shorter than the data rows (R's ``write.csv``) gets an
    empty first cell. The delimiter is ``,`` for ``.csv`` names, tab for ``.tsv``/``.tab``,
    and otherwise tab when the header has one, else comma. gzip, bzip2 and xz compression are
    recognised from the first bytes, whatever the name.

    Sample metadata is read with ``hash_comments=True``, the QIIME 2 metadata rule: every
    line whose first cell starts with ``#`` is a comment, wherever it is, except a header
    starting ``#SampleID``, ``#Sample ID``, ``#OTUID`` or ``#OTU ID`` and the ``#q2:``
    directive rows (``#q2:types``), which are kept for the metadata reader.

Numbers (:func:`parse_cells`)
    Cells are parsed with NumPy's string-to-float conversion, which rounds correctly (the
    same result as Python's :func:`float`), line by line: pandas' C parser was 50x slower on
    wide tables (GlobalPatterns has 19,216 columns). :func:`format_values` writes each float
    with :func:`repr`, the shortest text that parses back to the same float, so a table
    written and read again has the same values bit for bit. The first cell that is not a
    finite number stops reading with its line, column and text.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path

_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
_OPENERS: dict[str, Any] = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}


def require_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`~pathlib.Path`; an :class:`InputError` unless it is a file."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found", expected="an existing file")
    if p.is_dir():
        raise InputError(p, "is a folder", expected="a file")
    return p


def compression_of(path: str | os.PathLike[str]) -> str | None:
    """``"gzip"``, ``"bz2"``, ``"xz"`` or ``None``, from the first bytes of the file."""
    with open(require_file(path), "rb") as handle:
        head = handle.read(6)
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def open_text(path: str | os.PathLike[str]) -> IO[str]:
    """Open a text file for reading, decompressing gzip/bzip2/xz; a UTF-8 BOM is dropped."""
    opener = _OPENERS.get(compression_of(path) or "", open)
    return opener(path, "rt", encoding="utf-8-sig", newline="")


def iter_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """The lines of a (compressed) text file without line endings.

    Raises
    ------
    InputError
        If the file is missing or is not UTF-8 text.
    """
    try:
        with open_text(path) as handle:
            for line in handle:
                yield line.rstrip("\r\n")
    except (UnicodeDecodeError, EOFError, lzma.LZMAError, gzip.BadGzipFile, OSError) as exc:
        raise InputError(
            path,
            f"cannot read as text ({exc.__class__.__name__}: {exc})",
            expected="a UTF-8 text table, optionally gzip/bzip2/xz compressed",
        ) from exc


def split_fields(line: str, sep: str) -> list[str]:
    """Fields of one line; CSV quoting is honoured when the line has a double quote."""
    if '"' in line:
        return next(csv.reader([line], delimiter=sep))
    return line.split(sep)


def sep_hint(path: str | os.PathLike[str]) -> str | None:
    """Delimiter implied by the file name (``,`` for ``.csv``, tab for ``.tsv``/``.tab``)."""
    name = Path(path).name.lower()
    for ext in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(ext)
    if name.endswith(".csv"):
        return ","
    if name.endswith((".tsv", ".tab")):
        return "\t"
    return None


@dataclass(frozen=True)
class TextLayout:
    """Where the header and the data of a delimited text file are.

    Attributes
    ----------
    path
        The file.
    sep
        Field delimiter.
    n_skip
        Lines above the header (comments, blanks).
    header
        Header fields; the first names the id column (may be ``""``).
    hash_comments
        Whether ``#`` lines below the header are comments (QIIME 2 metadata rule).
    """

    path: Path
    sep: str
    n_skip: int
    header: list[str]
    hash_comments: bool = False

    @property
    def header_line(self) -> int:
        """1-based line number of the header."""
        return self.n_skip + 1


_HASH_HEADERS = frozenset({"#sampleid", "#sample id", "#otuid", "#otu id"})
"""First header cells that start with ``#`` yet are no comment under ``hash_comments``."""


def _first_cell(line: str, sep: str | None) -> str:
    if sep is None:
        sep = "\t" if "\t" in line else ","
    return line.split(sep, 1)[0].strip().strip('"')


def scan_layout(
    path: str | os.PathLike[str], sep: str | None = None, *, hash_comments: bool = False
) -> TextLayout:
    """Find comment lines, delimiter and header of a text table (module docstring).

    Raises
    ------
    InputError
        Missing, unreadable or empty file.
    """
    path = require_file(path)
    sep = sep or sep_hint(path)
    n_skip = 0
    header_text: str | None = None
    first_data: str | None = None
    for line in iter_lines(path):
        if header_text is None:
            is_comment = line.startswith("#") and (
                (sep is not None and sep not in line)
                or (sep is None and "\t" not in line and "," not in line)
                or (hash_comments and _first_cell(line, sep).lower() not in _HASH_HEADERS)
            )
            if is_comment or not line.strip():
                n_skip += 1
                continue
            header_text = line
            continue
        if line.strip() and not (hash_comments and _is_hash_comment(line)):
            first_data = line
            break
    if header_text is None:
        raise InputError(path, "empty file", expected="a header line and data rows")
    if sep is None:
        sep = "\t" if "\t" in header_text else "," if "," in header_text else "\t"
    header = [h.strip() for h in split_fields(header_text, sep)]
    if first_data is not None:
        n_data = len(split_fields(first_data, sep))
        if n_data == len(header) + 1:
            header = ["", *header]  # R write.csv: no name for the row-name column
        elif len(header) == n_data + 1 and header[-1] == "":
            header = header[:-1]  # a trailing delimiter on the header only
    return TextLayout(path, sep, n_skip, header, hash_comments)


def _is_hash_comment(line: str) -> bool:
    return line.startswith("#") and not line.startswith("#q2:")


def check_header(layout: TextLayout) -> None:
    """Reject duplicate column names, naming both columns."""
    seen: dict[str, int] = {}
    for k, name in enumerate(layout.header):
        if name in seen and name:
            raise InputError(
                layout.path,
                f"duplicate column name {name!r}",
                where=f"line {layout.header_line}, columns {seen[name] + 1} and {k + 1}",
                expected="unique column names",
            )
        seen[name] = k


def read_text_frame(
    path: str | os.PathLike[str], sep: str | None = None, *, hash_comments: bool = False
) -> tuple[pd.DataFrame, int]:
    """Read a delimited text table with every cell as text (for metadata and taxonomy).

    ``hash_comments`` applies the QIIME 2 metadata rule for ``#`` lines (module docstring).

    Returns
    -------
    frame, first_line
        The table (columns named by the header) and the 1-based line of its first row.

    Raises
    ------
    InputError
        Missing or empty file, duplicate column names, rows of the wrong length.
    """
    layout = scan_layout(path, sep, hash_comments=hash_comments)
    check_header(layout)
    n = len(layout.header)
    rows: list[list[str]] = []
    first_line = None
    for lineno, line in _data_lines(layout):
        first_line = first_line or lineno
        rows.append(_fit_row(split_fields(line, layout.sep), n, layout, lineno))
    frame = pd.DataFrame(rows, columns=layout.header, dtype=object)
    return frame, first_line or layout.header_line + 1


def _data_lines(layout: TextLayout) -> Iterator[tuple[int, str]]:
    for lineno, line in enumerate(iter_lines(layout.path), start=1):
        if lineno > layout.header_line and line.strip():
            if layout.hash_comments and _is_hash_comment(line):
                continue
            yield lineno, line


def _fit_row(fields: list[str], n: int, layout: TextLayout, lineno: int) -> list[str]:
    if len(fields) == n:
        return fields
    if len(fields) == n + 1 and fields[-1] == "":
        return fields[:-1]  # trailing delimiter
    raise InputError(
        layout.path,
        f"row has {len(fields)} fields",
        where=f"line {lineno}",
        expected=f"{n} fields, like the header (line {layout.header_line})",
    )


@dataclass
class Cells:
    """The data rows of a table: first-column names, numbers and text columns.

    Attributes
    ----------
    row_names
        First field of each row (stripped).
    lines
        1-based file line of each row.
    values
        Rows x numeric columns, float64.
    text
        Column index -> values of each text column.
    """

    row_names: list[str]
    lines: list[int]
    values: np.ndarray
    text: dict[int, list[str]]


def parse_cells(
    layout: TextLayout,
    numeric: Sequence[int],
    text: Sequence[int] = (),
    *,
    start_line: int | None = None,
) -> Cells:
    """Parse the rows below the header: chosen columns as numbers, others as text.

    Parameters
    ----------
    layout
        From :func:`scan_layout`.
    numeric
        Indices of the columns to parse as numbers.
    text
        Indices of the columns to keep as text.
    start_line
        1-based line of the first data row (default: the line after the header).

    Raises
    ------
    InputError
        A row of the wrong length, or a cell that is not a finite number (line, column,
        row name, column name and text named).
    """
    n = len(layout.header)
    numeric = list(numeric)
    contiguous = numeric == list(range(1, n))
    pick = itemgetter(*numeric) if len(numeric) > 1 else (lambda f: (f[numeric[0]],))
    start = start_line or layout.header_line + 1
    names: list[str] = []
    lines: list[int] = []
    rows: list[np.ndarray] = []
    text_values: dict[int, list[str]] = {k: [] for k in text}
    for lineno, line in enumerate(iter_lines(layout.path), start=1):
        if lineno < start or not line.strip():
            continue
        fields = _fit_row(split_fields(line, layout.sep), n, layout, lineno)
        cells = fields[1:] if contiguous else pick(fields)
        try:
            row = np.array(cells, dtype=np.float64)
        except ValueError:
            row = None
        if row is None or not np.isfinite(row).all():
            _raise_bad_cell(layout, lineno, fields, numeric)
        names.append(fields[0].strip())
        lines.append(lineno)
        rows.append(row)
        for k in text:
            text_values[k].append(fields[k])
    values = np.vstack(rows) if rows else np.empty((0, len(numeric)))
    return Cells(names, lines, values, text_values)


def _raise_bad_cell(
    layout: TextLayout, lineno: int, fields: list[str], numeric: Sequence[int]
) -> None:
    for k in numeric:
        cell = fields[k]
        try:
            number = float(cell)
        except ValueError:
            number = None
        if number is not None and np.isfinite(number):
            continue
        stripped = cell.strip().lower()
        if not stripped:
            problem = "cell is empty"
        elif (number is not None and np.isnan(number)) or stripped in (
            "na",
            "n/a",
            "null",
            "none",
            "nd",
        ):
            problem = f"cell {cell!r} is a missing value"
        elif number is not None:
            problem = f"cell {cell!r} is not a finite number"
        else:
            problem = f"cell {cell!r} is not a number"
        raise InputError(
            layout.path,
            problem,
            where=f"line {lineno}, column {k + 1} (row {fields[0].strip()!r}, "
            f"column {layout.header[k]!r})",
            expected="a finite number",
        )


# --------------------------------------------------------------------------- writing


def format_values(X: np.ndarray) -> list[list[str]]:
    """Text of each value: integers without a decimal point, other floats by ``repr``.

    ``repr`` of a Python float is the shortest string that parses back to the same float.
    """
    X = np.asarray(X, dtype=np.float64)
    if np.array_equal(X, np.round(X)) and np.abs(X).max(initial=0) < 2**53:
        return [[str(v) for v in row] for row in X.astype(np.int64).tolist()]
    return [[repr(v) for v in row] for row in X.tolist()]


def open_write(tmp: Path, target: Path) -> IO[str]:
    """Open ``tmp`` for writing text, compressed as ``target``'s extension says."""
    name = target.name.lower()
    for ext, kind in ((".gz", "gzip"), (".bz2", "bz2"), (".xz", "xz")):
        if name.endswith(ext):
            return _OPENERS[kind](tmp, "wt", encoding="utf-8", newline="")
    return open(tmp, "w", encoding="utf-8", newline="")


def is_na(value: object) -> bool:
    """``pandas.isna`` for scalars, ``False`` for anything else."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def write_frame(
    frame: pd.DataFrame, target: str | os.PathLike[str], sep: str | None = None
) -> Path:
    """Write a frame atomically, index as the first column; floats by ``repr``, NaN blank."""
    target = Path(target)
    sep = sep or sep_hint(target) or "\t"
    columns: list[list[str]] = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind == "f":
            columns.append(["" if np.isnan(v) else repr(float(v)) for v in values])
        else:
            columns.append(["" if is_na(v) else str(v) for v in values])
    with atomic_path(target) as tmp, open_write(tmp, target) as handle:
        writer = csv.writer(handle, delimiter=sep, lineterminator="\n")
        writer.writerow([frame.index.name or "", *map(str, frame.columns)])
        for i, name in enumerate(frame.index):
            writer.writerow([str(name), *(c[i] for c in columns)])
    return target


def normal_name(name: str) -> str:
    """Lower-case ``name`` without spaces, ``_``, ``#``, ``-`` and ``.`` (for header matching)."""
    return re.sub(r"[\s_#\-.]", "", str(name)).lower()


__all__ = [
    "Cells",
    "TextLayout",
    "check_header",
    "compression_of",
    "format_values",
    "is_na",
    "iter_lines",
    "normal_name",
    "open_text",
    "open_write",
    "parse_cells",
    "read_text_frame",
    "require_file",
    "scan_layout",
    "sep_hint",
    "split_fields",
    "write_frame",
]
