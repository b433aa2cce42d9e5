"""The generator model folder: one format for every generator, nothing pickled.

A saved generator is a folder with ``manifest.json`` (name, version, configuration, seed,
features, taxonomy or variant table, preprocessing, condition levels),
``arrays.safetensors`` (NumPy arrays), ``tensors.safetensors`` (torch tensors, when the
model has any) and ``tree.nwk`` when the training data carried a tree. The files are written
as every synthomics model folder is (:mod:`synthomics.io.model_folder`): atomically, the
manifest last, so a folder with one holds a complete model; loading executes no code from
the files. :meth:`Generator.save <synthomics.generators.base.Generator.save>` and
:meth:`~synthomics.generators.base.Generator.load` fill and read it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.io.model_folder import (
    encode_manifest,
    model_file,
    read_arrays,
    read_manifest,
    read_tensors,
    split_state,
    write_arrays,
    write_manifest,
    write_tensors,
)

__all__ = [
    "ARRAYS_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "TENSORS_FILE",
    "TREE_FILE",
    "frame_from_json",
    "frame_to_json",
    "jsonable",
    "read_generator_folder",
    "write_generator_folder",
]

MANIFEST_FILE = "manifest.json"
ARRAYS_FILE = "arrays.safetensors"
TENSORS_FILE = "tensors.safetensors"
TREE_FILE = "tree.nwk"
FORMAT = "synthomics-generator"
FORMAT_VERSION = 1


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (NumPy scalars and arrays, tuples, NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Index | pd.Series):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns of ``frame`` as JSON lists with their dtypes (the index is stored separately)."""
    return {
        "columns": {str(c): jsonable(frame[c].astype(object).to_numpy()) for c in frame.columns},
        "dtypes": {str(c): str(frame[c].dtype) for c in frame.columns},
    }


def frame_from_json(stored: Mapping[str, Any], index: list[str]) -> pd.DataFrame:
    """Inverse of :func:`frame_to_json`: numbers, booleans and categories get their dtype
    back; other columns are objects with NaN for missing values."""
    frame = pd.DataFrame(index=pd.Index(index))
    dtypes = stored.get("dtypes", {})
    for name, values in stored.get("columns", {}).items():
        column = pd.Series(values, index=frame.index, dtype=object)
        column = column.where(column.notna(), np.nan)
        dtype = dtypes.get(name, "object")
        if dtype == "category":
            column = column.astype("category")
        elif dtype != "object" and not (dtype.startswith(("int", "bool")) and column.isna().any()):
            with contextlib.suppress(TypeError, ValueError):
                column = column.astype(dtype)
        frame[name] = column
    return frame


def write_generator_folder(
    directory: str | os.PathLike[str],
    fields: Mapping[str, Any],
    state: Mapping[str, Any],
    tree: str | None,
) -> Path:
    """Write a generator folder: the ``state`` arrays, the tree and the manifest ``fields``.

    Returns
    -------
    pathlib.Path
        The folder (created; existing model files replaced).
    """
    directory = Path(directory)
    arrays, tensors = split_state(state)
    text = encode_manifest(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **fields,
            "arrays": sorted(arrays),
            "tensors": sorted(tensors),
            "tree": TREE_FILE if tree is not None else None,
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    write_arrays(directory / ARRAYS_FILE, arrays)
    write_tensors(directory / TENSORS_FILE, tensors)
    if tree is not None:
        with atomic_path(directory / TREE_FILE) as tmp:
            tmp.write_text(tree)
    else:
        (directory / TREE_FILE).unlink(missing_ok=True)
    write_manifest(directory / MANIFEST_FILE, text)
    return directory


def read_generator_folder(
    directory: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The manifest, the state arrays and the tree (or None) of a generator folder.

    Raises
    ------
    InputError
        If the folder holds no generator, a newer format, or misses listed arrays.
    """
    directory = Path(directory)
    manifest = read_manifest(
        directory,
        MANIFEST_FILE,
        format=FORMAT,
        version=FORMAT_VERSION,
        missing="no saved generator here (manifest.json missing)",
        expected="a folder written by Generator.save or synthomics fit",
    )
    tree_name = manifest.get("tree")
    listed_in = directory / MANIFEST_FILE
    tree = _read_tree(model_file(directory, tree_name, listed_in)) if tree_name else None
    state: dict[str, Any] = {}
    if manifest.get("arrays"):
        state.update(read_arrays(directory / ARRAYS_FILE))
    if manifest.get("tensors"):
        state.update(read_tensors(directory / TENSORS_FILE))
    listed = sorted(set(manifest.get("arrays", [])) | set(manifest.get("tensors", [])))
    missing = [k for k in listed if k not in state]
    if missing:
        raise InputError(
            directory,
            f"saved arrays {missing[:3]} are missing",
            expected="the arrays listed in manifest.json",
        )
    return manifest, state, tree


def _read_tree(path: Path) -> str:
    """The Newick text of a saved model's tree file."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found", expected="a complete model folder") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text", expected="the saved Newick tree") from None
