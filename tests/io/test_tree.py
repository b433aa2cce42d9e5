"""Newick trees: reading, the tip-name rule, pruning, trees built from taxonomy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skbio import TreeNode
from skbio.diversity.alpha import faith_pd

from synthomics.container import microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.tree import (
    attach_tree,
    match_tree,
    read_tree,
    tree_from_newick,
    tree_from_taxonomy,
    uns_tree,
)

NEWICK = "(((OTU1:1,OTU2:2)n1:1,OTU3:3)n2:1,(OTU4:1,OTU5:1)n3:2)root;"


def test_read_tree_keeps_underscores(write_text):
    tree = read_tree(write_text("t.nwk", "(k__Bacteria|s__A_b:1,x_y:2);"))
    assert sorted(t.name for t in tree.tips()) == ["k__Bacteria|s__A_b", "x_y"]


def test_read_tree_errors(write_text, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_tree(tmp_path / "none.nwk")
    with pytest.raises(InputError, match="empty file"):
        read_tree(write_text("e.nwk", ""))
    with pytest.raises(InputError, match="cannot parse Newick"):
        read_tree(write_text("bad.nwk", "((a,b);"))


def test_exact_match_prunes_and_preserves_distances():
    tree = tree_from_newick(NEWICK)
    match = match_tree(tree, ["OTU1", "OTU3", "OTU4", "OTU9"])
    assert match.n_matched == 3
    assert match.matched_by == {"exact": 3, "accession": 0, "species": 0}
    assert match.n_tips == 5 and match.n_tips_pruned == 2
    assert match.on_tree.tolist() == [True, True, True, False]
    assert sorted(t.name for t in match.tree.tips()) == ["OTU1", "OTU3", "OTU4"]
    # pruning merges single-child nodes: tip-to-tip distances equal the original tree's
    for a, b in [("OTU1", "OTU3"), ("OTU1", "OTU4"), ("OTU3", "OTU4")]:
        assert match.tree.find(a).distance(match.tree.find(b)) == pytest.approx(
            tree.find(a).distance(tree.find(b))
        )
    assert sorted(t.name for t in tree.tips()) == [f"OTU{i}" for i in range(1, 6)]  # intact


def test_accession_suffix_is_stripped_and_tips_renamed():
    lineage = "k__Bacteria|p__Firmicutes|c__C|o__O|f__F|g__Roseburia|s__Roseburia_hominis"
    other = "k__Bacteria|p__Firmicutes|c__C|o__O|f__F|g__Blautia|s__Blautia_obeum"
    tree = tree_from_newick(f"('{lineage}|GCF_000225345':1,'{other}|GCA_12.1':2,GCF_9:1);")
    match = match_tree(tree, [lineage, other])
    assert match.matched_by["accession"] == 2
    assert match.tip_of_feature[lineage] == f"{lineage}|GCF_000225345"
    assert sorted(t.name for t in match.tree.tips()) == sorted([lineage, other])
    assert match.n_tips_pruned == 1


def test_species_pass_matches_unique_species_names_only():
    tree = tree_from_newick("(Escherichia_coli:1,'Bacteroides ovatus':1,Prevotella_copri:1);")
    features = ["f1", "f2", "f3", "f4"]
    lineages = [
        "k__Bacteria|g__Escherichia|s__Escherichia_coli",
        "k__Bacteria|g__Bacteroides|s__Bacteroides_ovatus",
        "k__Bacteria|g__Prevotella|s__Prevotella_copri",
        "k__Bacteria|g__Other|s__Prevotella_copri",
    ]  # copri twice: ambiguous
    match = match_tree(tree, features, lineages=lineages)
    assert match.matched_by == {"exact": 0, "accession": 0, "species": 2}
    assert match.on_tree.tolist() == [True, True, False, False]


def test_lineage_exact_match_and_id_priority():
    tree = tree_from_newick("(A:1,'k__X|p__Y':1);")
    match = match_tree(tree, ["A", "B"], lineages=["k__Q", "k__X|p__Y"])
    assert match.tip_of_feature == {"A": "A", "B": "k__X|p__Y"}
    assert match.matched_by["exact"] == 2


def test_abundance_fractions_by_hand():
    tree = tree_from_newick(NEWICK)
    X = np.array([[1.0, 1, 2], [3, 0, 1], [0, 0, 0]])  # features OTU1, OTU2, ZZZ
    match = match_tree(tree, ["OTU1", "OTU2", "ZZZ"], abundance=X)
    # matched share: sample 1 (1+1)/4 = 0.5, sample 2 3/4 = 0.75; the empty sample skipped
    assert match.abundance_fraction_mean == pytest.approx(0.625)
    assert match.abundance_fraction_min == pytest.approx(0.5)


def test_no_tip_matches_names_the_tree_file(write_text):
    path = write_text("tree.nwk", NEWICK)
    adata = microbiome_anndata(np.ones((2, 2)), ["s1", "s2"], ["X1", "X2"], units="counts")
    with pytest.raises(
        InputError,
        match=r"tree\.nwk: tips like 'OTU1'; features like 'X1': "
        "no tree tip matches any feature",
    ):
        attach_tree(adata, path)


def test_attach_tree_stores_pruned_newick_and_report(write_text):
    adata = microbiome_anndata(
        np.array([[1.0, 2, 3], [4, 5, 6]]), ["s1", "s2"], ["OTU1", "OTU5", "new"], units="counts"
    )
    attach_tree(adata, write_text("tree.nwk", NEWICK))
    assert adata.uns["tree_source"] == "file"
    assert adata.uns["tree_match"]["n_matched"] == 2
    assert adata.uns["tree_match"]["n_tips_pruned"] == 3
    assert adata.var["on_tree"].tolist() == [True, True, False]
    stored = uns_tree(adata)
    assert sorted(t.name for t in stored.tips()) == ["OTU1", "OTU5"]
    # OTU1-OTU5 path in NEWICK: 1 + 1 + 1 + 2 + 1 = 6
    assert stored.find("OTU1").distance(stored.find("OTU5")) == pytest.approx(6.0)


def test_tree_from_taxonomy_structure_and_faith_pd():
    var = pd.DataFrame(
        {
            "kingdom": ["Bacteria", "Bacteria", "Bacteria", "Archaea"],
            "phylum": ["Firmicutes", "Firmicutes", "Bacteroidetes", np.nan],
            "genus": ["Roseburia", "Blautia", np.nan, np.nan],
        },
        index=["a", "b", "c", "d"],
    )
    var = var[["kingdom", "phylum", "genus"]]
    tree = tree_from_taxonomy(var)
    assert isinstance(tree, TreeNode)
    assert sorted(t.name for t in tree.tips()) == ["a", "b", "c", "d"]
    # unit branches, by hand: a and b meet at Firmicutes (2 up + 2 down = 4); a and c meet at
    # Bacteria (3 up + 2 down to c below Bacteroidetes = 5); a and d meet at the root (4 + 2)
    assert tree.find("a").distance(tree.find("b")) == 4.0
    assert tree.find("a").distance(tree.find("c")) == 5.0
    assert tree.find("a").distance(tree.find("d")) == 6.0
    # Faith's PD of {a, b}: a, b, Roseburia, Blautia, Firmicutes, Bacteria edges = 6
    assert faith_pd([1, 1, 0, 0], tree=tree, taxa=["a", "b", "c", "d"]) == 6.0


def test_tree_from_taxonomy_needs_ranks():
    with pytest.raises(InputError, match="no taxonomy"):
        tree_from_taxonomy(pd.DataFrame(index=["a"]))
