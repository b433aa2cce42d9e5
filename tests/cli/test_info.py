"""Tests of ``synthomics info`` (typer's CliRunner).

The JSON output is compared with :func:`synthomics.summary.summarize` on the same data
(itself tested against hand computation); on the real datasets, with the numbers their
SOURCE.md gives.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from synthomics.cli.main import app
from synthomics.io import write
from synthomics.summary import summarize


def _json(runner, *args):
    result = runner.invoke(app, ["info", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _error(runner, *args):
    result = runner.invoke(app, ["info", *map(str, args)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_json_equals_summarize(runner, tmp_path, small_microbiome):
    path = write(small_microbiome, tmp_path / "table.biom")
    (entry,) = _json(runner, path)
    assert entry["file"] == str(path)
    assert entry["format"] == "biom"
    assert entry["omics"] == "microbiome"
    expected = summarize(small_microbiome).as_dict()["fields"]
    for field in ("samples", "features", "units", "sparsity", "library size"):
        assert entry["fields"][field] == pytest.approx(expected[field])


def test_several_files_of_both_kinds(runner, tmp_path, small_microbiome, small_genotypes):
    table = write(small_microbiome, tmp_path / "table.h5ad")
    vcf = write(small_genotypes, tmp_path / "calls.vcf")
    entries = _json(runner, table, vcf)
    assert [e["omics"] for e in entries] == ["microbiome", "genotype"]
    assert [e["format"] for e in entries] == ["h5ad", "vcf"]
    geno = entries[1]["fields"]
    assert (geno["individuals"], geno["variants"]) == (6, 10)
    assert geno["missingness"] == pytest.approx(1 / 60)
    assert geno["chromosomes"] == {"1": 6, "2": 4}
    # the h5ad keeps the synthetic table's tree and groups
    fields = entries[0]["fields"]
    assert fields["tree"]["features on tree"] == 9
    assert fields["obs: group"]["levels"] == 2


def test_table_output(runner, tmp_path, small_microbiome):
    path = write(small_microbiome, tmp_path / "table.tsv")
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    # rich wraps the title (the temporary path) and the cells at the terminal width, which
    # differs between machines: compare the text with the line breaks and spaces taken out
    flat = "".join(result.stdout.split())
    assert f"{path}(table,microbiome)" in flat
    # the table holds 12 samples of 9 taxa (small_microbiome in conftest.py), as counts
    for field, value in (("samples", "12"), ("features", "9"), ("units", "counts")):
        assert f"│{field}│{value}│" in flat
    assert "│librarysize│min:" in flat and "│sparsity│" in flat


def test_metadata_is_joined(runner, tmp_path, small_microbiome):
    path = write(small_microbiome, tmp_path / "table.tsv")
    meta = tmp_path / "meta.tsv"
    meta.write_text(
        "sample_id\tsite\n"
        + "".join(
            f"{s}\t{'gut' if i % 3 else 'skin'}\n" for i, s in enumerate(small_microbiome.obs_names)
        )
    )
    (entry,) = _json(runner, path, "--metadata", meta)
    assert entry["fields"]["obs: site"] == {"levels": 2, "gut": 8, "skin": 4}


def test_missing_file(runner, tmp_path):
    line = _error(runner, tmp_path / "absent.biom")
    assert "absent.biom" in line and "not found" in line


def test_unknown_extension(runner, tmp_path):
    path = tmp_path / "table.xyz"
    path.write_text("x")
    assert "cannot tell the file format" in _error(runner, path)


def test_tree_option_refused_for_genotypes(runner, tmp_path, small_genotypes):
    vcf = write(small_genotypes, tmp_path / "calls.vcf")
    tree = tmp_path / "t.nwk"
    tree.write_text("(a,b);")
    assert "--tree applies to microbiome tables" in _error(runner, vcf, "--tree", tree)


def test_rank_option_only_for_metaphlan(runner, tmp_path, small_microbiome):
    path = write(small_microbiome, tmp_path / "table.tsv")
    assert "--rank applies to MetaPhlAn tables" in _error(runner, path, "--rank", "genus")


def test_help_has_examples(runner):
    result = runner.invoke(app, ["info", "--help"])
    assert result.exit_code == 0
    assert "synthomics info abundance.tsv.gz --metadata" in result.stdout


# ------------------------------------------------------------------------ real data

MICROBIOME = "microbiome"


def _real(shared_data, name, *parts):
    return [shared_data / MICROBIOME / name / p for p in parts]


@pytest.mark.shared
@pytest.mark.slow
def test_real_nielsen(runner, shared_data):
    table, meta, tree = _real(
        shared_data, "nielsen_ibd", "abundance.tsv.gz", "sample_metadata.tsv", "tree.nwk"
    )
    (entry,) = _json(runner, table, "--metadata", meta, "--tree", tree)
    f = entry["fields"]
    assert entry["format"] == "metaphlan"
    assert (f["samples"], f["features"], f["units"]) == (396, 719, "percent")
    assert f["sparsity"] == pytest.approx(0.85, abs=0.005)  # "85 % of the entries are zero"
    assert f["row sums"]["min"] == pytest.approx(97.75, abs=0.01)
    assert f["tree"]["features on tree"] == 460
    assert f["abundance on tree"]["mean"] == pytest.approx(0.878, abs=0.001)
    assert f["obs: disease"] == {"levels": 2, "control": 248, "IBD": 148}


@pytest.mark.shared
@pytest.mark.slow
def test_real_twins(runner, shared_data):
    table, meta = _real(shared_data, "twins", "counts.tsv", "sample_metadata.tsv")
    (entry,) = _json(runner, table, "--metadata", meta)
    f = entry["fields"]
    assert (f["samples"], f["features"], f["units"]) == (278, 130, "counts")
    assert f["library size"] == {"min": 53.0, "median": 1597.5, "max": 10585.0}
    assert f["sparsity"] == pytest.approx(0.78, abs=0.005)
    assert f["obs: phenotype"] == {"levels": 3, "Obese": 193, "Lean": 61, "Overwt": 24}


@pytest.mark.shared
@pytest.mark.slow
def test_real_global_patterns(runner, shared_data):
    table, meta, taxonomy, tree = _real(
        shared_data,
        "global_patterns",
        "counts.tsv.gz",
        "sample_metadata.tsv",
        "taxonomy.tsv",
        "tree.nwk",
    )
    (entry,) = _json(runner, table, "--metadata", meta, "--taxonomy", taxonomy, "--tree", tree)
    f = entry["fields"]
    assert (f["samples"], f["features"]) == (26, 19216)
    assert f["library size"]["min"] == 58688 and f["library size"]["max"] == 2357181
    assert f["sparsity"] == pytest.approx(0.79, abs=0.005)
    assert f["tree"]["tips"] == 19216 and f["tree"]["features on tree"] == 19216
    assert f["obs: SampleType"]["Feces"] == 4
    assert set(f["ranks"]) == {"kingdom", "phylum", "class", "order", "family", "genus", "species"}


@pytest.mark.shared
@pytest.mark.slow
def test_real_hmp(runner, shared_data):
    table, meta = _real(shared_data, "hmp_16s", "HMPv35_100nt_even1k.biom", "sample_metadata.tsv")
    (entry,) = _json(runner, table, "--metadata", meta)
    f = entry["fields"]
    assert (f["samples"], f["features"]) == (5452, 5430)
    assert f["library size"] == {"min": 1000.0, "median": 1000.0, "max": 1000.0}
    assert f["sparsity"] == pytest.approx(1 - 359042 / (5452 * 5430))
    assert f["obs: HMPbodysupersite"]["Oral"] == 3320


@pytest.mark.shared
@pytest.mark.slow
def test_real_metaml(runner, shared_data):
    (table,) = _real(shared_data, "metaml", "abundance.txt.bz2")
    (entry,) = _json(runner, table)
    f = entry["fields"]
    assert entry["format"] == "metaphlan"
    # 3,610 samples, two with species sum 0 dropped by the reader
    assert (f["samples"], f["features"], f["units"]) == (3608, 1291, "percent")
    assert f["obs: dataset_name"]["hmp"] == 762


@pytest.mark.shared
@pytest.mark.slow
def test_real_hgdp(runner, shared_data):
    folder = shared_data / "genotype" / "hgdp_subset"
    (entry,) = _json(
        runner, folder / "hgdp_subset.vcf.gz", "--metadata", folder / "sample_metadata.tsv"
    )
    f = entry["fields"]
    assert (f["individuals"], f["variants"], f["missingness"]) == (159, 5000, 0.0)
    assert f["chromosomes"] == {"1": 5000}
    assert f["obs: region"]["EAST_ASIA"] == 54
    assert sum(f["MAF spectrum"].values()) == 5000
    assert f["phased"] is False and f["layout"] == "dosage"


def test_sparsity_of_h5ad_round_trip(runner, tmp_path, small_microbiome):
    path = write(small_microbiome, tmp_path / "t.h5ad")
    (entry,) = _json(runner, path)
    assert entry["fields"]["sparsity"] == pytest.approx(float(np.mean(small_microbiome.X == 0)))


def test_info_says_which_orientation_was_chosen_and_why(runner, tmp_path):
    # features as rows under an empty corner cell: the taxonomy-like row names decide
    path = tmp_path / "t.tsv"
    path.write_text(
        "\tS1\tS2\tS3\n"
        "k__Bacteria;p__Firmicutes;g__Blautia\t3\t0\t1\n"
        "k__Bacteria;p__Bacteroidetes;g__Prevotella\t5\t2\t0\n"
    )
    (entry,) = _json(runner, path)
    assert entry["fields"]["orientation"] == "samples as columns (row names look like taxonomy)"
    (entry,) = _json(runner, path, "--orientation", "samples-as-rows")
    assert entry["fields"]["orientation"] == "samples as rows (orientation='samples-as-rows')"
