"""Sample metadata tables: id column, types, missing values, joining with counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.container import microbiome_anndata
from synthomics.errors import InputError
from synthomics.io.metadata import infer_column, join_sample_metadata, read_sample_metadata


def test_qiime_mapping_file_with_sampleid_header(write_text):
    path = write_text(
        "map.txt",
        "#SampleID\tBarcodeSequence\tbmi\tsex\nS1.X\tACGT\t25\tmale\nS2.X\tTTGA\tno_data\tfemale\n",
    )
    frame = read_sample_metadata(path)
    assert list(frame.index) == ["S1.X", "S2.X"]
    assert list(frame.columns) == ["BarcodeSequence", "bmi", "sex"]
    assert frame["bmi"].dtype == np.float64
    np.testing.assert_array_equal(frame["bmi"], [25.0, np.nan])


def test_id_column_chosen_by_name_then_first_column(write_text):
    by_name = write_text("a.tsv", "group\tsample_id\nx\tS1\ny\tS2\n")
    assert list(read_sample_metadata(by_name).index) == ["S1", "S2"]
    first = write_text("b.csv", "subject,group\nP1,x\nP2,y\n")
    assert list(read_sample_metadata(first).index) == ["P1", "P2"]
    assert list(read_sample_metadata(by_name, id_column="group").index) == ["x", "y"]
    with pytest.raises(InputError, match="no column 'nope'"):
        read_sample_metadata(by_name, id_column="nope")


def test_ids_stay_text_and_qiime2_types_line_is_skipped(write_text):
    path = write_text("q2.tsv", "sample-id\tph\n#q2:types\tnumeric\n001\t7.1\n002\t6.5\n")
    frame = read_sample_metadata(path)
    assert list(frame.index) == ["001", "002"]
    np.testing.assert_array_equal(frame["ph"], [7.1, 6.5])


# QIIME 2 metadata rules (docs.qiime2.org, "Metadata in QIIME 2"): "#" lines are comments
# anywhere except an id header like "#SampleID"; "#q2:types" declares categorical/numeric.
@pytest.mark.parametrize("id_header", ["sample-id", "id", "#SampleID", "SampleID", "sample id"])
def test_qiime2_metadata_headers_comments_and_types(write_text, id_header):
    path = write_text(
        "q2.tsv",
        "# exported from a spreadsheet\t\t\n"
        f"{id_header}\tsubject\tph\tsite\n"
        "#q2:types\tcategorical\tnumeric\t\n"
        "# samples of the second run below\n"
        "S1\t01\t6.5\tgut\n"
        "\n"
        "S2\t02\tNA\ttongue\n",
    )
    frame = read_sample_metadata(path)
    assert list(frame.index) == ["S1", "S2"]
    assert list(frame.columns) == ["subject", "ph", "site"]
    assert list(frame["subject"]) == ["01", "02"]  # categorical: the text, not 1.0 and 2.0
    np.testing.assert_array_equal(frame["ph"], [6.5, np.nan])
    assert list(frame["site"]) == ["gut", "tongue"]


def test_qiime2_declared_types_are_checked(write_text):
    numeric = write_text("n.tsv", "id\tph\n#q2:types\tnumeric\nS1\t7\nS2\tacid\n")
    with pytest.raises(InputError) as info:
        read_sample_metadata(numeric)
    assert str(info.value) == (
        f"{numeric}: line 4: 'acid' in column 'ph', declared numeric; "
        "expected a number, or 'categorical' in the #q2:types row"
    )
    unknown = write_text("u.tsv", "id\tph\n#q2:types\tboolean\nS1\t7\n")
    with pytest.raises(InputError, match="line 2: #q2:types declares 'boolean' for column 'ph'"):
        read_sample_metadata(unknown)


def test_missing_tokens_and_text_columns():
    column = infer_column(pd.Series(["40", "nd", "", " -", "NA", "33.5"]))
    np.testing.assert_array_equal(column, [40.0, np.nan, np.nan, np.nan, np.nan, 33.5])
    text = infer_column(pd.Series(["n", "nd", "ibd"]))
    assert text.dtype == object
    assert text[0] == "n" and pd.isna(text[1]) and text[2] == "ibd"


def test_duplicate_and_empty_sample_ids(write_text):
    dup = write_text("d.tsv", "sample_id\tg\nS1\ta\nS2\tb\nS1\tc\n")
    with pytest.raises(InputError, match=r"lines 2, 4: duplicate sample id 'S1'"):
        read_sample_metadata(dup)
    empty = write_text("e.tsv", "sample_id\tg\nS1\ta\n\tb\n")
    with pytest.raises(InputError, match="line 3: empty sample id"):
        read_sample_metadata(empty)
    with pytest.raises(InputError, match="no rows"):
        read_sample_metadata(write_text("h.tsv", "sample_id\tg\n"))


def test_missing_metadata_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_sample_metadata(tmp_path / "nope.tsv")


def test_join_counts_missing_samples_and_unused_rows(write_text):
    adata = microbiome_anndata(np.ones((3, 2)), ["S1", "S2", "S3"], ["A", "B"], units="counts")
    path = write_text("m.tsv", "sample_id\tg\nS1\ta\nS3\tc\nS9\tz\nS8\ty\n")
    with pytest.warns(UserWarning, match=r"1 of 3 samples have no metadata row \('S2'\)"):
        join_sample_metadata(adata, path)
    assert adata.obs["g"].tolist()[0] == "a" and pd.isna(adata.obs["g"].iloc[1])
    assert adata.uns["metadata_join"]["samples_without_metadata"] == 1
    assert adata.uns["metadata_join"]["metadata_rows_unused"] == 2


def test_join_with_no_shared_id_is_an_error(write_text):
    adata = microbiome_anndata(np.ones((2, 2)), ["S1", "S2"], ["A", "B"], units="counts")
    path = write_text("m.tsv", "sample_id\tg\nX1\ta\n")
    with pytest.raises(InputError, match="no sample id of the table is in the metadata"):
        join_sample_metadata(adata, path)
