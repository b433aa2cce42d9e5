"""Reading the files of a saved model folder safely: names stay inside, damage is an error.

Saved generators (``manifest.json``) and torch models (``config.json``) name their other
files in their JSON. :func:`model_file` resolves such a name and refuses any that leads out
of the folder (an absolute path, ``..``, a link pointing elsewhere); :func:`read_json` and
:func:`read_safetensors` turn a damaged file (not UTF-8, not JSON, truncated or random
bytes, missing) into an :class:`~synthomics.errors.InputError` naming it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from synthomics.errors import InputError


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


__all__ = ["model_file", "read_json", "read_safetensors"]
