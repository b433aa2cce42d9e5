"""The explicit list of generators, so that the CLI and the evaluation ask for one by name.

Each entry names its class as ``"module:Class"`` and is imported on first use, so that
``import synthomics.generators`` stays fast and a broken optional model cannot break the
others. Add a generator with one line in :data:`GENERATORS` (or :func:`register` at run
time, e.g. from a plug-in).

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
from typing import TYPE_CHECKING, Any

from synthomics.errors import InputError

if TYPE_CHECKING:
    from synthomics.generators.base import Generator


@dataclass(frozen=True)
class GeneratorEntry:
    """One registered generator."""

    name: str
    spec: str | type
    """``"module:Class"`` (imported on first use) or the class itself."""
    omics: str
    description: str


GENERATORS: dict[str, GeneratorEntry] = {
    e.name: e
    for e in (
        GeneratorEntry(
            "ziln_copula",
            "synthomics.generators.ziln_copula:ZILNCopulaGenerator",
            "microbiome",
            "SparseDOSSA 2: zero-inflated log-normal taxa + Gaussian copula (Ma et al. 2021)",
        ),
        GeneratorEntry(
            "midasim",
            "synthomics.generators.midasim:MIDASimGenerator",
            "microbiome",
            "MIDASim: tetrachoric presence + copula on abundances (He et al. 2024)",
        ),
        GeneratorEntry(
            "dmm",
            "synthomics.generators.dmm:DMMGenerator",
            "microbiome",
            "Dirichlet-multinomial mixture, K by Laplace (Holmes et al. 2012)",
        ),
        GeneratorEntry(
            "independent",
            "synthomics.generators.independent:IndependentGenerator",
            "microbiome",
            "Independent marginals: each taxon from its empirical distribution",
        ),
        GeneratorEntry(
            "diffusion",
            "synthomics.microbiome_diffusion.model:MicrobiomeDiffusion",
            "microbiome",
            "Sparsity-preserving denoising diffusion: prevalence-initialised "
            "presence logits, straight-through sparsity loss, Poincaré taxonomy",
        ),
        GeneratorEntry(
            "bootstrap",
            "synthomics.generators.bootstrap:BootstrapGenerator",
            "microbiome",
            "Row bootstrap of training samples: PRIVACY WORST CASE",
        ),
        GeneratorEntry(
            "allele_frequency",
            "synthomics.generators.genotype_frequency:AlleleFrequencyGenerator",
            "genotype",
            "Independent per-variant genotype frequencies (no LD)",
        ),
        GeneratorEntry(
            "haplotype_copying",
            "synthomics.generators.haplotype_copying:HaplotypeCopyingGenerator",
            "genotype",
            "Li & Stephens haplotype mosaics (stores the data)",
        ),
        GeneratorEntry(
            "genotype_diffusion",
            "synthomics.genotype_diffusion.model:GenotypeDiffusion",
            "genotype",
            "Denoising diffusion over windowed-PCA latents, decoded with calibrated thresholds",
        ),
        GeneratorEntry(
            "genotype_bootstrap",
            "synthomics.generators.genotype_bootstrap:GenotypeBootstrapGenerator",
            "genotype",
            "Genotype row bootstrap: PRIVACY WORST CASE",
        ),
    )
}


def canonical_name(name: str) -> str:
    """Registry spelling of a generator name: hyphens read as underscores
    (``genotype-diffusion`` is ``genotype_diffusion``)."""
    return str(name).strip().replace("-", "_")


def register(
    name: str,
    spec: str | type[Generator],
    description: str,
    *,
    omics: str = "microbiome",
    replace: bool = False,
) -> None:
    """Add a generator to the registry.

    Parameters
    ----------
    name
        Registry name (must equal the class's ``name``).
    spec
        ``"module:Class"`` or the class itself.
    description
        One line for ``synthomics models``.
    omics
        ``"microbiome"`` or ``"genotype"``.
    replace
        Allow replacing an existing entry.
    """
    name = canonical_name(name)
    if name in GENERATORS and not replace:
        raise ValueError(f"generator {name!r} is already registered")
    GENERATORS[name] = GeneratorEntry(name, spec, omics, description)


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
    if isinstance(entry.spec, str):
        module, attr = entry.spec.split(":")
        cls = getattr(importlib.import_module(module), attr)
    else:
        cls = entry.spec
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
