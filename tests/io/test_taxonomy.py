"""Taxonomy strings of every style split into rank columns; taxonomy tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.container import microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.taxonomy import (
    format_lineage,
    join_taxonomy,
    looks_like_lineage,
    parse_lineage,
    read_taxonomy_table,
    taxonomy_frame,
)

# Expected values below are written by hand from each style's documented rank prefixes.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "k__Bacteria; p__Firmicutes; c__Bacilli; o__; f__; g__; s__",  # Greengenes
            {
                "kingdom": "Bacteria",
                "phylum": "Firmicutes",
                "class": "Bacilli",
                "order": None,
                "family": None,
                "genus": None,
                "species": None,
            },
        ),
        (
            "D_0__Bacteria;D_1__Bacteroidetes;D_2__Bacteroidia",  # SILVA (QIIME 1 release)
            {"kingdom": "Bacteria", "phylum": "Bacteroidetes", "class": "Bacteroidia"},
        ),
        (
            "d__Archaea;p__Halobacteriota;c__Methanosarcinia",  # GTDB
            {"kingdom": "Archaea", "phylum": "Halobacteriota", "class": "Methanosarcinia"},
        ),
        (
            "k__Bacteria|p__Bacteroidetes|c__Bacteroidia|o__Bacteroidales|f__Prevotellaceae|"
            "g__Prevotella|s__Prevotella_copri|t__GCF_000157935",  # MetaPhlAn with strain
            {
                "kingdom": "Bacteria",
                "phylum": "Bacteroidetes",
                "class": "Bacteroidia",
                "order": "Bacteroidales",
                "family": "Prevotellaceae",
                "genus": "Prevotella",
                "species": "Prevotella_copri",
                "strain": "GCF_000157935",
            },
        ),
        ("Bacteria;NA;Bacilli", {"kingdom": "Bacteria", "phylum": None, "class": "Bacilli"}),
        ("k__Bacteria; p__[Thermi]", {"kingdom": "Bacteria", "phylum": "[Thermi]"}),
        ("Unassigned", {"kingdom": "Unassigned"}),
        ("", {}),
        (None, {}),
    ],
)
def test_parse_lineage_styles(text, expected):
    assert parse_lineage(text) == expected


def test_format_lineage_is_canonical_across_styles():
    # the same taxon written in three styles gives one lineage string
    styles = [
        "k__Bacteria; p__Firmicutes; c__; o__Lactobacillales; f__; g__; s__",
        "D_0__Bacteria;D_1__Firmicutes;D_2__;D_3__Lactobacillales",
        "d__Bacteria;p__Firmicutes;c__;o__Lactobacillales;f__;g__;s__",
    ]
    assert {format_lineage(parse_lineage(s)) for s in styles} == {
        "k__Bacteria|p__Firmicutes|c__|o__Lactobacillales"
    }
    assert format_lineage({}) is None


def test_taxonomy_frame_columns_and_missing_values():
    frame = taxonomy_frame(
        ["k__Bacteria; p__; c__Bacilli", "k__Archaea", None], index=["a", "b", "c"]
    )
    assert list(frame.columns) == ["kingdom", "phylum", "class", "lineage"]
    assert frame.loc["a", "class"] == "Bacilli"
    assert pd.isna(frame.loc["a", "phylum"])  # empty p__ is missing
    assert frame.loc["a", "lineage"] == "k__Bacteria|p__|c__Bacilli"
    assert frame.loc["c"].isna().all()


def test_looks_like_lineage():
    assert looks_like_lineage("k__Bacteria")
    assert looks_like_lineage("D_0__Bacteria;D_1__X")
    assert looks_like_lineage("Bacteria;Firmicutes")
    assert not looks_like_lineage("OTU_17")
    assert not looks_like_lineage("549322")
    assert not looks_like_lineage("Bacteroides")


def test_read_rank_column_table_like_global_patterns(write_text):
    path = write_text(
        "taxonomy.tsv",
        "feature_id\tKingdom\tPhylum\tClass\tOrder\tFamily\tGenus\tSpecies\n"
        "549322\tArchaea\tCrenarchaeota\tThermoprotei\tNA\tNA\tNA\tNA\n"
        "951\tArchaea\tCrenarchaeota\tThermoprotei\tSulfolobales\tSulfolobaceae\tSulfolobus\t"
        "Sulfolobusacidocaldarius\n",
    )
    frame = read_taxonomy_table(path)
    assert list(frame.index) == ["549322", "951"]
    assert frame.loc["549322", "class"] == "Thermoprotei"
    assert pd.isna(frame.loc["549322", "order"])
    assert frame.loc["549322", "lineage"] == "k__Archaea|p__Crenarchaeota|c__Thermoprotei"
    assert frame.loc["951", "species"] == "Sulfolobusacidocaldarius"


def test_read_qiime2_taxonomy_keeps_confidence(write_text):
    path = write_text(
        "taxonomy.tsv",
        "Feature ID\tTaxon\tConfidence\n"
        "abc\td__Bacteria; p__Firmicutes; c__Bacilli\t0.99\n"
        "def\tUnassigned\t0.7\n",
    )
    frame = read_taxonomy_table(path)
    assert frame.loc["abc", "phylum"] == "Firmicutes"
    assert frame.loc["def", "kingdom"] == "Unassigned"
    assert frame.loc["abc", "Confidence"] == "0.99"


def test_taxonomy_table_errors(write_text, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_taxonomy_table(tmp_path / "nope.tsv")
    dup = write_text("dup.tsv", "id\ttaxonomy\nA\tk__B\nA\tk__C\n")
    with pytest.raises(InputError, match=r"line 3.*duplicate feature id 'A'"):
        read_taxonomy_table(dup)
    none = write_text("none.tsv", "id\tfoo\tbar\nA\t1\t2\n")
    with pytest.raises(InputError, match="no taxonomy column"):
        read_taxonomy_table(none)


def test_join_taxonomy_reports_missing_and_unused(write_text):
    adata = microbiome_anndata(np.ones((2, 3)), ["s1", "s2"], ["A", "B", "C"], units="counts")
    path = write_text("tax.tsv", "id\ttaxonomy\nA\tk__Bacteria;p__X\nB\tk__Archaea\nZ\tk__Q\n")
    with pytest.warns(UserWarning, match="1 of 3 features have no taxonomy"):
        join_taxonomy(adata, path)
    assert adata.var.loc["A", "phylum"] == "X"
    assert pd.isna(adata.var.loc["C", "kingdom"])
    assert adata.uns["taxonomy_join"]["features_without_taxonomy"] == 1
    assert adata.uns["taxonomy_join"]["taxonomy_rows_unused"] == 1


def test_join_taxonomy_with_no_shared_id_is_an_error(write_text):
    adata = microbiome_anndata(np.ones((1, 2)), ["s1"], ["A", "B"], units="counts")
    path = write_text("tax.tsv", "id\ttaxonomy\nX\tk__Bacteria\n")
    with pytest.raises(InputError, match="no feature id"):
        join_taxonomy(adata, path)
