"""Tests of ``synthomics convert`` (typer's CliRunner).

Round trips must not change a value: matrices and ids are compared exactly, with the
original read through the package and, for the real datasets, with an independent parse of
the source file (pandas with correctly rounded floats, biom-format, scikit-allel).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.cli.main import app
from synthomics.io import read_input, write
from synthomics.io.tree import tree_from_newick


def _convert(runner, source, target, *options):
    result = runner.invoke(app, ["convert", str(source), str(target), *map(str, options)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout
    return target


def _refused(runner, source, target, *options):
    result = runner.invoke(app, ["convert", str(source), str(target), *map(str, options)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def _same_table(a, b):
    assert list(a.obs_names) == list(b.obs_names)
    assert list(a.var_names) == list(b.var_names)
    np.testing.assert_array_equal(np.asarray(a.X), np.asarray(b.X))
    assert a.uns["omics"] == b.uns["omics"]
    if a.uns["omics"] == "microbiome":
        assert a.uns["units"] == b.uns["units"]


MICROBIOME_TARGETS = ["table.biom", "table.biom.json", "table.tsv", "table.csv.gz", "table.h5ad"]


@pytest.mark.parametrize("target", MICROBIOME_TARGETS)
def test_microbiome_round_trip(runner, tmp_path, small_microbiome, target):
    source = write(small_microbiome, tmp_path / "source.h5ad")
    out = _convert(runner, source, tmp_path / target)
    back, _ = read_input(out)
    _same_table(back, small_microbiome)
    # and back to h5ad again
    again, _ = read_input(_convert(runner, out, tmp_path / "again.h5ad"))
    _same_table(again, small_microbiome)


def test_h5ad_keeps_metadata_taxonomy_and_tree(runner, tmp_path, small_microbiome):
    source = write(small_microbiome, tmp_path / "source.biom")
    meta = tmp_path / "meta.tsv"
    small_microbiome.obs.rename_axis("sample_id").to_csv(meta, sep="\t")
    tree = tmp_path / "tree.nwk"
    tree.write_text(small_microbiome.uns["tree"])
    out = _convert(runner, source, tmp_path / "out.h5ad", "--metadata", meta, "--tree", tree)
    back, fmt = read_input(out)
    assert fmt == "h5ad"
    _same_table(back, small_microbiome)
    assert list(back.obs["group"].astype(str)) == list(small_microbiome.obs["group"].astype(str))
    assert list(back.var["genus"]) == list(small_microbiome.var["genus"])
    tips = sorted(t.name for t in tree_from_newick(back.uns["tree"]).tips())
    assert tips == sorted(small_microbiome.var_names)


def test_tree_out(runner, tmp_path, small_microbiome):
    source = write(small_microbiome, tmp_path / "source.h5ad")
    tree_out = tmp_path / "matched.nwk"
    _convert(runner, source, tmp_path / "t.tsv", "--tree-out", tree_out)
    assert tree_out.read_text().strip() == small_microbiome.uns["tree"]


def test_explicit_formats(runner, tmp_path, small_microbiome):
    source = write(small_microbiome, tmp_path / "source.tsv")
    plain = tmp_path / "source.data"
    plain.write_bytes(source.read_bytes())
    out = _convert(runner, plain, tmp_path / "out.dat", "--from", "table", "--to", "biom")
    back, _ = read_input(out, format="biom")
    _same_table(back, small_microbiome)


GENOTYPE_TARGETS = ["calls.vcf", "calls.vcf.gz", "calls.bed", "calls.012", "calls.h5ad"]


@pytest.mark.parametrize("target", GENOTYPE_TARGETS)
def test_genotype_round_trip(runner, tmp_path, small_genotypes, target):
    source = write(small_genotypes, tmp_path / "source.vcf")
    out = _convert(runner, source, tmp_path / target)
    back, _ = read_input(out)
    assert list(back.obs_names) == list(small_genotypes.obs_names)
    np.testing.assert_array_equal(back.X, small_genotypes.X)
    assert list(back.var["pos"]) == list(small_genotypes.var["pos"])


def test_microbiome_to_genotype_is_refused(runner, tmp_path, small_microbiome):
    source = write(small_microbiome, tmp_path / "source.biom")
    for target in ("out.vcf", "out.bed", "out.hapt", "out.012"):
        line = _refused(runner, source, tmp_path / target)
        assert "cannot convert microbiome data" in line
        assert not (tmp_path / target).exists()
    # also when the microbiome table hides in an h5ad
    h5ad = write(small_microbiome, tmp_path / "source.h5ad")
    assert "cannot convert microbiome data" in _refused(runner, h5ad, tmp_path / "x.vcf")


def test_genotype_to_microbiome_is_refused(runner, tmp_path, small_genotypes):
    source = write(small_genotypes, tmp_path / "source.vcf")
    for target in ("out.biom", "out.tsv"):
        assert "cannot convert genotype data" in _refused(runner, source, tmp_path / target)


def test_errors_are_one_line(runner, tmp_path, small_microbiome, small_genotypes):
    source = write(small_microbiome, tmp_path / "source.tsv")
    assert "not found" in _refused(runner, tmp_path / "absent.tsv", tmp_path / "x.biom")
    assert "no writer for format 'metaphlan'" in _refused(
        runner, source, tmp_path / "x.txt", "--to", "metaphlan"
    )
    assert "--rank applies" in _refused(runner, source, tmp_path / "x.biom", "--rank", "genus")
    vcf = write(small_genotypes, tmp_path / "g.vcf")
    assert "--tree-out applies" in _refused(runner, vcf, tmp_path / "g.bed", "--tree-out", "t.nwk")
    # diploid unphased dosages cannot become haplotypes
    assert "phase" in _refused(runner, vcf, tmp_path / "g.hapt")


def test_help_has_examples(runner):
    result = runner.invoke(app, ["convert", "--help"])
    assert result.exit_code == 0
    assert "synthomics convert genotypes.vcf.gz genotypes.bed" in result.stdout


# ------------------------------------------------------------------------ real data
# Each source is converted once to .h5ad (the only read of the source), checked against an
# independent parse, then the .h5ad goes to the other formats and each is read back.


def _raw_table(path, **kwargs):
    return pd.read_csv(path, sep="\t", index_col=0, float_precision="round_trip", **kwargs)


def _check_against(adata, raw: pd.DataFrame):
    assert list(adata.obs_names) == [str(i) for i in raw.index]
    assert list(adata.var_names) == [str(c) for c in raw.columns]
    np.testing.assert_array_equal(adata.X, raw.to_numpy(dtype=np.float64))


def _round_trips(runner, tmp_path, h5ad, targets):
    reference, _ = read_input(h5ad)
    for target in targets:
        out = _convert(runner, h5ad, tmp_path / target)
        back, _ = read_input(out)
        _same_table(back, reference)


@pytest.mark.shared
@pytest.mark.slow
def test_real_nielsen_round_trips(runner, tmp_path, shared_data):
    folder = shared_data / "microbiome" / "nielsen_ibd"
    source = folder / "abundance.tsv.gz"
    h5ad = _convert(
        runner, source, tmp_path / "nielsen.h5ad", "--metadata", folder / "sample_metadata.tsv"
    )
    adata, _ = read_input(h5ad)
    _check_against(adata, _raw_table(source))
    assert adata.obs["disease"].value_counts().to_dict() == {"control": 248, "IBD": 148}
    _round_trips(runner, tmp_path, h5ad, ["n.biom", "n.tsv", "n.csv"])


@pytest.mark.shared
@pytest.mark.slow
def test_real_twins_round_trips(runner, tmp_path, shared_data):
    source = shared_data / "microbiome" / "twins" / "counts.tsv"
    h5ad = _convert(runner, source, tmp_path / "twins.h5ad")
    adata, _ = read_input(h5ad)
    _check_against(adata, _raw_table(source, dtype={"sample_id": str}))
    _round_trips(runner, tmp_path, h5ad, ["t.biom", "t.tsv.gz", "t.biom.json"])


@pytest.mark.shared
@pytest.mark.slow
def test_real_global_patterns_round_trips(runner, tmp_path, shared_data):
    folder = shared_data / "microbiome" / "global_patterns"
    source = folder / "counts.tsv.gz"
    h5ad = _convert(
        runner,
        source,
        tmp_path / "gp.h5ad",
        "--taxonomy",
        folder / "taxonomy.tsv",
        "--tree",
        folder / "tree.nwk",
    )
    adata, _ = read_input(h5ad)
    _check_against(adata, _raw_table(source))
    assert int(adata.var["on_tree"].sum()) == 19216
    _round_trips(runner, tmp_path, h5ad, ["gp.biom"])


@pytest.mark.shared
@pytest.mark.slow
def test_real_metaml_to_h5ad(runner, tmp_path, shared_data):
    source = shared_data / "microbiome" / "metaml" / "abundance.txt.bz2"
    h5ad = _convert(runner, source, tmp_path / "metaml.h5ad")
    adata, _ = read_input(h5ad)
    # independent parse: features as rows, metadata in lines 1-211, species rows "...|s__..."
    raw = pd.read_csv(source, sep="\t", header=None, index_col=0, dtype=str)
    samples = raw.loc["sampleID"]
    dataset = raw.loc["dataset_name"]
    species = raw.loc[[n for n in raw.index[211:] if n.split("|")[-1].startswith("s__")]]
    values = species.astype(np.float64).T
    values.index = [f"{d}:{s}" for d, s in zip(dataset, samples, strict=True)]
    values = values.loc[values.sum(axis=1) > 0]  # the reader drops the 2 empty samples
    assert adata.shape == (3608, 1291)
    assert list(adata.obs_names) == list(values.index)
    assert sorted(adata.var_names) == sorted(values.columns)
    np.testing.assert_array_equal(adata.X, values.loc[:, list(adata.var_names)].to_numpy())


@pytest.mark.shared
@pytest.mark.slow
def test_real_hmp_to_h5ad(runner, tmp_path, shared_data):
    from biom import load_table

    source = shared_data / "microbiome" / "hmp_16s" / "HMPv35_100nt_even1k.biom"
    h5ad = _convert(runner, source, tmp_path / "hmp.h5ad")
    adata, _ = read_input(h5ad)
    table = load_table(str(source))
    assert list(adata.obs_names) == list(table.ids(axis="sample"))
    assert list(adata.var_names) == list(table.ids(axis="observation"))
    np.testing.assert_array_equal(adata.X, table.matrix_data.T.toarray())


@pytest.mark.shared
@pytest.mark.slow
def test_real_hgdp_round_trips(runner, tmp_path, shared_data):
    import allel

    folder = shared_data / "genotype" / "hgdp_subset"
    source = folder / "hgdp_subset.vcf.gz"
    meta = folder / "sample_metadata.tsv"
    calls = allel.read_vcf(str(source), fields=["samples", "variants/ID", "calldata/GT"])
    dosage = allel.GenotypeArray(calls["calldata/GT"]).to_n_alt(fill=-1).T
    for target in ["h.h5ad", "h.bed", "h.012", "h.vcf.gz"]:
        out = _convert(runner, source, tmp_path / target, "--metadata", meta)
        back, _ = read_input(out)
        assert list(back.obs_names) == list(calls["samples"]), target
        np.testing.assert_array_equal(back.X, dosage, err_msg=target)
        if target != "h.012":  # the vcftools trio keeps positions, not variant ids
            assert list(back.var["id"]) == list(calls["variants/ID"]), target
    back, _ = read_input(tmp_path / "h.h5ad")
    assert back.obs["region"].value_counts()["EAST_ASIA"] == 54
