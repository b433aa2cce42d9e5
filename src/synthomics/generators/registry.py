"""The explicit list of generators, so that the CLI and the evaluation ask for one by name.

Each entry names its class as ``"module:Class"``, imported on first use so that
``import synthomics.generators`` stays fast; the omics and the one-line description are the
class's own (``omics``, ``description``). Add a generator with one line in
:data:`GENERATORS` (or :func:`register` at run time, e.g. from a plug-in).

Examples
--------
>>> from synthomics.generators import available_generators, get_generator
>>> "ziln_copula" in available_generators()
True
>>> get_generator("dmm", n_components=[1, 2]).name
'dmm'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from synthomics.errors import InputError
from synthomics.generators.base import Generator, set_class_lookup


@dataclass(frozen=True)
class GeneratorEntry:
    """One registered generator; its omics and description are those of its class."""

    name: str
    spec: str | type
    """``"module:Class"`` (imported on first use) or the class itself."""

    def load(self) -> type[Generator]:
        """The class (imported on first use)."""
        if not isinstance(self.spec, str):
            return self.spec
        module, attr = self.spec.split(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def omics(self) -> str:
        """``"microbiome"`` or ``"genotype"`` (the class's ``omics``)."""
        return self.load().omics

    @property
    def description(self) -> str:
        """One line for ``synthomics models`` (the class's ``description``)."""
        return self.load().description


GENERATORS: dict[str, GeneratorEntry] = {
    e.name: e
    for e in (
        GeneratorEntry("ziln_copula", "synthomics.generators.ziln_copula:ZILNCopulaGenerator"),
        GeneratorEntry("midasim", "synthomics.generators.midasim:MIDASimGenerator"),
        GeneratorEntry("dmm", "synthomics.generators.dmm:DMMGenerator"),
        GeneratorEntry("independent", "synthomics.generators.independent:IndependentGenerator"),
        GeneratorEntry("diffusion", "synthomics.microbiome_diffusion.model:MicrobiomeDiffusion"),
        GeneratorEntry("bootstrap", "synthomics.generators.bootstrap:BootstrapGenerator"),
        GeneratorEntry(
            "allele_frequency", "synthomics.generators.genotype_frequency:AlleleFrequencyGenerator"
        ),
        GeneratorEntry(
            "haplotype_copying", "synthomics.generators.haplotype_copying:HaplotypeCopyingGenerator"
        ),
        GeneratorEntry(
            "genotype_diffusion", "synthomics.genotype_diffusion.model:GenotypeDiffusion"
        ),
        GeneratorEntry(
            "genotype_bootstrap",
            "synthomics.generators.genotype_bootstrap:GenotypeBootstrapGenerator",
        ),
    )
}


def canonical_name(name: str) -> str:
    """Registry spelling of a generator name: hyphens read as underscores
    (``genotype-diffusion`` is ``genotype_diffusion``)."""
    return str(name).strip().replace("-", "_")


def register(name: str, spec: str | type[Generator], *, replace: bool = False) -> None:
    """Add a generator to the registry.

    Parameters
    ----------
    name
        Registry name (must equal the class's ``name``).
    spec
        ``"module:Class"`` or the class itself (its ``omics`` and ``description`` are
        listed).
    replace
        Allow replacing an existing entry.
    """
    name = canonical_name(name)
    if name in GENERATORS and not replace:
        raise ValueError(f"generator {name!r} is already registered")
    GENERATORS[name] = GeneratorEntry(name, spec)


def available_generators(omics: str | None = None) -> dict[str, str]:
    """Registered generator names with their one-line descriptions (optionally one omics)."""
    return {e.name: e.description for e in GENERATORS.values() if omics is None or e.omics == omics}


def generator_class(name: str) -> type[Generator]:
    """The class registered as ``name``.

    Raises
    ------
    InputError
        If no generator has that name.
    """
    name = canonical_name(name)
    entry = GENERATORS.get(name)
    if entry is None:
        raise InputError(
            None, f"unknown generator {name!r}", expected=f"one of {sorted(GENERATORS)}"
        )
    cls = entry.load()
    if getattr(cls, "name", None) != name:
        raise TypeError(
            f"{entry.spec} has name {getattr(cls, 'name', None)!r}, registered as {name!r}"
        )
    return cls


def get_generator(name: str, **config: Any) -> Generator:
    """A new, unfitted generator ``name`` built with ``config`` (constructor arguments)."""
    name = canonical_name(name)
    cls = generator_class(name)
    try:
        return cls(**config)
    except TypeError as exc:
        raise InputError(
            None,
            f"bad options for generator {name!r}: {exc}",
            expected="the constructor arguments documented for it",
        ) from exc


set_class_lookup(generator_class)
