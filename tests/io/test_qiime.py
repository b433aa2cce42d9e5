"""QIIME 2 artifacts (.qza) read without QIIME 2, through the library and the CLI.

The artifacts are built here with the layout QIIME 2 writes (``<uuid>/metadata.yaml``,
``<uuid>/VERSION``, ``<uuid>/data/<payload>``); the BIOM payload is written by biom-format's
own ``Table.to_hdf5``, as QIIME 2 does, so the expected values are those put in.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app
from synthomics.errors import InputError
from synthomics.io import detect_format, read
from synthomics.io.microbiome import read_microbiome
from synthomics.io.qiime import describe_artifact, parse_metadata_yaml
from synthomics.io.taxonomy import read_taxonomy_table
from synthomics.io.tree import read_tree

UUID = "5c1b8a6e-1f59-4b3e-9a43-2f1d1c7e0a11"

COUNTS = np.array([[10.0, 0.0, 5.0], [3.0, 7.0, 0.0], [0.0, 2.0, 8.0], [4.0, 4.0, 4.0]])
SAMPLES = ["S1", "S2", "S3", "S4"]
FEATURES = ["f1", "f2", "f3"]
TREE = "((f1:0.1,f2:0.2)n1:0.3,f3:0.4)root;\n"
TAXONOMY = (
    "Feature ID\tTaxon\tConfidence\n"
    "f1\td__Bacteria; p__Firmicutes; c__Bacilli\t0.99\n"
    "f2\td__Bacteria; p__Firmicutes; c__Clostridia\t0.95\n"
    "f3\td__Bacteria; p__Bacteroidota\t0.9\n"
)


def write_artifact(
    path: Path,
    kind: str,
    files: dict[str, bytes],
    *,
    fmt: str = "BIOMV210DirFmt",
    uuid: str = UUID,
) -> Path:
    """A .qza laid out as QIIME 2 writes it: files go under ``<uuid>/data/``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{uuid}/VERSION", "QIIME 2\narchive: 5\nframework: 2023.9.1\n")
        archive.writestr(f"{uuid}/metadata.yaml", f"uuid: {uuid}\ntype: {kind}\nformat: {fmt}\n")
        for name, data in files.items():
            archive.writestr(f"{uuid}/data/{name}", data)
    return path


def biom_bytes(tmp_path: Path, X: np.ndarray = COUNTS) -> bytes:
    from biom import Table

    table = Table(X.T, FEATURES, SAMPLES)
    path = tmp_path / "payload.biom"
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "test")
    return path.read_bytes()


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "q2"
    folder.mkdir()
    metadata = folder / "sample-metadata.tsv"
    metadata.write_text(
        "sample-id\tbody-site\tyear\n"
        "#q2:types\tcategorical\tnumeric\n"
        "S1\tgut\t2020\nS2\ttongue\t2021\nS3\tgut\t2020\nS4\ttongue\t2021\n"
    )
    return {
        "table": write_artifact(
            folder / "table.qza",
            "FeatureTable[Frequency]",
            {"feature-table.biom": biom_bytes(tmp_path)},
        ),
        "tree": write_artifact(
            folder / "rooted-tree.qza",
            "Phylogeny[Rooted]",
            {"tree.nwk": TREE.encode()},
            fmt="NewickDirectoryFormat",
            uuid="0d7c3e5a-aaaa-4bbb-8ccc-000000000002",
        ),
        "taxonomy": write_artifact(
            folder / "taxonomy.qza",
            "FeatureData[Taxonomy]",
            {"taxonomy.tsv": TAXONOMY.encode()},
            fmt="TSVTaxonomyDirectoryFormat",
            uuid="0d7c3e5a-aaaa-4bbb-8ccc-000000000003",
        ),
        "metadata": metadata,
    }


def test_metadata_yaml_lines():
    text = "uuid: 'abc'\ntype: FeatureData[Taxonomy]\nformat: TSVTaxonomyDirectoryFormat\n"
    assert parse_metadata_yaml(text) == {
        "uuid": "abc",
        "type": "FeatureData[Taxonomy]",
        "format": "TSVTaxonomyDirectoryFormat",
    }


def test_table_artifact_reads_the_counts_put_in(artifacts):
    assert detect_format(artifacts["table"]) == "qiime2"
    adata = read(artifacts["table"])
    assert list(adata.obs_names) == SAMPLES and list(adata.var_names) == FEATURES
    np.testing.assert_array_equal(np.asarray(adata.X), COUNTS)
    assert adata.uns["units"] == "counts"
    assert adata.uns["source_file"] == str(artifacts["table"])
    assert adata.uns["qiime2_artifacts"]["table"] == {
        "file": str(artifacts["table"]),
        "type": "FeatureTable[Frequency]",
        "uuid": UUID,
        "format": "BIOMV210DirFmt",
    }


def test_relative_frequency_table_is_read_as_proportions(tmp_path):
    X = COUNTS / COUNTS.sum(axis=1, keepdims=True)
    path = write_artifact(
        tmp_path / "rel.qza",
        "FeatureTable[RelativeFrequency]",
        {"feature-table.biom": biom_bytes(tmp_path, X)},
    )
    adata = read(path)
    assert adata.uns["units"] == "proportion"
    np.testing.assert_allclose(np.asarray(adata.X), X)


def test_tree_and_taxonomy_artifacts(artifacts):
    tree = read_tree(artifacts["tree"])
    assert sorted(t.name for t in tree.tips()) == FEATURES
    assert tree.find("f2").length == 0.2
    taxonomy = read_taxonomy_table(artifacts["taxonomy"])
    assert taxonomy.loc["f2", "class"] == "Clostridia"
    assert taxonomy.loc["f3", "phylum"] == "Bacteroidota"
    assert taxonomy.loc["f1", "Confidence"] == "0.99"


def test_table_tree_taxonomy_and_q2_metadata_together(artifacts):
    adata = read_microbiome(
        artifacts["table"],
        metadata=artifacts["metadata"],
        tree=artifacts["tree"],
        taxonomy=artifacts["taxonomy"],
    )
    assert adata.uns["tree_source"] == "file"
    assert adata.uns["tree_match"]["n_matched"] == 3
    assert list(adata.var["phylum"]) == ["Firmicutes", "Firmicutes", "Bacteroidota"]
    # the #q2:types row is not a sample; "year" is numeric as declared
    assert list(adata.obs["body-site"]) == ["gut", "tongue", "gut", "tongue"]
    assert adata.obs["year"].dtype == np.float64
    assert set(adata.uns["qiime2_artifacts"]) == {"table", "tree", "taxonomy"}
    assert adata.uns["qiime2_artifacts"]["tree"]["type"] == "Phylogeny[Rooted]"


def test_artifact_of_the_wrong_type_is_named(tmp_path):
    path = write_artifact(
        tmp_path / "rep-seqs.qza",
        "FeatureData[Sequence]",
        {"dna-sequences.fasta": b">f1\nACGT\n"},
        fmt="DNASequencesDirectoryFormat",
    )
    with pytest.raises(InputError) as info:
        read(path)
    assert str(info.value) == (
        f"{path}: QIIME 2 artifact of type FeatureData[Sequence]; expected a feature table, "
        "type FeatureTable[Frequency] or FeatureTable[RelativeFrequency]"
    )
    with pytest.raises(InputError, match=r"type FeatureData\[Sequence\]; expected a rooted tree"):
        read_tree(path)


def test_unrooted_tree_says_how_to_root_it(tmp_path):
    path = write_artifact(
        tmp_path / "unrooted-tree.qza", "Phylogeny[Unrooted]", {"tree.nwk": TREE.encode()}
    )
    with pytest.raises(InputError, match="midpoint-root"):
        read_tree(path)


def test_truncated_artifact(artifacts, tmp_path):
    data = artifacts["table"].read_bytes()
    path = tmp_path / "cut.qza"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.qza: not a readable zip archive, truncated"):
        read(path)


def test_missing_payload(tmp_path):
    path = write_artifact(tmp_path / "empty.qza", "FeatureTable[Frequency]", {"README": b"x"})
    with pytest.raises(InputError) as info:
        describe_artifact(path, "table")
    assert str(info.value) == (
        f"{path}: data/ holds ['data/README']: the FeatureTable[Frequency] artifact has no "
        "data/feature-table.biom; expected a feature table in data/feature-table.biom"
    )


def test_damaged_payload_names_the_artifact(tmp_path):
    path = write_artifact(
        tmp_path / "bad-tree.qza", "Phylogeny[Rooted]", {"tree.nwk": b"this is not newick"}
    )
    with pytest.raises(InputError) as info:
        read_tree(path)
    assert str(info.value).startswith(f"{path}: data/tree.nwk: ")


def test_info_shows_type_uuid_and_what_was_read(artifacts):
    result = CliRunner().invoke(
        app,
        [
            "info",
            str(artifacts["table"]),
            "--tree",
            str(artifacts["tree"]),
            "--taxonomy",
            str(artifacts["taxonomy"]),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    fields = json.loads(result.output)[0]["fields"]
    assert json.loads(result.output)[0]["format"] == "qiime2"
    assert fields["samples"] == 4 and fields["features"] == 3
    assert fields["QIIME 2 table"]["type"] == "FeatureTable[Frequency]"
    assert fields["QIIME 2 table"]["uuid"] == UUID
    assert fields["QIIME 2 tree"]["type"] == "Phylogeny[Rooted]"
    assert fields["QIIME 2 taxonomy"]["type"] == "FeatureData[Taxonomy]"
    assert fields["tree"]["features on tree"] == 3


@pytest.mark.parametrize("case", ["wrong type", "truncated", "missing payload"])
def test_cli_bad_artifacts_get_one_line(case, artifacts, tmp_path):
    if case == "wrong type":
        path = write_artifact(tmp_path / "x.qza", "FeatureData[Sequence]", {"a.fasta": b">a\nA\n"})
        expected = "QIIME 2 artifact of type FeatureData[Sequence]"
    elif case == "truncated":
        path = tmp_path / "x.qza"
        path.write_bytes(artifacts["table"].read_bytes()[:100])
        expected = "not a readable zip archive"
    else:
        path = write_artifact(tmp_path / "x.qza", "FeatureTable[Frequency]", {})
        expected = "has no data/feature-table.biom"
    result = CliRunner().invoke(app, ["info", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert expected in " ".join(result.output.split())


def test_convert_artifact_to_h5ad(artifacts, tmp_path):
    out = tmp_path / "table.h5ad"
    taxonomy = str(artifacts["taxonomy"])
    result = CliRunner().invoke(
        app, ["convert", str(artifacts["table"]), str(out), "--taxonomy", taxonomy]
    )
    assert result.exit_code == 0, result.output
    adata = read(out)
    np.testing.assert_array_equal(np.asarray(adata.X), COUNTS)
    classes = [c if isinstance(c, str) else "" for c in adata.var["class"]]
    assert classes == ["Bacilli", "Clostridia", ""]


def test_run_on_qiime2_files(tmp_path):
    """A QIIME 2 user's four files go straight into ``synthomics run``."""
    from synthomics.datasets import synthetic_microbiome
    from synthomics.io.tree import tree_from_newick

    cohort = synthetic_microbiome(40, 12, seed=5)
    from biom import Table

    biom_path = tmp_path / "feature-table.biom"
    with h5py.File(biom_path, "w") as handle:
        Table(
            np.asarray(cohort.X).T, list(cohort.var_names), list(cohort.obs_names)
        ).to_hdf5(handle, "test")
    lineage = cohort.var["lineage"].astype(str)
    taxonomy = pd.DataFrame({"Feature ID": cohort.var_names, "Taxon": lineage.to_numpy()})
    files = {
        "table": write_artifact(
            tmp_path / "table.qza",
            "FeatureTable[Frequency]",
            {"feature-table.biom": biom_path.read_bytes()},
        ),
        "tree": write_artifact(
            tmp_path / "rooted-tree.qza",
            "Phylogeny[Rooted]",
            {"tree.nwk": (str(tree_from_newick(cohort.uns["tree"])) + "\n").encode()},
        ),
        "taxonomy": write_artifact(
            tmp_path / "taxonomy.qza",
            "FeatureData[Taxonomy]",
            {"taxonomy.tsv": taxonomy.to_csv(sep="\t", index=False).encode()},
        ),
    }
    metadata = tmp_path / "sample-metadata.tsv"
    metadata.write_text(
        "sample-id\tgroup\n#q2:types\tcategorical\n"
        + "".join(f"{s}\t{g}\n" for s, g in zip(cohort.obs_names, cohort.obs["group"], strict=True))
    )
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(files["table"]),
            "--tree",
            str(files["tree"]),
            "--taxonomy",
            str(files["taxonomy"]),
            "--metadata",
            str(metadata),
            "--label",
            "group",
            "--models",
            "independent",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    by_name = {r["name"]: r for r in metrics["results"]["independent"]}
    # the tree came from the artifact, so the UniFrac metrics were computed, not n/a
    assert by_name["weighted_unifrac_permanova_r2"]["status"] != "n/a"
    assert "best: independent (" in " ".join(result.output.split())
    assert result.output.rstrip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")


@pytest.mark.shared
def test_global_patterns_as_qiime2_artifacts(shared_data, tmp_path):
    """GlobalPatterns packed as QIIME 2 would pack it reads with the numbers of its SOURCE.md."""
    from biom import Table

    d = shared_data / "microbiome" / "global_patterns"
    counts = pd.read_csv(d / "counts.tsv.gz", sep="\t", index_col=0)
    counts.index = counts.index.astype(str)
    with h5py.File(tmp_path / "feature-table.biom", "w") as handle:
        Table(counts.to_numpy().T, list(counts.columns), list(counts.index)).to_hdf5(handle, "t")
    ranks = pd.read_csv(d / "taxonomy.tsv", sep="\t", index_col=0, dtype=str)
    prefixes = ["k", "p", "c", "o", "f", "g", "s"]  # Greengenes, as QIIME 2 writes it
    taxon = [
        "; ".join(f"{p}__{'' if pd.isna(v) else v}" for p, v in zip(prefixes, row, strict=True))
        for row in ranks.itertuples(index=False)
    ]
    taxonomy = pd.DataFrame({"Feature ID": ranks.index, "Taxon": taxon, "Confidence": "0.9"})
    table = write_artifact(
        tmp_path / "table.qza",
        "FeatureTable[Frequency]",
        {"feature-table.biom": (tmp_path / "feature-table.biom").read_bytes()},
    )
    newick = (d / "tree.nwk").read_bytes()
    tree = write_artifact(tmp_path / "rooted-tree.qza", "Phylogeny[Rooted]", {"tree.nwk": newick})
    tax = write_artifact(
        tmp_path / "taxonomy.qza",
        "FeatureData[Taxonomy]",
        {"taxonomy.tsv": taxonomy.to_csv(sep="\t", index=False).encode()},
    )
    gp = read_microbiome(table, tree=tree, taxonomy=tax, metadata=d / "sample_metadata.tsv")
    # SOURCE.md: 26 samples x 19,216 OTUs, library sizes 58,688-2,357,181, 79 % zeros,
    # a rooted tree whose 19,216 tips match the OTU ids; taxonomy.tsv's first row
    assert gp.shape == (26, 19216)
    sizes = np.asarray(gp.X).sum(axis=1)
    assert sizes.min() == 58_688 and sizes.max() == 2_357_181
    assert (np.asarray(gp.X) == 0).mean() == pytest.approx(0.79, abs=0.005)
    assert gp.uns["tree_match"]["n_matched"] == 19216
    assert gp.var.loc["549322", "class"] == "Thermoprotei"
    assert pd.isna(gp.var.loc["549322", "order"])
    assert gp.obs["SampleType"].value_counts()["Feces"] == 4
