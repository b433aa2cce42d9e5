"""Saving and loading torch models: ``weights.safetensors`` + ``config.json``, never pickle.

A model folder holds

``config.json``
    ``{"format": "synthomics-torch-model", "format_version": 1, "synthomics_version",
    "config": {...}, "extra_arrays": [...]}``; ``config`` is whatever the model needs to
    rebuild its module (sizes, options, feature names), plain JSON.
``weights.safetensors``
    The module's ``state_dict``.
``arrays.safetensors``
    Optional extra arrays (e.g. feature means), when given.

The files are written as every synthomics model folder is
(:mod:`synthomics.io.model_folder`): atomically, ``config.json`` last, so a folder with one
holds a complete model; loading never executes code from the files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from synthomics.errors import InputError
from synthomics.io.model_folder import (
    encode_manifest,
    read_arrays,
    read_manifest,
    read_tensors,
    write_arrays,
    write_manifest,
    write_tensors,
)

FORMAT = "synthomics-torch-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
ARRAYS_FILE = "arrays.safetensors"


class LoadedModel(NamedTuple):
    """What :func:`load_torch_model` returns."""

    module: nn.Module
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]


def save_torch_model(
    directory: str | os.PathLike[str],
    module: nn.Module,
    config: Mapping[str, Any],
    extra_arrays: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Save ``module``'s weights and ``config`` in ``directory`` (created if needed).

    Parameters
    ----------
    directory
        Output folder; existing model files in it are replaced.
    module
        The torch module; its ``state_dict`` is saved (on CPU, contiguous).
    config
        JSON-serialisable description from which ``build_fn`` of :func:`load_torch_model`
        rebuilds the module.
    extra_arrays
        Other arrays to keep beside the weights (NumPy, any shape).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from synthomics import __version__

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "synthomics_version": __version__,
        "config": dict(config),
        "extra_arrays": sorted(extra_arrays or {}),
    }
    text = encode_manifest(manifest, indent=2)
    write_tensors(directory / WEIGHTS_FILE, dict(module.state_dict()))
    write_arrays(directory / ARRAYS_FILE, dict(extra_arrays or {}))
    write_manifest(directory / CONFIG_FILE, text)
    return directory


def read_model_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config`` saved by :func:`save_torch_model` in ``directory``.

    Raises
    ------
    InputError
        If the folder holds no synthomics model.
    """
    return read_manifest(
        directory,
        CONFIG_FILE,
        format=FORMAT,
        version=FORMAT_VERSION,
        missing=f"no {CONFIG_FILE} in the model folder",
        expected="a folder written by a synthomics model's save()",
    )


def load_torch_model(
    directory: str | os.PathLike[str],
    build_fn: Callable[[dict[str, Any]], nn.Module],
    *,
    map_location: str | torch.device = "cpu",
    strict: bool = True,
) -> LoadedModel:
    """Rebuild a module saved by :func:`save_torch_model`.

    Parameters
    ----------
    directory
        The model folder.
    build_fn
        Called with the saved ``config``; returns a freshly initialised module of the same
        architecture, into which the weights are loaded.
    map_location
        Device for the weights.
    strict
        Require the saved and built parameter names to match exactly.

    Returns
    -------
    LoadedModel
        ``(module, config, arrays)``; the module is in eval mode.
    """
    directory = Path(directory)
    manifest = read_model_config(directory)
    config = manifest["config"]
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise InputError(
            directory, f"{WEIGHTS_FILE} is missing", expected="a complete model folder"
        )
    state = read_tensors(weights_path, device=str(map_location))
    module = build_fn(config)
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = []
    if missing:
        problems.append(f"missing weights {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected weights {unexpected[:5]}")
    if mismatched:
        problems.append(f"shape mismatch (saved vs built) {mismatched[:5]}")
    if problems and (strict or mismatched):
        raise InputError(
            weights_path,
            "; ".join(problems),
            expected="weights matching the architecture in config.json",
        )
    module.load_state_dict(state, strict=False)
    module.to(map_location)
    module.eval()
    arrays: dict[str, np.ndarray] = {}
    if manifest.get("extra_arrays"):
        arrays_path = directory / ARRAYS_FILE
        if not arrays_path.is_file():
            raise InputError(
                directory,
                f"{ARRAYS_FILE} is missing",
                expected=f"arrays {manifest['extra_arrays']}",
            )
        arrays = read_arrays(arrays_path)
    return LoadedModel(module, config, arrays)
