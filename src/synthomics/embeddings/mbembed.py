# Over 450 lines: the MBEmbed encoder with its pickle-free checkpoint reader.
"""Import of the published MBEmbed encoder (Zahavi et al. 2025) without running its pickle.

MBEmbed distributes its encoder as ``mae30_encoder_full.pkl``: a torch zip checkpoint
(``torch.save`` of a whole module) whose pickle names classes of a private package, with
a layout of Linear(902 -> 1024), BatchNorm1d(1024), GELU, Dropout, and the input species
in ``model_species_reference.csv`` (columns ``species_name``, ``rep_id``, ``order``).
``torch.load`` would import that package and run its code; ``weights_only=True`` refuses
the file.

:func:`read_torch_zip_module` reads the tensors instead with a restricted unpickler:

* ``find_class`` never imports. A short allow-list maps the names a checkpoint needs to
  our own functions (``torch._utils._rebuild_tensor_v2`` to a strided view of the raw
  storage bytes, ``_rebuild_parameter`` to the tensor, ``collections.OrderedDict``,
  ``builtins.set``, the ``torch.*Storage`` types to their dtypes);
* every other name, the private module classes and ``torch.nn`` layers included,
  becomes an inert stub class that only records its arguments and state (so a
  checkpoint calling ``os.system`` gets a stub, not the function);
* storages are read from the zip's ``data/<key>`` entries as bytes.

The stub tree is then walked: standard ``torch.nn`` layers (:data:`LAYER_BUILDERS`, by
class name under ``torch.nn.modules``) are rebuilt from their recorded attributes and
loaded with the tensors, and applied in registration order, which is how MBEmbed's
encoder computes (its forward is a plain sequence of those layers). Any other leaf class
is refused with a clear error.

:class:`MBEmbedEncoder` wraps the result as a
:class:`~synthomics.embeddings.base.TaxaEmbedder`, with MBEmbed's own preprocessing
(zeros replaced by 1e-4, ``log10(x) + 2`` on fractions; duplicated reference names share
the abundance equally), so ``synthomics embed MBEMBED_FOLDER TABLE`` works like our
models.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from synthomics.embeddings.base import TaxaEmbedder
from synthomics.embeddings.transforms import AbundanceTransform
from synthomics.errors import InputError

CHECKPOINT_NAME = "mae30_encoder_full.pkl"
REFERENCE_NAME = "model_species_reference.csv"

_STORAGE_DTYPES: dict[str, torch.dtype] = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "UntypedStorage": torch.uint8,
}


# --- inert stand-ins -----------------------------------------------------------------
class InertObject:
    """Stand-in for any class a checkpoint names that is not allow-listed.

    Instances record constructor arguments, pickled state and appended items; no code of
    the original class ever runs.
    """

    pickled_module: str = ""
    pickled_name: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_args"] = args
        self.__dict__["_kwargs"] = kwargs

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("_items", {})[key] = value

    def append(self, value: Any) -> None:
        self.__dict__.setdefault("_list", []).append(value)

    def extend(self, values: Any) -> None:
        self.__dict__.setdefault("_list", []).extend(values)

    @property
    def state(self) -> dict[str, Any]:
        state = self.__dict__.get("_state")
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
            state = {**state[0], **(state[1] or {})}  # (dict state, slots state)
        return state if isinstance(state, dict) else {}

    @property
    def class_path(self) -> str:
        return f"{self.pickled_module}.{self.pickled_name}"

    def __repr__(self) -> str:
        return f"<inert {self.class_path}>"


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


@dataclass
class _Storage:
    data: torch.Tensor  # 1-D, of the storage's dtype


def _rebuild_tensor(
    storage: _Storage, offset: int, size: Any, stride: Any, *_: Any
) -> torch.Tensor:
    flat = storage.data
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) and min(size) > 0:
        last = int(offset) + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
        if last >= flat.numel():
            raise ValueError("tensor extends past its storage")
    return torch.as_strided(flat, size, stride, int(offset)).clone()


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


def _rebuild_from_type(func: Callable[..., Any], new_type: Any, args: tuple, state: Any) -> Any:
    if func not in (_rebuild_tensor, _rebuild_parameter):
        return InertObject(func, new_type, args, state)
    return func(*args)


def _reconstructor(cls: Any, base: Any, state: Any = None) -> Any:
    if isinstance(cls, type) and issubclass(cls, InertObject):
        return cls.__new__(cls)
    return InertObject(cls, base, state)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("__builtin__", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("torch", "Size"): tuple,
}
"""The only names resolved to real callables; all are ours or harmless builtins."""


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that never imports: allow-listed names or inert stubs (see module doc)."""

    def __init__(
        self, file: io.BufferedIOBase, load_storage: Callable[[str, torch.dtype], torch.Tensor]
    ):
        super().__init__(file)
        self._load_storage = load_storage
        self._stubs: dict[tuple[str, str], type] = {}
        self.names: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> Any:
        self.names.append((module, name))
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module in ("torch.storage",) and name in ("UntypedStorage", "TypedStorage"):
            return _StorageType(torch.uint8)
        key = (module, name)
        if key not in self._stubs:
            self._stubs[key] = type(
                name,
                (InertObject,),
                {"pickled_module": module, "pickled_name": name, "__module__": __name__},
            )
        return self._stubs[key]

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, storage_type, key, _location, _numel = pid
        dtype = storage_type.dtype if isinstance(storage_type, _StorageType) else torch.uint8
        return _Storage(self._load_storage(str(key), dtype))


def unpickle_torch_zip(path: str | os.PathLike[str]) -> Any:
    """The object pickled in a torch zip checkpoint, with stubs for every class.

    Raises
    ------
    InputError
        If the file is not a torch zip checkpoint or its pickle is unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", expected="a torch checkpoint (.pkl/.pt)")
    if not zipfile.is_zipfile(path):
        raise InputError(
            path,
            "not a torch zip checkpoint (legacy torch format or other file)",
            expected="a file written by torch.save with torch >= 1.6",
        )
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")]
        if len(pickles) != 1:
            raise InputError(path, f"expected one data.pkl in the archive, found {len(pickles)}")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in archive.namelist() and archive.read(byteorder).strip() != b"little":
            raise InputError(path, "big-endian checkpoint", expected="a little-endian checkpoint")
        cache: dict[str, torch.Tensor] = {}

        def load_storage(key: str, dtype: torch.dtype) -> torch.Tensor:
            if key not in cache:
                try:
                    raw = archive.read(f"{prefix}data/{key}")
                except KeyError as exc:
                    raise InputError(path, f"storage {key} is missing from the archive") from exc
                cache[key] = (
                    torch.frombuffer(bytearray(raw), dtype=dtype)
                    if raw
                    else (torch.empty(0, dtype=dtype))
                )
            return cache[key]

        try:
            return SafeUnpickler(io.BytesIO(archive.read(pickles[0])), load_storage).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
            raise InputError(path, f"cannot read the checkpoint's pickle ({exc})") from exc


# --- rebuilding standard layers ------------------------------------------------------------
@dataclass
class PickledLayer:
    """One leaf module found in the checkpoint."""

    path: str
    class_path: str
    attributes: dict[str, Any]
    parameters: dict[str, torch.Tensor | None] = field(default_factory=dict)
    buffers: dict[str, torch.Tensor | None] = field(default_factory=dict)


def _walk(obj: Any, path: str, out: list[PickledLayer]) -> None:
    if not isinstance(obj, InertObject):
        raise InputError(None, f"module {path or '(root)'} is not a pickled module ({obj!r})")
    state = obj.state
    children = state.get("_modules") or {}
    params = dict(state.get("_parameters") or {})
    buffers = dict(state.get("_buffers") or {})
    if children:
        if any(v is not None for v in params.values()) or any(
            v is not None for v in buffers.values()
        ):
            raise InputError(
                None,
                f"module {path or '(root)'} ({obj.class_path}) has its own "
                "weights beside submodules; its computation is unknown",
                expected="a module made of standard torch.nn layers",
            )
        for name, child in children.items():
            if child is not None:
                _walk(child, f"{path}.{name}" if path else str(name), out)
        return
    attributes = {k: v for k, v in state.items() if not k.startswith("_") and k != "training"}
    out.append(PickledLayer(path, obj.class_path, attributes, params, buffers))


def _linear(layer: PickledLayer) -> nn.Module:
    a = layer.attributes
    return nn.Linear(
        int(a["in_features"]), int(a["out_features"]), bias=layer.parameters.get("bias") is not None
    )


def _batchnorm(layer: PickledLayer) -> nn.Module:
    a = layer.attributes
    return nn.BatchNorm1d(
        int(a["num_features"]),
        eps=float(a.get("eps", 1e-5)),
        momentum=a.get("momentum", 0.1),
        affine=bool(a.get("affine", True)),
        track_running_stats=bool(a.get("track_running_stats", True)),
    )


def _layernorm(layer: PickledLayer) -> nn.Module:
    a = layer.attributes
    return nn.LayerNorm(
        tuple(a["normalized_shape"]),
        eps=float(a.get("eps", 1e-5)),
        elementwise_affine=bool(a.get("elementwise_affine", True)),
    )


MAX_LAYER_ELEMENTS = 2**28
"""Most weights (elements) a rebuilt layer may declare: 1 GiB of float32."""

_SIZE_ATTRIBUTES = {
    "Linear": ("out_features", "in_features"),
    "BatchNorm1d": ("num_features",),
}


def layer_sizes(layer: PickledLayer) -> tuple[int, ...]:
    """The sizes ``layer`` declares (``()`` for layers without any), checked before building.

    Each size must be a positive integer, the layer's weights at most
    :data:`MAX_LAYER_ELEMENTS`, and they must agree with the weight tensor the checkpoint
    holds, so that a crafted pickle cannot make synthomics allocate huge layers.

    Raises
    ------
    InputError
        Naming the layer and the size (the source is set by the caller).
    """
    name = layer.class_path.rpartition(".")[2]
    if name == "LayerNorm":
        shape = layer.attributes.get("normalized_shape")
        values = list(shape) if isinstance(shape, list | tuple) else [shape]
    else:
        values = [layer.attributes.get(key) for key in _SIZE_ATTRIBUTES.get(name, ())]
    sizes = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(
                None,
                f"layer {layer.path!r} declares the size {value!r}",
                expected="positive integers",
            )
        sizes.append(value)
    if math.prod(sizes) > MAX_LAYER_ELEMENTS:
        raise InputError(
            None,
            f"layer {layer.path!r} declares {math.prod(sizes)} weights",
            expected=f"at most {MAX_LAYER_ELEMENTS}",
        )
    weight = layer.parameters.get("weight")
    if sizes and weight is not None and tuple(weight.shape) != tuple(sizes):
        raise InputError(
            None,
            f"layer {layer.path!r} declares sizes {tuple(sizes)} but holds a weight of "
            f"shape {tuple(weight.shape)}",
            expected="sizes that match the stored weights",
        )
    return tuple(sizes)


LAYER_BUILDERS: dict[str, Callable[[PickledLayer], nn.Module]] = {
    "Linear": _linear,
    "BatchNorm1d": _batchnorm,
    "LayerNorm": _layernorm,
    "GELU": lambda la: nn.GELU(approximate=str(la.attributes.get("approximate", "none"))),
    "ReLU": lambda la: nn.ReLU(),
    "LeakyReLU": lambda la: nn.LeakyReLU(float(la.attributes.get("negative_slope", 0.01))),
    "ELU": lambda la: nn.ELU(float(la.attributes.get("alpha", 1.0))),
    "SiLU": lambda la: nn.SiLU(),
    "Tanh": lambda la: nn.Tanh(),
    "Sigmoid": lambda la: nn.Sigmoid(),
    "Dropout": lambda la: nn.Dropout(float(la.attributes.get("p", 0.5))),
    "Identity": lambda la: nn.Identity(),
}
"""Standard ``torch.nn`` leaf layers rebuilt from a checkpoint, by class name."""


def read_torch_zip_module(path: str | os.PathLike[str]) -> tuple[nn.Sequential, list[PickledLayer]]:
    """Rebuild a pickled module made of standard layers as an ``nn.Sequential``.

    Parameters
    ----------
    path
        A ``torch.save``-d whole module (zip format).

    Returns
    -------
    (torch.nn.Sequential, list of PickledLayer)
        The layers in registration order, with the checkpoint's tensors, in eval mode;
        and what was found, for inspection.
    """
    root = unpickle_torch_zip(path)
    layers: list[PickledLayer] = []
    try:
        _walk(root, "", layers)
    except InputError as exc:
        raise InputError(path, exc.problem, expected=exc.expected) from exc
    modules: list[nn.Module] = []
    for layer in layers:
        module_path, _, name = layer.class_path.rpartition(".")
        if not module_path.startswith("torch.nn") or name not in LAYER_BUILDERS:
            raise InputError(
                path,
                f"layer {layer.path!r} is a {layer.class_path}, which "
                "synthomics cannot rebuild safely",
                expected=f"standard torch.nn layers ({sorted(LAYER_BUILDERS)})",
            )
        try:
            layer_sizes(layer)
        except InputError as exc:
            raise InputError(path, exc.problem, expected=exc.expected) from None
        module = LAYER_BUILDERS[name](layer)
        state = {k: v for k, v in {**layer.parameters, **layer.buffers}.items() if v is not None}
        expected = module.state_dict()
        for key, value in state.items():
            if key not in expected or tuple(expected[key].shape) != tuple(value.shape):
                raise InputError(
                    path,
                    f"layer {layer.path!r}: tensor {key} of shape "
                    f"{tuple(value.shape)} does not fit a {name}",
                )
        missing = [k for k in expected if k not in state]
        if missing:
            raise InputError(path, f"layer {layer.path!r}: missing tensors {missing}")
        module.load_state_dict(state)
        modules.append(module)
    if not modules:
        raise InputError(path, "the checkpoint holds no layers")
    return nn.Sequential(*modules).eval(), layers


# --- the embedder -----------------------------------------------------------------------------
def read_species_reference(path: str | os.PathLike[str]) -> list[str]:
    """Species names of ``model_species_reference.csv`` in model input order.

    The ``order`` column, when present, gives each name's input position and must be a
    permutation of 0..n-1; otherwise the file order is used.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the species reference ({exc})") from exc
    if "species_name" not in frame.columns:
        raise InputError(
            path,
            f"no species_name column (columns {list(frame.columns)})",
            expected="columns species_name[,rep_id,order]",
        )
    names = frame["species_name"].astype(str).tolist()
    if "order" in frame.columns:
        try:
            order = frame["order"].astype(int).to_numpy()
        except ValueError as exc:
            raise InputError(
                path, "the order column holds non-integers", where="column 'order'"
            ) from exc
        if sorted(order.tolist()) != list(range(len(names))):
            raise InputError(
                path, "the order column is not a permutation of 0..n-1", where="column 'order'"
            )
        placed = [""] * len(names)
        for name, position in zip(names, order, strict=True):
            placed[position] = name
        names = placed
    return names


def is_mbembed_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder with an MBEmbed checkpoint and species reference."""
    path = Path(path)
    return path.is_dir() and (path / REFERENCE_NAME).is_file() and any(path.glob("*.pkl"))


class MBEmbedEncoder(TaxaEmbedder):
    """The published MBEmbed encoder behind the common embedder interface.

    Parameters
    ----------
    encoder
        The rebuilt layers (from :func:`read_torch_zip_module`).
    reference_taxa
        Input species in order (from :func:`read_species_reference`).
    duplicates
        Policy for duplicated reference names; ``"split"`` reproduces MBEmbed's
        preprocessing.
    """

    name = "MBEmbed"

    def __init__(self, encoder: nn.Module, reference_taxa: list[str], duplicates: str = "split"):
        self._encoder = encoder.eval()
        self.reference_taxa = list(reference_taxa)
        self.transform = AbundanceTransform("log10_zeros", 1e-4)
        self.duplicates = duplicates  # type: ignore[assignment]
        self.last_alignment = None
        first = next((m for m in encoder.modules() if isinstance(m, nn.Linear)), None)
        if first is not None and first.in_features != len(self.reference_taxa):
            raise InputError(
                None,
                f"the encoder reads {first.in_features} inputs but the "
                f"species reference lists {len(self.reference_taxa)} species",
                expected="the checkpoint and the reference from the same release",
            )

    def encoder(self) -> nn.Module:
        return self._encoder

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike[str],
        *,
        checkpoint: str | None = None,
        reference: str | None = None,
    ) -> MBEmbedEncoder:
        """Load from a folder holding the checkpoint and ``model_species_reference.csv``."""
        folder = Path(folder)
        checkpoint_path = folder / checkpoint if checkpoint else folder / CHECKPOINT_NAME
        if not checkpoint_path.is_file():
            found = sorted(folder.glob("*.pkl"))
            if len(found) != 1:
                raise InputError(
                    folder,
                    f"cannot choose the checkpoint among {len(found)} .pkl files",
                    expected=f"{CHECKPOINT_NAME} in the folder",
                )
            checkpoint_path = found[0]
        reference_path = folder / (reference or REFERENCE_NAME)
        if not reference_path.is_file():
            raise InputError(
                folder,
                f"{reference_path.name} is missing",
                expected="the species reference beside the checkpoint",
            )
        encoder, _ = read_torch_zip_module(checkpoint_path)
        try:
            return cls(encoder, read_species_reference(reference_path))
        except InputError as exc:
            raise InputError(checkpoint_path, exc.problem, expected=exc.expected) from exc

    def __repr__(self) -> str:
        return f"MBEmbedEncoder({len(self.reference_taxa)} taxa -> {self.embedding_dim})"


__all__ = [
    "LAYER_BUILDERS",
    "InertObject",
    "MBEmbedEncoder",
    "PickledLayer",
    "SafeUnpickler",
    "is_mbembed_folder",
    "read_species_reference",
    "read_torch_zip_module",
    "unpickle_torch_zip",
]
