"""Model folders: arrays in safetensors files and a JSON manifest, written and read safely.

Every saved synthomics model (generators, :mod:`synthomics.generators.persistence`; torch
modules, :mod:`synthomics.training.persistence`) is a folder of ``.safetensors`` files (raw
NumPy arrays or torch tensors: nothing is pickled, loading runs no code from the files) and
one JSON manifest naming the format and its version. Each file is written atomically and
the manifest last (:func:`write_arrays`, :func:`write_tensors`, :func:`write_manifest`), so a
folder with a manifest holds a complete model; :func:`read_manifest` checks its format.

The manifests name their other files. :func:`model_file` resolves such a name and refuses
any that leads out of the folder (an absolute path, ``..``, a link pointing elsewhere);
:func:`read_json` and
:func:`read_safetensors` turn a damaged file (not UTF-8, not JSON, truncated or random
bytes, missing) into an :class:`~synthomics.errors.InputError` naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path


def model_file(
    directory: str | os.PathLike[str], name: object, listed_in: str | os.PathLike[str]
) -> Path:
    """The path of file ``name`` of a model folder, refused unless it lies inside the folder.

    Parameters
    ----------
    directory
        The model folder.
    name
        File name as written in the folder's JSON (a plain name such as ``tree.nwk``).
    listed_in
        The JSON file that named it (for the error message).

    Raises
    ------
    InputError
        If ``name`` is not a string or resolves outside ``directory``.
    """
    folder = Path(directory).resolve()
    if not isinstance(name, str) or not name or Path(name).is_absolute():
        raise InputError(
            listed_in, f"names the file {name!r}", expected="a file name inside the model folder"
        )
    path = (folder / name).resolve()
    if not path.is_relative_to(folder) or path == folder:
        raise InputError(
            listed_in,
            f"names the file {name!r}, outside the model folder",
            expected="a file name inside the model folder",
        )
    return path


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a model folder's JSON object (UTF-8); damage and a missing file are InputErrors."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found", expected="a complete model folder") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"not UTF-8 text (byte {exc.start})", expected="the JSON the model saved"
        ) from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"invalid JSON ({exc.msg})", where=f"line {exc.lineno}") from None
    if not isinstance(value, dict):
        raise InputError(path, "holds no JSON object", expected="the JSON the model saved")
    return value


def read_safetensors(
    path: str | os.PathLike[str],
    framework: Literal["numpy", "torch"] = "numpy",
    device: str = "cpu",
) -> dict[str, Any]:
    """All arrays of a ``.safetensors`` file as NumPy arrays or torch tensors.

    Raises
    ------
    InputError
        If the file is missing, truncated or not a safetensors file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", expected="a complete model folder")
    from safetensors import SafetensorError

    try:
        if framework == "torch":
            from safetensors.torch import load_file as load_torch

            return load_torch(str(path), device=device)
        from safetensors.numpy import load_file as load_numpy

        return load_numpy(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            path, f"damaged array file ({reason})", expected="a safetensors file as saved"
        ) from None


def split_state(state: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """NumPy arrays (and numbers) and torch tensors of ``state``, apart.

    Raises
    ------
    TypeError
        For any other value, or an object array.
    """
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray | np.generic | int | float | bool):
            arrays[key] = np.asarray(value)
        elif type(value).__module__.startswith("torch"):
            tensors[key] = value
        else:
            raise TypeError(
                f"state {key!r} is a {type(value).__name__}; "
                "expected a NumPy array or a torch tensor"
            )
        if key in arrays and arrays[key].dtype == object:
            raise TypeError(f"state {key!r} is an object array; store numbers only")
    return arrays, tensors


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write NumPy ``arrays`` to ``path`` atomically; with none, remove a stale file."""
    if not arrays:
        path.unlink(missing_ok=True)
        return
    from safetensors.numpy import save_file

    with atomic_path(path) as tmp:
        save_file({k: np.array(v, order="C") for k, v in arrays.items()}, str(tmp))


def write_tensors(path: Path, tensors: Mapping[str, Any]) -> None:
    """Write torch ``tensors`` (moved to the CPU, contiguous, unshared) to ``path``
    atomically; with none, remove a stale file."""
    if not tensors:
        path.unlink(missing_ok=True)
        return
    from safetensors.torch import save_file

    # clone: safetensors refuses tensors that share memory (tied weights)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp))


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The NumPy arrays of a safetensors file (damage is an :class:`InputError`)."""
    return read_safetensors(path, "numpy")


def read_tensors(path: Path, device: str = "cpu") -> dict[str, Any]:
    """The torch tensors of a safetensors file, on ``device`` (damage is an InputError)."""
    return read_safetensors(path, "torch", device=device)


def encode_manifest(manifest: Mapping[str, Any], *, indent: int = 1) -> str:
    """The JSON text of a manifest; encode it before writing anything, so that a manifest
    that cannot be written leaves no half-written folder.

    Raises
    ------
    TypeError
        If the manifest is not JSON-serialisable.
    """
    try:
        return json.dumps(dict(manifest), indent=indent) + "\n"
    except TypeError as exc:
        raise TypeError(f"model manifest is not JSON-serialisable: {exc}") from exc


def write_manifest(path: Path, text: str) -> None:
    """Write the manifest text (:func:`encode_manifest`) atomically, after the arrays."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_manifest(
    directory: str | os.PathLike[str],
    name: str,
    *,
    format: str,
    version: int,
    missing: str,
    expected: str,
) -> dict[str, Any]:
    """The manifest ``name`` of a model folder, checked for its format and version.

    Parameters
    ----------
    directory
        The model folder.
    name
        File name of the manifest.
    format, version
        The format the manifest must name, and the newest version this code reads.
    missing, expected
        What the error says when the manifest is absent.

    Raises
    ------
    InputError
        If the manifest is absent, not JSON, of another format or of a newer version.
    """
    path = Path(directory) / name
    if not path.is_file():
        raise InputError(directory, missing, expected=expected)
    manifest = read_json(path)
    found = manifest.get("format")
    if found != format:
        raise InputError(path, f"format {found!r}", expected=repr(format))
    if int(manifest.get("format_version", 0)) > version:
        raise InputError(
            path,
            f"format version {manifest['format_version']} is newer than "
            f"this synthomics reads ({version})",
            expected="a newer synthomics",
        )
    return manifest


__all__ = [
    "encode_manifest",
    "model_file",
    "read_arrays",
    "read_json",
    "read_manifest",
    "read_safetensors",
    "read_tensors",
    "split_state",
    "write_arrays",
    "write_manifest",
    "write_tensors",
]
