"""Tests of the bundled demo dataset (synthomics.datasets.demo).

Expected numbers come from the dataset's SOURCE.md (396 samples, 719 species, IBD 148 /
control 248, 460 species on the tree carrying 87.8 % of the abundance on average).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from synthomics.datasets import demo_path, load_demo
from synthomics.io.tree import ACCESSION, read_tree, tree_from_newick


@pytest.fixture(scope="module")
def demo():
    return load_demo()


def test_files_are_bundled_and_small():
    paths = demo_path()
    assert set(paths) == {"abundance", "metadata", "tree", "attribution"}
    for path in paths.values():
        assert path.is_file()
    assert paths["tree"].stat().st_size < 150_000  # pruned from ~680 KB
    text = paths["attribution"].read_text()
    for fact in ("MIT", "GPL-3.0", "WVRAINS/mbddpm", "zhanxw/MB-GAN", "Nielsen HB", "GigaScience"):
        assert fact in text


def test_load_demo(demo):
    assert demo.shape == (396, 719)
    assert demo.uns["units"] == "percent"
    assert demo.obs["disease"].value_counts().to_dict() == {"control": 248, "IBD": 148}
    assert int(demo.var["on_tree"].sum()) == 460
    tips = {t.name for t in tree_from_newick(demo.uns["tree"]).tips()}
    assert tips == set(demo.var_names[demo.var["on_tree"].to_numpy()])
    assert demo.uns["tree_match"]["abundance_fraction_mean"] == pytest.approx(0.878, abs=1e-3)
    row_sums = demo.X.sum(axis=1)
    assert row_sums.min() == pytest.approx(97.75, abs=0.01)
    assert row_sums.max() == pytest.approx(100.0, abs=0.01)


def test_bundled_tree_keeps_original_tip_names():
    tree = read_tree(demo_path()["tree"])
    names = [t.name for t in tree.tips()]
    assert len(names) == 460
    assert all(ACCESSION.search(n) for n in names)


def test_bundle_matches_shared_dataset(shared_data):
    source = shared_data / "microbiome" / "nielsen_ibd"
    paths = demo_path()
    for bundled, original in (
        (paths["abundance"], source / "abundance.tsv.gz"),
        (paths["metadata"], source / "sample_metadata.tsv"),
    ):
        digest = hashlib.sha256(bundled.read_bytes()).hexdigest()
        assert digest == hashlib.sha256(original.read_bytes()).hexdigest()
    # pruning keeps the path length between kept tips (scikit-bio TreeNode.distance)
    full = read_tree(source / "tree.nwk")
    pruned = read_tree(paths["tree"])
    names = sorted(t.name for t in pruned.tips())
    rng = np.random.default_rng(0)
    for _ in range(25):
        x, y = rng.choice(names, size=2, replace=False)
        assert pruned.find(x).distance(pruned.find(y)) == pytest.approx(
            full.find(x).distance(full.find(y)), rel=1e-9
        )
