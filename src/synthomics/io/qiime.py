"""QIIME 2 artifacts (``.qza``): feature tables, rooted trees and taxonomies, without QIIME 2.

An artifact is a zip archive holding one folder named by the artifact's uuid::

    <uuid>/metadata.yaml    uuid, type and format of the artifact
    <uuid>/VERSION          archive and framework versions
    <uuid>/data/...         the payload

Three types are read, each by the reader synthomics has for its payload:

- ``FeatureTable[Frequency]`` (counts) and ``FeatureTable[RelativeFrequency]``
  (proportions): ``data/feature-table.biom``, BIOM 2.1 HDF5, by
  :func:`~synthomics.io.biom.read_biom`;
- ``Phylogeny[Rooted]``: ``data/tree.nwk`` by :func:`~synthomics.io.tree.read_tree`;
- ``FeatureData[Taxonomy]``: ``data/taxonomy.tsv`` (``Feature ID``, ``Taxon``,
  ``Confidence``) by :func:`~synthomics.io.taxonomy.read_taxonomy_table`.

Tables are read with :func:`synthomics.io.read` (format ``"qiime2"``, chosen from the
``.qza`` extension); trees and taxonomies by :func:`~synthomics.io.tree.read_tree` and
:func:`~synthomics.io.taxonomy.read_taxonomy_table`, which hand ``.qza`` files to this module,
so ``--tree rooted-tree.qza`` and ``--taxonomy taxonomy.qza`` work wherever those options
exist. The declared type is checked first: an artifact of another type, a damaged zip or a
missing payload is an :class:`~synthomics.errors.InputError` naming the file. The artifact's
type and uuid are kept in ``uns["qiime2_artifacts"]`` (``{"table": {...}, "tree": {...},
"taxonomy": {...}}``) and shown by ``synthomics info``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd

from synthomics.errors import InputError


@dataclass(frozen=True)
class ArtifactKind:
    """What synthomics reads from one kind of artifact: accepted types and the payload file."""

    role: str
    types: tuple[str, ...]
    payload: str
    described: str


KINDS: dict[str, ArtifactKind] = {
    k.role: k
    for k in (
        ArtifactKind(
            "table",
            ("FeatureTable[Frequency]", "FeatureTable[RelativeFrequency]"),
            "feature-table.biom",
            "a feature table",
        ),
        ArtifactKind("tree", ("Phylogeny[Rooted]",), "tree.nwk", "a rooted tree"),
        ArtifactKind("taxonomy", ("FeatureData[Taxonomy]",), "taxonomy.tsv", "a taxonomy"),
    )
}
"""Artifact kinds by role (``"table"``, ``"tree"``, ``"taxonomy"``)."""

_HINTS = {
    "Phylogeny[Unrooted]": " (root it first, e.g. with `qiime phylogeny midpoint-root`)",
}


@dataclass(frozen=True)
class Artifact:
    """An opened artifact: where it is, what ``metadata.yaml`` declares, its payload member.

    Attributes
    ----------
    path
        The ``.qza`` file.
    uuid, type, format
        As declared in ``metadata.yaml``.
    member
        Name of the payload inside the zip (``<uuid>/data/feature-table.biom``...).
    """

    path: Path
    uuid: str
    type: str
    format: str
    member: str

    def summary(self) -> dict[str, str]:
        """``{"file", "type", "uuid", "format"}``, as stored in ``uns["qiime2_artifacts"]``."""
        return {"file": str(self.path), "type": self.type, "uuid": self.uuid, "format": self.format}

    @property
    def where(self) -> str:
        """The payload's place in the archive, for error messages (``data/tree.nwk``)."""
        return self.member.split("/", 1)[1] if "/" in self.member else self.member


def is_artifact(path: object) -> bool:
    """Whether ``path`` names a QIIME 2 artifact (a path ending in ``.qza``, any case)."""
    return isinstance(path, str | os.PathLike) and str(path).lower().endswith(".qza")


def parse_metadata_yaml(text: str) -> dict[str, str]:
    """The top-level ``key: value`` pairs of an artifact's ``metadata.yaml``.

    Artifacts write three such lines (``uuid``, ``type``, ``format``); quotes around a value
    are removed, indented and comment lines are skipped.

    Examples
    --------
    >>> parse_metadata_yaml("uuid: 1a2b\\ntype: FeatureTable[Frequency]\\nformat: null\\n")
    {'uuid': '1a2b', 'type': 'FeatureTable[Frequency]', 'format': 'null'}
    """
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line[0] in " \t#-" or ":" not in line:
            continue
        key, value = line.split(":", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise InputError(path, "file not found", expected="an existing file")
    if path.is_dir():
        raise InputError(path, "is a folder", expected="a QIIME 2 artifact (.qza zip archive)")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            path,
            f"not a readable zip archive, truncated or damaged ({exc})",
            expected="a QIIME 2 artifact (.qza zip archive)",
        ) from exc


def _describe(path: Path, archive: zipfile.ZipFile, kind: ArtifactKind) -> Artifact:
    names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names if name}
    meta = [n for n in names if n.count("/") == 1 and n.endswith("/metadata.yaml")]
    if len(tops) != 1 or not meta:
        raise InputError(
            path,
            "no <uuid>/metadata.yaml in the archive",
            expected="a QIIME 2 artifact (one <uuid>/ folder with metadata.yaml and data/)",
        )
    top = meta[0].split("/", 1)[0]
    declared = parse_metadata_yaml(_read_member(path, archive, meta[0]).decode("utf-8", "replace"))
    kind_of = declared.get("type", "")
    if not kind_of:
        raise InputError(
            path, "metadata.yaml declares no type", where=meta[0], expected="a 'type: ...' line"
        )
    if kind_of not in kind.types:
        accepted = " or ".join(kind.types)
        raise InputError(
            path,
            f"QIIME 2 artifact of type {kind_of}{_HINTS.get(kind_of, '')}",
            expected=f"{kind.described}, type {accepted}",
        )
    member = f"{top}/data/{kind.payload}"
    if member not in names:
        present = sorted(n.split("/", 1)[1] for n in names if n.startswith(f"{top}/data/"))
        raise InputError(
            path,
            f"the {kind_of} artifact has no data/{kind.payload}",
            where=f"data/ holds {present[:5] or 'nothing'}",
            expected=f"{kind.described} in data/{kind.payload}",
        )
    return Artifact(
        path=path,
        uuid=declared.get("uuid", top),
        type=kind_of,
        format=declared.get("format", ""),
        member=member,
    )


def _read_member(path: Path, archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC mismatch, cut-off data
        raise InputError(
            path,
            f"cannot extract {member} ({exc})",
            expected="an undamaged QIIME 2 artifact",
        ) from exc


def describe_artifact(path: str | os.PathLike[str], role: str) -> Artifact:
    """Open an artifact and check that it holds a ``role`` (``"table"``, ``"tree"``...).

    Raises
    ------
    InputError
        Missing or damaged file, no ``metadata.yaml``, a type other than those of
        :data:`KINDS` ``[role]``, or no payload.
    """
    path = Path(path)
    with _open_zip(path) as archive:
        return _describe(path, archive, KINDS[role])


@contextlib.contextmanager
def artifact_payload(path: str | os.PathLike[str], role: str) -> Iterator[tuple[Artifact, Path]]:
    """Check an artifact and extract its payload to a temporary file, removed on exit.

    Yields
    ------
    (Artifact, pathlib.Path)
        The artifact and the extracted payload (named as in the archive).
    """
    path = Path(path)
    with _open_zip(path) as archive:
        artifact = _describe(path, archive, KINDS[role])
        data = _read_member(path, archive, artifact.member)
    with tempfile.TemporaryDirectory(prefix="synthomics-qza-") as tmp:
        payload = Path(tmp) / KINDS[role].payload
        payload.write_bytes(data)
        yield artifact, payload


def _relocated(exc: InputError, artifact: Artifact, payload: Path) -> InputError:
    """The same error, naming the artifact and its payload instead of the temporary file."""
    if exc.source != str(payload):
        return exc
    where = artifact.where if exc.where is None else f"{artifact.where}, {exc.where}"
    problem = exc.problem.replace(str(payload), artifact.where)
    return InputError(artifact.path, problem, where=where, expected=exc.expected)


def read_qza_table(
    path: str | os.PathLike[str],
    *,
    metadata: pd.DataFrame | str | os.PathLike[str] | None = None,
    tree: Any = None,
    taxonomy: pd.DataFrame | str | os.PathLike[str] | None = None,
    taxonomy_tree: bool = True,
    units: str = "auto",
    **options: Any,
) -> ad.AnnData:
    """Read a ``FeatureTable[Frequency]`` or ``[RelativeFrequency]`` artifact.

    Parameters
    ----------
    path
        The ``table.qza``.
    metadata, tree, taxonomy, taxonomy_tree
        Joined as by :func:`~synthomics.io.microbiome.finish_microbiome` (trees and
        taxonomies may be artifacts too).
    units
        ``"auto"`` takes ``counts`` for ``Frequency`` and ``proportion`` for
        ``RelativeFrequency`` tables; other values as in :func:`~synthomics.io.biom.read_biom`.
    **options
        Passed to :func:`~synthomics.io.biom.read_biom` (``sum_rule``, ``all_zero``...).

    Returns
    -------
    anndata.AnnData
        Microbiome container; ``uns["source_file"]`` is the artifact,
        ``uns["qiime2_artifacts"]["table"]`` its type and uuid.
    """
    from synthomics.io.biom import read_biom
    from synthomics.io.microbiome import finish_microbiome

    with artifact_payload(path, "table") as (artifact, payload):
        if units == "auto":
            units = "proportion" if artifact.type.endswith("[RelativeFrequency]") else "counts"
        try:
            adata = read_biom(payload, units=units, taxonomy_tree=False, **options)  # type: ignore[arg-type]
        except InputError as exc:
            raise _relocated(exc, artifact, payload) from exc
    adata.uns["source_file"] = str(artifact.path)
    adata.uns["qiime2_artifacts"] = {"table": artifact.summary()}
    return finish_microbiome(
        adata, metadata=metadata, taxonomy=taxonomy, tree=tree, taxonomy_tree=taxonomy_tree
    )


def read_qza_tree(path: str | os.PathLike[str]) -> Any:
    """Read a ``Phylogeny[Rooted]`` artifact into a :class:`skbio.TreeNode`."""
    from synthomics.io.tree import read_tree

    with artifact_payload(path, "tree") as (artifact, payload):
        try:
            return read_tree(payload)
        except InputError as exc:
            raise _relocated(exc, artifact, payload) from exc


def read_qza_taxonomy(path: str | os.PathLike[str], id_column: str | None = None) -> pd.DataFrame:
    """Read a ``FeatureData[Taxonomy]`` artifact (``Feature ID``, ``Taxon``, ``Confidence``)."""
    from synthomics.io.taxonomy import read_taxonomy_table

    with artifact_payload(path, "taxonomy") as (artifact, payload):
        try:
            return read_taxonomy_table(payload, id_column=id_column)
        except InputError as exc:
            raise _relocated(exc, artifact, payload) from exc


def record_side_artifacts(adata: ad.AnnData, *, tree: Any = None, taxonomy: Any = None) -> None:
    """Note the type and uuid of tree and taxonomy artifacts in ``uns["qiime2_artifacts"]``."""
    found = {
        role: describe_artifact(value, role).summary()
        for role, value in (("tree", tree), ("taxonomy", taxonomy))
        if is_artifact(value)
    }
    if found:
        adata.uns["qiime2_artifacts"] = {**dict(adata.uns.get("qiime2_artifacts", {})), **found}


__all__ = [
    "KINDS",
    "Artifact",
    "ArtifactKind",
    "artifact_payload",
    "describe_artifact",
    "is_artifact",
    "parse_metadata_yaml",
    "read_qza_table",
    "read_qza_taxonomy",
    "read_qza_tree",
    "record_side_artifacts",
]
