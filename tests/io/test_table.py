"""TSV/CSV feature tables: both orientations, QIIME exports, errors, exact round trips."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import synthomics.io as sio
from synthomics.container import microbiome_anndata
from synthomics.errors import InputError, UnknownFormatError
from synthomics.io import table as table_module
from synthomics.io.microbiome import read_microbiome
from synthomics.io.table import choose_orientation, read_table, sniff_metaphlan, write_table

ROWS = "sample_id\tOTU1\tOTU2\tOTU3\nS1\t10\t0\t5\nS2\t3\t7\t0\n"
EXPECTED = np.array([[10, 0, 5], [3, 7, 0]], dtype=float)  # by hand from ROWS


def test_samples_as_rows(write_text):
    adata = read_table(write_text("t.tsv", ROWS))
    assert list(adata.obs_names) == ["S1", "S2"]
    assert list(adata.var_names) == ["OTU1", "OTU2", "OTU3"]
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert adata.X.dtype == np.float64
    assert adata.uns["units"] == "counts"
    assert adata.uns["omics"] == "microbiome"
    assert adata.uns["orientation"] == "samples-as-rows"


def test_samples_as_columns_gives_the_same_matrix(write_text):
    text = "feature_id\tS1\tS2\nOTU1\t10\t3\nOTU2\t0\t7\nOTU3\t5\t0\n"
    adata = read_table(write_text("t.tsv", text))
    assert list(adata.obs_names) == ["S1", "S2"]
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert adata.uns["orientation"] == "samples-as-columns"


def test_qiime_export_with_comment_header_and_taxonomy(write_text):
    text = (
        "# Constructed from biom file\n"
        "#OTU ID\tS1\tS2\ttaxonomy\n"
        "OTU1\t10\t3\tk__Bacteria; p__Firmicutes; c__Bacilli\n"
        "OTU2\t0\t7\tk__Bacteria; p__; c__\n"
        "OTU3\t5\t0\tUnassigned\n"
    )
    adata = read_table(write_text("otu_table.txt", text))
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert adata.var.loc["OTU1", "class"] == "Bacilli"
    assert pd.isna(adata.var.loc["OTU2", "phylum"])
    assert adata.var.loc["OTU1", "lineage"] == "k__Bacteria|p__Firmicutes|c__Bacilli"
    assert adata.uns["tree_source"] == "taxonomy"  # built from the ranks


def test_r_write_csv_header_without_corner_cell(write_text):
    text = '"OTU1","OTU2","OTU3"\n"S1",10,0,5\n"S2",3,7,0\n'
    adata = read_table(write_text("t.csv", text), orientation="samples-as-rows")
    np.testing.assert_array_equal(adata.X, EXPECTED)
    assert list(adata.var_names) == ["OTU1", "OTU2", "OTU3"]


@pytest.mark.parametrize("name", ["t.tsv.gz", "t.tsv.bz2", "t.txt"])
def test_compressed_and_other_extensions(write_text, name):
    np.testing.assert_array_equal(read_table(write_text(name, ROWS)).X, EXPECTED)


def test_csv_delimiter_from_extension(write_text):
    adata = read_table(write_text("t.csv", ROWS.replace("\t", ",")))
    np.testing.assert_array_equal(adata.X, EXPECTED)


def test_forced_orientation_overrides_the_rules(write_text):
    adata = read_table(write_text("t.tsv", ROWS), orientation="samples-as-columns")
    assert list(adata.obs_names) == ["OTU1", "OTU2", "OTU3"]
    np.testing.assert_array_equal(adata.X, EXPECTED.T)
    with pytest.raises(InputError, match="unknown orientation"):
        read_table(write_text("u.tsv", ROWS), orientation="sideways")


# orientation rules, each on its own (rule numbers as in the table module docstring)


def test_rule_header_cell():
    assert not choose_orientation("#OTU ID", ["a", "b"], ["x"]).samples_as_rows
    assert choose_orientation("SampleID", ["a"], ["x", "y"]).samples_as_rows


def test_rule_taxonomy_column():
    choice = choose_orientation("", ["a", "b"], ["x", "y", "z"], has_taxonomy_column=True)
    assert not choice.samples_as_rows
    assert choice.rule == "trailing taxonomy column"


def test_rule_taxonomy_looking_names():
    lineages = ["k__Bacteria;p__A", "k__Bacteria;p__B", "k__Archaea;p__C"]
    assert choose_orientation("", ["s1", "s2", "s3", "s4"], lineages).samples_as_rows
    assert not choose_orientation("", lineages, ["s1", "s2", "s3", "s4"]).samples_as_rows


def test_rule_metadata_ids():
    choice = choose_orientation("", ["a", "b"], ["S1", "S2"], sample_ids=["S1", "S2", "S9"])
    assert not choice.samples_as_rows
    assert "metadata" in choice.rule


def test_rule_shape_decides_only_when_one_axis_is_twice_the_other():
    rows, columns = [f"s{i}" for i in range(3)], [f"f{i}" for i in range(6)]
    assert choose_orientation("", rows, columns).samples_as_rows  # 6 = 2 x 3 columns
    assert not choose_orientation("", columns, rows).samples_as_rows
    # 2 x 3 and a square table: the shape is no evidence, so the table is refused
    for rows, columns in ((["s1", "s2"], ["f1", "f2", "f3"]), (["a", "b"], ["c", "d"])):
        with pytest.raises(InputError, match=r"t\.tsv: cannot tell whether .*--orientation"):
            choose_orientation("", rows, columns, source="t.tsv")


def test_rule_numbered_rows_are_a_row_index_of_samples():
    # pandas writes a default RangeIndex as 0..n-1: those rows are samples, whatever the shape
    choice = choose_orientation("", ["0", "1", "2", "3"], ["Bacteroides", "Prevotella"])
    assert choice.samples_as_rows and "numbered" in choice.rule
    # ids that are integers but not a 0..n-1 / 1..n run (Greengenes OTU ids) are no evidence
    with pytest.raises(InputError, match="--orientation"):
        choose_orientation("", ["4479944", "1111294", "589277"], ["A", "B", "C"])


def test_pandas_table_with_more_samples_than_features_is_refused_not_transposed(tmp_path):
    # what DataFrame.to_csv writes: an empty corner cell; 110 samples x 150 features read
    # by the shape rule alone used to become 150 "samples" x 110 "features"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.integers(1, 50, size=(110, 150)),
        index=[f"S{i}" for i in range(110)],
        columns=[f"ASV{i}" for i in range(150)],
    )
    path = tmp_path / "pandas.tsv"
    frame.to_csv(path, sep="\t")
    with pytest.raises(InputError, match=r"pandas\.tsv: cannot tell whether the 110 rows or the"):
        read_table(path)
    adata = read_table(path, orientation="samples-as-rows")
    assert adata.shape == (110, 150)
    np.testing.assert_array_equal(adata.X, frame.to_numpy())
    frame.reset_index(drop=True).to_csv(path, sep="\t")  # numbered rows: the index rule
    assert read_table(path).shape == (110, 150)


@pytest.mark.parametrize("name", ["table.biom", "table.biom.gz"])
def test_tab_separated_table_named_biom_is_read_as_the_table_it_is(tmp_path, name):
    # a 60 x 40 samples-as-rows TSV named .biom was read by biom-format's classic text
    # reader, transposed, as 27 x 60 after dropping "all-zero samples"
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 30, size=(60, 40))
    frame = pd.DataFrame(
        counts, index=[f"S{i}" for i in range(60)], columns=[f"OTU{i}" for i in range(40)]
    )
    path = tmp_path / name
    frame.rename_axis("sample_id").to_csv(path, sep="\t")  # gzip when the name ends .gz
    assert sio.detect_format(path) == "table"
    adata = sio.read(path)
    assert adata.shape == (60, 40)
    assert list(adata.obs_names[:2]) == ["S0", "S1"]
    np.testing.assert_array_equal(adata.X, counts)


def test_content_kind_tells_hdf5_json_and_text_apart(tmp_path, write_text):
    import h5py

    with h5py.File(tmp_path / "x.tsv", "w"):
        pass
    assert sio.content_kind(tmp_path / "x.tsv") == "hdf5"
    assert sio.content_kind(write_text("j.txt.gz", ' {"id": null}')) == "json"
    assert sio.content_kind(write_text("t.biom", "#OTU ID\tS1\n")) == "text"
    assert sio.detect_format(write_text("j.tsv", '{"id": null}')) == "biom"


def test_metadata_decides_orientation_when_reading(write_text):
    # corner cell "" and 2 x 3 shape would say samples-as-rows; the metadata says otherwise
    text = "\tS1\tS2\nOTU1\t10\t3\nOTU2\t0\t7\nOTU3\t5\t0\n"
    meta = write_text("meta.tsv", "sample_id\tgroup\nS1\ta\nS2\tb\n")
    text_t = "\tS1\tS2\tS3\nOTU1\t1\t3\t1\nOTU2\t0\t7\t1\n"  # 2 x 3: shape says S as rows
    meta3 = write_text("meta3.tsv", "sample_id\tgroup\nS1\ta\nS2\tb\nS3\tc\n")
    adata = read_table(write_text("t.tsv", text_t), metadata=meta3)
    assert list(adata.obs_names) == ["S1", "S2", "S3"]
    assert list(adata.obs["group"]) == ["a", "b", "c"]
    assert read_table(write_text("u.tsv", text), metadata=meta).n_obs == 2


# errors


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "absent.tsv")
    with pytest.raises(InputError, match="file not found"):
        sio.read(tmp_path / "absent.tsv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(UnknownFormatError, match="cannot tell the file format"):
        sio.read(tmp_path / "t.xlsx")
    with pytest.raises(UnknownFormatError, match="no reader for format 'excel'"):
        sio.read(tmp_path / "t.xlsx", format="excel")


def test_empty_file_and_header_only(write_text):
    with pytest.raises(InputError, match="empty file"):
        read_table(write_text("e.tsv", ""))
    with pytest.raises(InputError, match="empty table"):
        read_table(write_text("h.tsv", "sample_id\tA\tB\n"))


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("abc", "cell 'abc' is not a number"),
        ("", "cell is empty"),
        ("NA", "cell 'NA' is a missing value"),
        ("nan", "cell 'nan' is a missing value"),
        ("inf", "cell 'inf' is not a finite number"),
    ],
)
def test_bad_cell_names_line_column_and_text(write_text, cell, problem):
    text = f"sample_id\tA\tB\nS1\t1\t2\nS2\t3\t{cell}\n"
    with pytest.raises(InputError) as info:
        read_table(write_text("t.tsv", text))
    message = str(info.value)
    assert "t.tsv: line 3, column 3 (row 'S2', column 'B')" in message
    assert problem in message


def test_ragged_row_names_its_line(write_text):
    with pytest.raises(InputError, match=r"line 3: row has 4 fields; expected 3 fields"):
        read_table(write_text("t.tsv", "sample_id\tA\tB\nS1\t1\t2\nS2\t1\t2\t3\n"))


def test_duplicate_column_names_are_reported(write_text):
    with pytest.raises(InputError, match=r"line 1, columns 2 and 3: duplicate column name 'A'"):
        read_table(write_text("t.tsv", "sample_id\tA\tA\nS1\t1\t2\n"))


def test_duplicate_sample_ids_name_both_lines(write_text):
    with pytest.raises(InputError, match=r"line 2 and line 3 \(sample 'S1'\)"):
        read_table(write_text("t.tsv", "sample_id\tA\tB\nS1\t1\t2\nS1\t3\t4\n"))


def test_all_zero_sample_both_policies(write_text):
    path = write_text("t.tsv", "sample_id\tA\tB\nS1\t1\t2\nS2\t0\t0\n")
    with pytest.warns(UserWarning, match="dropped 1 all-zero"):
        adata = read_table(path)
    assert list(adata.obs_names) == ["S1"]
    assert adata.uns["dropped_all_zero_samples"] == ["S2"]
    with pytest.raises(InputError, match=r"line 3 \(sample 'S2'\)"):
        read_table(path, all_zero="error")


# sniffing MetaPhlAn tables


def test_metaphlan_table_read_as_plain_table_is_refused(write_text):
    text = "ID\tS1\nk__Bacteria\t100\nk__Bacteria|p__Firmicutes\t60\nk__Bacteria|p__X\t40\n"
    with pytest.raises(InputError, match="MetaPhlAn clades of 2 different ranks"):
        read_table(write_text("m.tsv", text))


def test_sniff_metaphlan(write_text):
    species = "k__Bacteria|p__Firmicutes|c__Bacilli|o__L|f__L|g__L|s__L_x"
    assert sniff_metaphlan(write_text("a.tsv", f"sample_id\t{species}\nS1\t100\n"))
    rows = "ID\tS1\nk__Bacteria\t100\nk__Bacteria|p__Firmicutes\t100\n"
    assert sniff_metaphlan(write_text("b.tsv", rows))
    with_meta = "dataset\tx\nsampleID\tS1\nage\t40\n" + rows.split("\n", 1)[1]
    assert sniff_metaphlan(write_text("c.txt.bz2", with_meta))
    assert not sniff_metaphlan(write_text("d.tsv", ROWS))
    assert not sniff_metaphlan(write_text("e.tsv", "#OTU ID\tS1\nk__Bacteria\t3\n"))
    assert sio.detect_format(write_text("f.tsv", rows)) == "metaphlan"
    assert sio.detect_format(write_text("g.tsv", ROWS)) == "table"


# writing


def test_write_and_read_back_floats_exactly(tmp_path, small_adata):
    path = write_table(
        small_adata,
        tmp_path / "out.tsv",
        taxonomy=tmp_path / "tax.tsv",
        metadata=tmp_path / "meta.tsv",
    )
    back = read_table(path, taxonomy=tmp_path / "tax.tsv", metadata=tmp_path / "meta.tsv")
    assert np.array_equal(back.X, small_adata.X)  # bit for bit, no tolerance
    assert list(back.obs_names) == list(small_adata.obs_names)
    assert list(back.var_names) == list(small_adata.var_names)
    pd.testing.assert_series_equal(back.var["lineage"], small_adata.var["lineage"])
    pd.testing.assert_frame_equal(back.obs, small_adata.obs)
    assert path.read_text().splitlines()[0].split("\t")[0] == "sample_id"


def test_random_floats_survive_a_gzipped_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.random((5, 40)) ** 7  # tiny values with full 17-digit mantissas
    X /= X.sum(axis=1, keepdims=True)
    adata = microbiome_anndata(
        X, [f"s{i}" for i in range(5)], [f"f{j}" for j in range(40)], units="proportion"
    )
    back = read_table(write_table(adata, tmp_path / "x.tsv.gz"))
    assert np.array_equal(back.X, X)


def test_counts_are_written_as_integers(tmp_path):
    adata = microbiome_anndata(EXPECTED, ["S1", "S2"], ["OTU1", "OTU2", "OTU3"], units="counts")
    path = write_table(adata, tmp_path / "c.tsv")
    assert path.read_text() == ROWS


def test_failed_write_leaves_no_file(tmp_path, small_adata, monkeypatch):
    def exploding(X):
        yield ["0.1", "0.2", "0.7"]
        raise RuntimeError("disk full")

    monkeypatch.setattr(table_module, "format_values", exploding)
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError, match="disk full"):
        write_table(small_adata, target)
    assert os.listdir(tmp_path) == []


# the convenience reader used by the CLI


def test_read_microbiome_joins_taxonomy_metadata_and_tree(write_text):
    table = write_text("t.tsv", ROWS)
    taxonomy = write_text("tax.tsv", "feature_id\tTaxon\nOTU1\tk__A;p__B\nOTU2\tk__A;p__C\n")
    metadata = write_text("m.tsv", "sample_id\tgroup\nS1\tx\nS2\ty\n")
    tree = write_text("t.nwk", "((OTU1:1,OTU2:1):1,OTU3:2,OTU9:1);")
    with pytest.warns(UserWarning, match="1 of 3 features have no taxonomy"):
        adata = read_microbiome(table, taxonomy=taxonomy, metadata=metadata, tree=tree)
    assert adata.var.loc["OTU2", "phylum"] == "C"
    assert list(adata.obs["group"]) == ["x", "y"]
    assert adata.uns["tree_source"] == "file"
    assert adata.uns["tree_match"]["n_tips_pruned"] == 1
    np.testing.assert_array_equal(adata.X, EXPECTED)


def test_read_microbiome_refuses_genotype_files(write_text):
    with pytest.raises(InputError, match="vcf files hold genotypes"):
        read_microbiome(write_text("x.vcf", "##fileformat=VCFv4.2\n"))
