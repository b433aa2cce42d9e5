# Over 450 lines: taxon-name matching (exact, lineage, species) and its report, one algorithm.
"""Aligning a table's taxa to a model's reference taxa list, with a report.

An embedding model takes a fixed, ordered list of species (its *reference*). A new table
names its species in its own way: MetaPhlAn (``k__Bacteria|...|s__Blautia_wexlerae`` or
``s__Blautia_wexlerae``), GTDB (``d__Bacteria;...;s__Blautia_A wexlerae_B``), or bare
names. :func:`align_to_reference` maps every species of the table onto the reference and
returns the table's relative abundances in reference order, together with an
:class:`AlignmentReport` that says how much of the reference was found and how much of
each sample's abundance the found taxa carry.

Name normalisation (two levels, the exact level wins)
    *exact key*: the species name (the ``s__`` level of a lineage, or the whole name when
    it is no lineage; a one-word Greengenes epithet is prefixed with its genus), rank
    prefix dropped, square brackets and quotes removed, underscores and runs of spaces
    turned into one space, lower case. ``s__Faecalibacterium_prausnitzii``,
    ``Faecalibacterium prausnitzii`` and ``d__Bacteria;...;s__Faecalibacterium
    prausnitzii`` share the key ``faecalibacterium prausnitzii``.

    *loose key*: the exact key of the name after dropping GTDB's alphabetic suffixes
    (``_A``, ``_AQ``: an underscore and one or two capitals ending a word that ends in a
    lower-case letter), so ``Blautia_A wexlerae_B`` becomes ``blautia wexlerae``. A table
    taxon is matched by its loose key only when its exact key matches no reference entry.

    *NCBI/GTDB synonyms*: a taxon that matches by neither key is translated with the
    species table shipped in ``embeddings/data/ncbi_gtdb_species.csv`` (NCBI name, GTDB
    name, rule, published source; :func:`read_synonyms`), in both directions: MetaPhlAn's
    ``Bacteroides vulgatus`` finds a GTDB reference's ``Phocaeicola vulgatus`` and the
    other way round. The translated name is matched by its exact, then its loose key.
    No offline, maintained NCBI-to-GTDB species map exists as a Python package (the
    taxonomy packages download their databases at run time), hence the table; it holds
    genus reassignments of gut species only, not the placeholder ``sp000...`` clusters of
    GTDB, which have no NCBI species name.

Rules
    * The report counts, for each rule (exact name, GTDB suffix dropped, each synonym
      rule), the reference taxa it found and the abundance it carried
      (:attr:`AlignmentReport.rules`).
    * Rows that are not species (a lineage ending above species, or a ``t__`` strain
      row) are skipped and counted, so that a MetaPhlAn table with every rank is not
      counted twice.
    * Placeholder reference names (``unknown``, ``unclassified``, empty) match nothing
      and are left out of the "found" fraction.
    * Several table taxa matching one reference entry are **summed** (e.g. GTDB
      ``Blautia_A wexlerae`` and ``Blautia_A wexlerae_B`` into a MetaPhlAn-style
      ``Blautia wexlerae``); the report lists these merges.
    * One table taxon matching several reference entries (duplicated reference names, or
      one loose key shared by several entries) is resolved by ``duplicates``:
      ``"error"`` (default) raises :class:`~synthomics.errors.InputError`, and a reference
      with duplicated exact names is refused at once; ``"first"`` gives the abundance to
      the first matching entry in reference order, the others stay at zero; ``"split"``
      divides it equally among them (what MBEmbed's published preprocessing does for its
      duplicated names). Abundance is never copied into two columns.
    * The output columns are the reference entries in reference order; the input table
      is not modified.

Units
    Relative abundances are fractions of the sample's whole community. ``units`` may be
    stated (``"percent"``: divided by 100; ``"proportion"``: used as is; ``"counts"``:
    divided by the sample's total over its species rows) or ``"auto"``: the container's
    ``uns["units"]`` when set, else detected (integer-valued: counts; largest sample sum
    at most 1.01: proportions; at most 101: percent; otherwise an error asking to state
    them).
"""

from __future__ import annotations

import csv
import functools
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import anndata as ad
import numpy as np
import scipy.sparse as sp

from synthomics.container import UNITS
from synthomics.errors import InputError

DuplicatePolicy = Literal["error", "first", "split"]
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "first", "split")
UnitsOption = Literal["auto", "counts", "proportion", "percent"]

LOW_OVERLAP = 0.5
"""Below this fraction of reference taxa found, or of abundance carried, a warning is issued."""

PLACEHOLDER_NAMES = frozenset(
    {"", "unknown", "unclassified", "na", "nan", "none", "null", "other", "others"}
)

_PREFIX = re.compile(r"^(?:[A-Za-z]|D_\d+)__")
_GTDB_SUFFIX = re.compile(r"(?<=[a-z])_[A-Z]{1,2}(?=\s|$)")
_SEPARATORS = re.compile(r"[\s_]+")


EXACT_RULE = "exact name"
SUFFIX_RULE = "GTDB suffix dropped"
SYNONYM_TABLE = "ncbi_gtdb_species.csv"


@dataclass(frozen=True)
class SpeciesSynonym:
    """One species named differently by NCBI and GTDB, with the rule and its source."""

    ncbi: str
    gtdb: str
    rule: str
    source: str


def read_synonyms(text: str | None = None, source: object = None) -> tuple[SpeciesSynonym, ...]:
    """Synonyms from CSV text with columns ``ncbi_name,gtdb_name,rule,source``.

    Without ``text``, the table shipped with synthomics (cached).
    """
    if text is None:
        return _shipped_synonyms()
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = ("ncbi_name", "gtdb_name", "rule", "source")
    if not rows or any(c not in rows[0] for c in columns):
        raise InputError(source, "not a synonym table", expected=f"CSV columns {columns}")
    out = []
    for line, row in enumerate(rows, start=2):
        values = [(row.get(c) or "").strip() for c in columns]
        if not all(values[:3]):
            raise InputError(source, "empty name or rule", where=f"line {line}")
        out.append(SpeciesSynonym(*values))
    return tuple(out)


@functools.cache
def _shipped_synonyms() -> tuple[SpeciesSynonym, ...]:
    path = resources.files("synthomics.embeddings") / "data" / SYNONYM_TABLE
    return read_synonyms(path.read_text(encoding="utf-8"), source=SYNONYM_TABLE)


def synonym_index(synonyms: Sequence[SpeciesSynonym]) -> dict[str, list[tuple[str, str]]]:
    """``key -> [(name in the other taxonomy, rule)]``: NCBI names by exact key, GTDB
    names by loose key (so ``Lachnospira eligens_A`` finds ``Eubacterium eligens``)."""
    index: dict[str, list[tuple[str, str]]] = {}
    for synonym in synonyms:
        pairs = ((exact_key(synonym.ncbi), synonym.gtdb), (loose_key(synonym.gtdb), synonym.ncbi))
        for key, other in pairs:
            if key is not None:
                index.setdefault(key, []).append((other, synonym.rule))
    return index


class AlignmentWarning(UserWarning):
    """Few reference taxa were found in the table, or they carry little of its abundance."""


def _lineage_levels(name: str) -> list[str] | None:
    """Levels of a lineage string, or None when ``name`` is a bare name."""
    if "|" in name:
        return [level.strip() for level in name.split("|")]
    if ";" in name:
        return [level.strip() for level in name.split(";")]
    return None


def species_name(name: str) -> str | None:
    """The species part of a feature name, prefix removed; ``None`` for non-species rows.

    Examples
    --------
    >>> species_name("k__Bacteria|p__Firmicutes|g__Blautia|s__Blautia_wexlerae")
    'Blautia_wexlerae'
    >>> species_name("k__Bacteria|g__Blautia") is None
    True
    >>> species_name("g__Bacteroides; s__fragilis")
    'Bacteroides fragilis'
    >>> species_name("Akkermansia muciniphila_A")
    'Akkermansia muciniphila_A'
    """
    name = str(name).strip().strip("\"'")
    levels = _lineage_levels(name)
    if levels is None:
        if re.match(r"^[tT]__", name):
            return None  # a strain row
        if _PREFIX.match(name) and not re.match(r"^[sS]__", name):
            return None  # a higher rank given alone (g__Blautia)
        return _PREFIX.sub("", name)
    levels = [level for level in levels if level]
    if not levels:
        return None
    last = levels[-1]
    if re.match(r"^[tT]__", last):
        return None
    if not re.match(r"^[sS]__", last):
        # unprefixed lineages (Bacteria;Firmicutes;...) reach species at the 7th level
        if _PREFIX.match(last) or len(levels) < 7:
            return None
        species = last
    else:
        species = last[3:]
    species = species.strip()
    if not species:
        return None
    if not re.search(r"[\s_]", species):  # Greengenes: "s__fragilis" under "g__Bacteroides"
        genus = next((lv[3:] for lv in levels if re.match(r"^[gG]__", lv)), "")
        genus = genus.strip().strip("[]")
        if genus:
            species = f"{genus} {species}"
    return species


def exact_key(name: str) -> str | None:
    """Exact matching key of a species name (see the module docstring)."""
    text = _PREFIX.sub("", str(name).strip())
    text = text.replace("[", "").replace("]", "").replace('"', "").replace("'", "")
    text = _SEPARATORS.sub(" ", text).strip().lower()
    return None if text in PLACEHOLDER_NAMES else text


def loose_key(name: str) -> str | None:
    """Loose matching key: :func:`exact_key` after dropping GTDB ``_A``-style suffixes."""
    text = _PREFIX.sub("", str(name).strip())
    return exact_key(_GTDB_SUFFIX.sub("", text))


@dataclass
class RuleRecovery:
    """What one matching rule recovered: table taxa it matched, reference taxa it found
    first (rules in the order exact, suffix, synonyms) and, per sample, the fraction of
    the species-level abundance those table taxa carry."""

    n_table_taxa: int
    n_reference: int
    abundance: np.ndarray

    @property
    def mean_abundance(self) -> float:
        values = self.abundance[np.isfinite(self.abundance)]
        return float(values.mean()) if len(values) else 0.0


@dataclass
class AlignmentReport:
    """What :func:`align_to_reference` did.

    Attributes
    ----------
    n_reference
        Reference entries that can match (placeholders excluded).
    n_placeholder
        Placeholder reference entries (``unknown``...), which match nothing.
    n_found
        Reference entries that received at least one table taxon.
    n_table_species
        Species rows of the table.
    n_skipped_rows
        Table rows skipped as not species-level.
    abundance_carried
        Per sample: the fraction of the sample's species-level abundance carried by the
        matched taxa (NaN for samples without abundance).
    units
        Units the table was read in.
    unmatched
        Table species that matched nothing, most abundant first.
    loose_matches
        ``(table name, reference name)`` pairs matched by the loose key only.
    merged
        ``reference name -> table names`` where several table taxa were summed.
    ambiguous
        ``(table name, reference names, policy)`` where a taxon matched several entries.
    synonym_matches
        ``(table name, reference name, rule)`` for taxa matched through the NCBI/GTDB
        synonym table.
    rules
        Rule name -> :class:`RuleRecovery`, for the rules that matched something.
    """

    n_reference: int
    n_placeholder: int
    n_found: int
    n_table_species: int
    n_skipped_rows: int
    abundance_carried: np.ndarray
    units: str
    unmatched: list[str] = field(default_factory=list)
    loose_matches: list[tuple[str, str]] = field(default_factory=list)
    merged: dict[str, list[str]] = field(default_factory=dict)
    ambiguous: list[tuple[str, list[str], str]] = field(default_factory=list)
    synonym_matches: list[tuple[str, str, str]] = field(default_factory=list)
    rules: dict[str, RuleRecovery] = field(default_factory=dict)

    def rules_table(self) -> list[dict[str, object]]:
        """One row per rule: reference taxa found, table taxa matched, mean abundance."""
        return [
            {
                "rule": name,
                "reference_taxa": r.n_reference,
                "table_taxa": r.n_table_taxa,
                "mean_abundance": round(r.mean_abundance, 4),
            }
            for name, r in self.rules.items()
        ]

    @property
    def fraction_found(self) -> float:
        """Fraction of the (non-placeholder) reference taxa found in the table."""
        return self.n_found / self.n_reference if self.n_reference else 0.0

    @property
    def median_abundance_carried(self) -> float:
        """Median over samples of :attr:`abundance_carried`."""
        values = self.abundance_carried[np.isfinite(self.abundance_carried)]
        return float(np.median(values)) if len(values) else 0.0

    def problems(self, threshold: float = LOW_OVERLAP) -> list[str]:
        """Sentences describing a poor overlap (empty when the overlap is fine)."""
        out = []
        if self.fraction_found < threshold:
            out.append(
                f"only {self.n_found} of {self.n_reference} reference taxa "
                f"({self.fraction_found:.0%}) were found in the table"
            )
        if self.median_abundance_carried < threshold:
            out.append(
                f"the matched taxa carry a median {self.median_abundance_carried:.0%} of "
                "each sample's abundance"
            )
        return out

    def summary(self) -> str:
        """A few lines for people."""
        carried = self.abundance_carried[np.isfinite(self.abundance_carried)]
        low = int((carried < LOW_OVERLAP).sum()) if len(carried) else 0
        lines = [
            f"reference taxa found: {self.n_found}/{self.n_reference} "
            f"({self.fraction_found:.1%})"
            + (f"; {self.n_placeholder} placeholder entries ignored" if self.n_placeholder else ""),
            f"abundance carried by matched taxa: median {self.median_abundance_carried:.1%}"
            + (f", min {carried.min():.1%}" if len(carried) else "")
            + (f"; {low} samples below {LOW_OVERLAP:.0%}" if low else ""),
            f"table species: {self.n_table_species} ({len(self.unmatched)} unmatched"
            + (f", {self.n_skipped_rows} non-species rows skipped" if self.n_skipped_rows else "")
            + f"); units: {self.units}",
        ]
        for name, r in self.rules.items():
            lines.append(
                f"  by {name}: {r.n_reference} reference taxa, {r.n_table_taxa} table taxa, "
                f"mean {r.mean_abundance:.1%} of abundance"
            )
        if self.merged:
            lines.append(f"reference taxa summing several table taxa: {len(self.merged)}")
        if self.ambiguous:
            lines.append(
                f"table taxa matching several reference entries: {len(self.ambiguous)} "
                f"(resolved by '{self.ambiguous[0][2]}')"
            )
        return "\n".join(lines)


@dataclass
class AlignedProfiles:
    """Relative abundances in reference order, and how they were obtained."""

    fractions: np.ndarray
    """Samples x reference taxa, fractions of each sample's community (float64)."""
    sample_ids: list[str]
    reference: list[str]
    report: AlignmentReport


def resolve_units(X: np.ndarray, units: str, stated: str | None, source: object) -> str:
    """The units of ``X``: ``units`` unless ``"auto"``, else ``stated``, else detected."""
    from synthomics.io.validate import detect_units

    if units != "auto":
        if units not in UNITS:
            raise InputError(
                source, f"unknown units {units!r}", expected=f"'auto' or one of {UNITS}"
            )
        return units
    if stated in UNITS:
        return str(stated)
    rows = X[X.sum(axis=1) > 0]
    detected = detect_units(rows, sum_rule="at-most") if len(rows) else "proportion"
    if detected is None:
        raise InputError(
            source,
            "cannot tell whether the table holds percentages, "
            "proportions or counts (sample sums exceed 100 and are not integers)",
            expected="units stated explicitly (units=... / --units)",
        )
    return detected


def table_taxon_names(adata: ad.AnnData) -> list[str]:
    """Feature names to match: the ``lineage`` column where set, else the var names."""
    names = [str(v) for v in adata.var_names]
    if "lineage" in adata.var.columns:
        lineage = adata.var["lineage"]
        names = [
            str(lin) if isinstance(lin, str) and lin.strip() else name
            for lin, name in zip(lineage, names, strict=True)
        ]
    return names


def reference_keys(
    reference: Sequence[str], duplicates: DuplicatePolicy = "error", source: object = None
) -> tuple[dict[str, list[int]], dict[str, list[int]], int]:
    """Exact-key and loose-key indexes of the reference, and the number of placeholders.

    Raises
    ------
    InputError
        With ``duplicates="error"``, if two entries share an exact key.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise InputError(
            source,
            f"unknown duplicates policy {duplicates!r}",
            expected=f"one of {DUPLICATE_POLICIES}",
        )
    exact: dict[str, list[int]] = {}
    loose: dict[str, list[int]] = {}
    placeholders = 0
    for position, name in enumerate(reference):
        key = exact_key(name)
        if key is None:
            placeholders += 1
            continue
        exact.setdefault(key, []).append(position)
        loose.setdefault(loose_key(name) or key, []).append(position)
    if duplicates == "error":
        clashes = {k: v for k, v in exact.items() if len(v) > 1}
        if clashes:
            key, positions = next(iter(clashes.items()))
            names = [reference[p] for p in positions]
            raise InputError(
                source,
                f"the reference taxa list names one species several times: {names} "
                f"(entries {[p + 1 for p in positions]}; {len(clashes)} such names in all)",
                expected="unique reference names, or duplicates='first' or 'split'",
            )
    return exact, loose, placeholders


def align_to_reference(
    adata: ad.AnnData,
    reference: Sequence[str],
    *,
    units: UnitsOption = "auto",
    duplicates: DuplicatePolicy = "error",
    warn_below: float = LOW_OVERLAP,
    synonyms: bool | Sequence[SpeciesSynonym] = True,
    source: object = None,
) -> AlignedProfiles:
    """Map a microbiome table onto an ordered reference list of species.

    Parameters
    ----------
    adata
        Microbiome container (samples x features), e.g. from :func:`synthomics.io.read`.
        Feature names come from ``var["lineage"]`` where set, else the var names.
    reference
        The model's species, in the model's input order.
    units
        ``"auto"`` or the units of ``adata.X`` (see the module docstring).
    duplicates
        What to do when a table taxon matches several reference entries: ``"error"``,
        ``"first"`` or ``"split"`` (see the module docstring).
    warn_below
        Issue an :class:`AlignmentWarning` when the fraction of reference taxa found or
        the median abundance carried is below this.
    synonyms
        NCBI/GTDB species synonyms tried for taxa that match by neither key: ``True``
        for the shipped table (:func:`read_synonyms`), ``False`` for none, or a sequence
        of :class:`SpeciesSynonym`.
    source
        Name of the input for messages (default: ``uns["source_file"]``).

    Returns
    -------
    AlignedProfiles
        Fractions in reference order, sample ids, the reference and the report.
    """
    source = source if source is not None else adata.uns.get("source_file")
    X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise InputError(source, "the table has no samples", expected="a samples x taxa table")
    if not np.all(np.isfinite(X)) or (X < 0).any():
        raise InputError(source, "abundances must be finite and non-negative")
    reference = [str(r) for r in reference]
    exact, loose, placeholders = reference_keys(reference, duplicates, source)
    if synonyms is True:
        synonyms = read_synonyms()
    translations = synonym_index(synonyms) if synonyms else {}

    names = table_taxon_names(adata)
    species = [species_name(n) for n in names]
    keep = np.array([s is not None for s in species])
    if not keep.any():
        raise InputError(
            source,
            "no species-level rows in the table (names end above species or at strains)",
            expected="a species-level profile (s__ names)",
        )
    X_species = X[:, keep]
    species_kept = [s for s in species if s is not None]
    names_kept = [n for n, k in zip(names, keep, strict=True) if k]

    resolved_units = resolve_units(X_species, units, adata.uns.get("units"), source)
    totals = X_species.sum(axis=1)
    if resolved_units == "percent":
        fractions = X_species / 100.0
    elif resolved_units == "proportion":
        fractions = X_species
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            fractions = np.where(totals[:, None] > 0, X_species / totals[:, None], 0.0)

    rows, cols, weights = [], [], []
    unmatched: list[int] = []
    loose_matches: list[tuple[str, str]] = []
    ambiguous: list[tuple[str, list[str], str]] = []
    synonym_matches: list[tuple[str, str, str]] = []
    received: dict[int, list[str]] = {}
    rule_of: dict[int, str] = {}
    first_rule: dict[int, str] = {}
    for j, (name, spec) in enumerate(zip(names_kept, species_kept, strict=True)):
        key = exact_key(spec)
        lkey = loose_key(spec)
        targets = exact.get(key, []) if key is not None else []
        level = EXACT_RULE
        if not targets:
            targets = loose.get(lkey, []) if lkey is not None else []
            level = SUFFIX_RULE
        if not targets:
            candidates = translations.get(key or "", []) or translations.get(lkey or "", [])
            for other, rule in candidates:
                okey, olkey = exact_key(other), loose_key(other)
                targets = (exact.get(okey, []) if okey else []) or (
                    loose.get(olkey, []) if olkey else []
                )
                if targets:
                    level = rule
                    break
        if not targets:
            unmatched.append(j)
            continue
        if len(targets) > 1:
            ref_names = [reference[t] for t in targets]
            if duplicates == "error":
                raise InputError(
                    source,
                    f"taxon {name!r} matches {len(targets)} reference entries {ref_names}",
                    where=f"feature {j + 1}",
                    expected="one match per taxon, or duplicates='first' or 'split'",
                )
            ambiguous.append((name, ref_names, duplicates))
            if duplicates == "first":
                targets = targets[:1]
        if level == SUFFIX_RULE:
            loose_matches.append((name, reference[targets[0]]))
        elif level != EXACT_RULE:
            synonym_matches.append((name, reference[targets[0]], level))
        rule_of[j] = level
        for t in targets:
            rows.append(j)
            cols.append(t)
            weights.append(1.0 / len(targets))
            received.setdefault(t, []).append(name)
            first_rule.setdefault(t, level)
            if level == EXACT_RULE or (first_rule[t] != EXACT_RULE and level == SUFFIX_RULE):
                first_rule[t] = level
    mapping = sp.csr_matrix((weights, (rows, cols)), shape=(len(names_kept), len(reference)))
    aligned = np.asarray(mapping.T @ fractions.T).T  # sparse @ dense: dense
    matched_cols = np.setdiff1d(np.arange(len(names_kept)), unmatched)
    species_total = fractions.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        carried = np.where(
            species_total > 0, fractions[:, matched_cols].sum(axis=1) / species_total, np.nan
        )
    rules: dict[str, RuleRecovery] = {}
    for rule in dict.fromkeys(rule_of.values()):
        columns = [j for j, r in rule_of.items() if r == rule]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(
                species_total > 0, fractions[:, columns].sum(axis=1) / species_total, np.nan
            )
        n_ref = sum(1 for r in first_rule.values() if r == rule)
        rules[rule] = RuleRecovery(len(columns), n_ref, share)
    order_rules = [EXACT_RULE, SUFFIX_RULE]
    rules = {r: rules[r] for r in order_rules if r in rules} | {
        r: v for r, v in sorted(rules.items()) if r not in order_rules
    }
    order = sorted(unmatched, key=lambda j: -float(fractions[:, j].sum()))
    report = AlignmentReport(
        n_reference=len(reference) - placeholders,
        n_placeholder=placeholders,
        n_found=len(received),
        n_table_species=len(names_kept),
        n_skipped_rows=int((~keep).sum()),
        abundance_carried=carried,
        units=resolved_units,
        unmatched=[names_kept[j] for j in order],
        loose_matches=loose_matches,
        merged={reference[t]: v for t, v in received.items() if len(v) > 1},
        ambiguous=ambiguous,
        synonym_matches=synonym_matches,
        rules=rules,
    )
    problems = report.problems(warn_below)
    if problems:
        warnings.warn(
            f"{source or 'table'}: "
            + "; ".join(problems)
            + ". Embeddings of this table may be unreliable: check that it is a "
            "species-level profile named like the model's reference.",
            AlignmentWarning,
            stacklevel=2,
        )
    return AlignedProfiles(
        np.asarray(aligned, dtype=np.float64), [str(s) for s in adata.obs_names], reference, report
    )
