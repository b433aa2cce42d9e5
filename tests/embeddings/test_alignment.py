"""Alignment of a table's taxa to a reference list: names, units, duplicates, report."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from synthomics.embeddings.alignment import (
    EXACT_RULE,
    SUFFIX_RULE,
    AlignmentWarning,
    align_to_reference,
    exact_key,
    loose_key,
    read_synonyms,
    species_name,
)
from synthomics.errors import InputError


def _table(names, X, units=None):
    adata = ad.AnnData(np.asarray(X, dtype=float), var=pd.DataFrame(index=names))
    adata.obs_names = [f"s{i}" for i in range(adata.n_obs)]
    if units:
        adata.uns["units"] = units
    return adata


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("k__Bacteria|p__Firmicutes|g__Blautia|s__Blautia_wexlerae", "blautia wexlerae"),
        ("s__Blautia_wexlerae", "blautia wexlerae"),
        ("d__Bacteria;p__Firmicutes_A;g__Blautia;s__Blautia wexlerae", "blautia wexlerae"),
        ("Blautia  wexlerae", "blautia wexlerae"),
        ("k__Bacteria; g__Bacteroides; s__fragilis", "bacteroides fragilis"),  # Greengenes
        ("[Ruminococcus] gnavus", "ruminococcus gnavus"),
    ],
)
def test_exact_keys_of_the_naming_styles(name, expected):
    assert exact_key(species_name(name)) == expected


def test_non_species_rows_and_placeholders():
    assert species_name("k__Bacteria|p__Firmicutes|g__Blautia") is None
    assert species_name("k__Bacteria|g__Blautia|s__Blautia_wexlerae|t__GCF_0001") is None
    assert species_name("g__Blautia") is None
    assert exact_key("unknown") is None and exact_key("s__") is None


def test_gtdb_suffixes_only_in_the_loose_key():
    assert exact_key("Blautia_A wexlerae_B") == "blautia a wexlerae b"
    assert loose_key("Blautia_A wexlerae_B") == "blautia wexlerae"
    assert loose_key("Clostridium_AQ innocuum") == "clostridium innocuum"
    # MetaPhlAn strain-like designations are not GTDB suffixes
    assert loose_key("Bacteroides_sp_D2") == "bacteroides sp d2"


def test_percent_table_aligned_in_reference_order_with_missing_taxa():
    reference = ["Blautia wexlerae", "Akkermansia muciniphila", "Missing taxon", "Escherichia coli"]
    names = [
        "s__Escherichia_coli",
        "s__Blautia_wexlerae",
        "s__Other_species",
        "k__Bacteria|g__Blautia",
    ]  # a genus row: skipped, never counted
    X = [[10.0, 60.0, 30.0, 60.0], [0.0, 0.0, 100.0, 0.0]]
    # 2 of 4 reference taxa found (50 %: no warning for that); the matched taxa carry 70 %
    # and 0 % of the two samples: median 35 % < 50 % -> warning
    with pytest.warns(AlignmentWarning, match="median 35%"):
        aligned = align_to_reference(_table(names, X, units="percent"), reference)
    # expected by hand: fractions = percent / 100, placed in reference order
    np.testing.assert_allclose(aligned.fractions, [[0.6, 0.0, 0.0, 0.1], [0, 0, 0, 0]])
    r = aligned.report
    assert r.units == "percent" and r.n_skipped_rows == 1
    assert (r.n_found, r.n_reference) == (2, 4) and r.fraction_found == 0.5
    np.testing.assert_allclose(r.abundance_carried, [0.7, 0.0])
    assert r.unmatched == ["s__Other_species"]
    assert aligned.reference == reference and aligned.sample_ids == ["s0", "s1"]


def test_units_detected_or_stated_give_the_same_fractions():
    reference = ["A a", "B b"]
    fractions = np.array([[0.255, 0.745], [0.505, 0.4]])  # as percent: not integers
    as_percent = align_to_reference(_table(["A_a", "B_b"], fractions * 100), reference)
    as_fraction = align_to_reference(_table(["A_a", "B_b"], fractions), reference)
    stated = align_to_reference(_table(["A_a", "B_b"], fractions * 100), reference, units="percent")
    counts = align_to_reference(_table(["A_a", "B_b"], [[1, 3], [5, 4]]), reference)
    assert (as_percent.report.units, as_fraction.report.units) == ("percent", "proportion")
    np.testing.assert_allclose(as_percent.fractions, fractions)
    np.testing.assert_allclose(as_fraction.fractions, fractions)
    np.testing.assert_allclose(stated.fractions, fractions)
    assert counts.report.units == "counts"
    np.testing.assert_allclose(counts.fractions, [[0.25, 0.75], [5 / 9, 4 / 9]])
    with pytest.raises(InputError, match="cannot tell"):
        align_to_reference(_table(["A_a", "B_b"], [[150.5, 3.2]]), reference)


def test_duplicated_reference_names_error_first_or_split():
    reference = ["Dialister invisus", "Other sp", "Dialister_invisus"]
    table = _table(["s__Dialister_invisus", "s__Other_sp"], [[0.4, 0.6]])
    with pytest.raises(InputError, match="names one species several times"):
        align_to_reference(table, reference)
    first = align_to_reference(table, reference, duplicates="first")
    np.testing.assert_allclose(first.fractions, [[0.4, 0.6, 0.0]])
    split = align_to_reference(table, reference, duplicates="split")
    np.testing.assert_allclose(split.fractions, [[0.2, 0.6, 0.2]])
    # abundance is never copied: the total is preserved under every policy
    for aligned in (first, split):
        assert aligned.fractions.sum() == pytest.approx(1.0)
        assert aligned.report.ambiguous[0][1] == ["Dialister invisus", "Dialister_invisus"]


def test_loose_matches_ambiguity_and_merging():
    reference = ["Blautia_A wexlerae", "Blautia_A wexlerae_B", "Akkermansia muciniphila"]
    # MetaPhlAn name: no exact match, loose key shared by two GTDB entries -> ambiguous
    table = _table(["s__Blautia_wexlerae", "s__Akkermansia_muciniphila"], [[0.3, 0.7]])
    with pytest.raises(InputError, match="matches 2 reference entries"):
        align_to_reference(table, reference)
    first = align_to_reference(table, reference, duplicates="first")
    np.testing.assert_allclose(first.fractions, [[0.3, 0.0, 0.7]])
    assert first.report.loose_matches == [("s__Blautia_wexlerae", "Blautia_A wexlerae")]
    # GTDB table onto a MetaPhlAn-style reference: the two suffixed taxa are summed
    gtdb = _table(
        ["Blautia_A wexlerae", "Blautia_A wexlerae_B", "Akkermansia muciniphila_A"],
        [[0.1, 0.2, 0.7]],
    )
    merged = align_to_reference(gtdb, ["Blautia wexlerae", "Akkermansia muciniphila"])
    np.testing.assert_allclose(merged.fractions, [[0.3, 0.7]])
    assert merged.report.merged == {
        "Blautia wexlerae": ["Blautia_A wexlerae", "Blautia_A wexlerae_B"]
    }
    # an exact match wins over the loose one
    exact = align_to_reference(_table(["Blautia_A wexlerae_B"], [[1.0]]), reference)
    np.testing.assert_allclose(exact.fractions, [[0.0, 1.0, 0.0]])


def test_placeholders_and_lineage_column():
    reference = ["unknown", "Escherichia coli", "unknown"]
    table = _table(["otu1", "otu2"], [[0.5, 0.5]])
    table.var["lineage"] = ["k__Bacteria|g__Escherichia|s__Escherichia_coli", "unknown"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 1 of 1 real reference taxon found: no warning
        aligned = align_to_reference(table, reference, warn_below=0.4)
    np.testing.assert_allclose(aligned.fractions, [[0.0, 0.5, 0.0]])
    assert aligned.report.n_placeholder == 2 and aligned.report.fraction_found == 1.0


def test_table_without_species_rows_is_refused():
    with pytest.raises(InputError, match="no species-level rows"):
        align_to_reference(_table(["k__Bacteria|g__Blautia"], [[1.0]]), ["Blautia wexlerae"])


def test_ncbi_names_found_in_a_gtdb_reference_with_per_rule_recovery():
    # MetaPhlAn-style (NCBI) names; reference in GTDB names as in MBEmbed's list
    names = [
        "s__Bacteroides_vulgatus",  # Bacteroides -> Phocaeicola (Garcia-Lopez et al. 2019)
        "s__Eubacterium_rectale",  # -> Agathobacter rectalis (Rosero et al. 2016)
        "s__Eubacterium_eligens",  # -> Lachnospira eligens, GTDB suffix _A on the reference
        "s__Blautia_wexlerae",  # GTDB suffix only
        "s__Akkermansia_muciniphila",  # exact
        "s__Clostridium_sp_L2_50",  # no counterpart
    ]
    reference = [
        "Akkermansia muciniphila",
        "Phocaeicola vulgatus",
        "Agathobacter rectalis",
        "Lachnospira eligens_A",
        "Blautia_A wexlerae",
    ]
    X = [[10, 20, 5, 15, 40, 10], [0, 50, 0, 0, 25, 25]]  # percent, rows sum to 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignmentWarning)
        plain = align_to_reference(_table(names, X), reference, units="percent", synonyms=False)
        out = align_to_reference(_table(names, X), reference, units="percent")
    assert plain.report.n_found == 2
    assert out.report.n_found == 5
    # hand computation: each reference column receives its one table taxon, as fractions
    np.testing.assert_allclose(
        out.fractions, [[0.40, 0.10, 0.20, 0.05, 0.15], [0.25, 0.0, 0.50, 0.0, 0.0]]
    )
    rules = out.report.rules
    assert list(rules)[:2] == [EXACT_RULE, SUFFIX_RULE]
    eubacterium = rules["Eubacterium to other genera"]
    assert (eubacterium.n_reference, eubacterium.n_table_taxa) == (2, 2)
    np.testing.assert_allclose(eubacterium.abundance, [0.25, 0.50])  # (20 + 5) %, 50 %
    bacteroides = rules["Bacteroides to Phocaeicola"]
    assert bacteroides.n_reference == 1
    np.testing.assert_allclose(bacteroides.abundance, [0.10, 0.0])
    assert rules[SUFFIX_RULE].n_reference == 1
    np.testing.assert_allclose(out.report.abundance_carried, [0.90, 0.75])
    assert ("s__Bacteroides_vulgatus", "Phocaeicola vulgatus", "Bacteroides to Phocaeicola") in (
        out.report.synonym_matches
    )
    assert out.report.unmatched == ["s__Clostridium_sp_L2_50"]
    assert "by Eubacterium to other genera: 2 reference taxa" in out.report.summary()


def test_gtdb_names_found_in_an_ncbi_reference_and_exact_names_win():
    names = ["Phocaeicola vulgatus", "Agathobacter rectalis", "Bacteroides dorei"]
    reference = ["Bacteroides vulgatus", "Eubacterium rectale", "Bacteroides dorei"]
    out = align_to_reference(_table(names, [[0.5, 0.3, 0.2]]), reference, units="proportion")
    np.testing.assert_allclose(out.fractions, [[0.5, 0.3, 0.2]])
    # both names present: each goes to its own reference entry, the synonym is not used
    names = ["Bacteroides vulgatus", "Phocaeicola vulgatus"]
    reference = ["Phocaeicola vulgatus", "Bacteroides vulgatus"]
    out = align_to_reference(_table(names, [[0.6, 0.4]]), reference, units="proportion")
    np.testing.assert_allclose(out.fractions, [[0.4, 0.6]])
    assert out.report.synonym_matches == []


def test_shipped_synonym_table_is_well_formed_and_bad_tables_are_refused():
    table = read_synonyms()
    assert len(table) >= 40
    ncbi = [exact_key(s.ncbi) for s in table]
    assert len(set(ncbi)) == len(ncbi)  # one translation per NCBI name
    for synonym in table:
        assert len(synonym.ncbi.split()) == 2 and len(synonym.gtdb.split()) == 2
        assert synonym.source  # every rule cites where it comes from
    with pytest.raises(InputError, match="not a synonym table"):
        read_synonyms("a,b\n1,2\n", source="mine.csv")
    with pytest.raises(InputError, match="line 2"):
        read_synonyms("ncbi_name,gtdb_name,rule,source\nBacteroides vulgatus,,r,s\n")
