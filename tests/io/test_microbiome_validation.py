"""The shared microbiome table checks: every rejection names the place and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from synthomics.errors import InputError
from synthomics.io.table import read_table
from synthomics.io.validate import CellLocator, detect_units, validate_abundance

IDS = ["S1", "S2"]
FEATURES = ["A", "B", "C"]


def check(X, **kw):
    return validate_abundance(
        np.asarray(X, dtype=float),
        kw.pop("samples", IDS),
        kw.pop("features", FEATURES),
        source="t.tsv",
        **kw,
    )


def test_empty_table():
    with pytest.raises(InputError, match=r"t\.tsv: empty table \(0 samples x 3 features\)"):
        validate_abundance(np.empty((0, 3)), [], FEATURES, source="t.tsv")


@pytest.mark.parametrize(
    ("samples", "features", "message"),
    [
        (["S1", "S1"], FEATURES, "duplicate sample id"),
        (IDS, ["A", "B", "A"], "duplicate feature id"),
    ],
)
def test_duplicate_ids(samples, features, message):
    with pytest.raises(InputError, match=message):
        check([[1, 2, 3], [4, 5, 6]], samples=samples, features=features)


def test_duplicate_ids_name_lines_with_a_locator():
    locator = CellLocator(True, sample_positions=[2, 3], feature_positions=[2, 3, 4])
    with pytest.raises(InputError, match=r"line 2 and line 3 \(sample 'S1'\)"):
        validate_abundance(np.ones((2, 3)), ["S1", "S1"], FEATURES, source="t.tsv", locator=locator)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_rejected_with_their_cell(bad):
    X = [[1, 2, 3], [4, bad, 6]]
    with pytest.raises(InputError, match=r"sample 'S2', feature 'B'.*not a finite number"):
        check(X)


def test_negative_values_are_rejected_with_line_and_column():
    locator = CellLocator(False, sample_positions=[2, 3], feature_positions=[5, 6, 7])
    with pytest.raises(
        InputError,
        match=r"line 7, column 3 \(sample 'S2', feature 'C'\): "
        r"negative value -1\.0",
    ):
        validate_abundance(
            np.array([[1.0, 2, 3], [4, 5, -1]]), IDS, FEATURES, source="t.tsv", locator=locator
        )


def test_all_zero_samples_dropped_with_warning():
    with pytest.warns(UserWarning, match=r"dropped 1 all-zero sample\(s\): 'S2'"):
        out = check([[1, 2, 3], [0, 0, 0]])
    assert out.sample_ids == ["S1"]
    assert out.dropped == ["S2"]
    assert out.kept.tolist() == [0]
    np.testing.assert_array_equal(out.X, [[1, 2, 3]])


def test_all_zero_samples_rejected_on_request():
    with pytest.raises(InputError, match=r"sample 'S2'.*1 all-zero sample"):
        check([[1, 2, 3], [0, 0, 0]], all_zero="error")


def test_table_of_only_zero_samples_is_rejected_even_when_dropping():
    with pytest.raises(InputError, match="every sample is all zero"):
        check(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("X", "units"),
    [
        ([[1, 2, 3], [4, 5, 6]], "counts"),
        ([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], "proportion"),
        ([[10.5, 20, 69.5], [50, 25, 25.0001]], "percent"),
    ],
)
def test_units_detection(X, units):
    assert check(X).units == units
    assert detect_units(np.asarray(X, dtype=float)) == units


def test_undecidable_units_are_an_error_that_suggests_the_option():
    X = [[0.5, 2.2, 3], [1, 1, 1.5]]  # not integers, sums 5.7 and 3.5
    with pytest.raises(InputError, match=r"cannot tell the units.*units='counts'"):
        check(X)
    assert check(X, units="counts").units == "counts"


def test_row_sums_checked_against_given_units():
    X = [[0.1, 0.2, 0.7], [0.5, 0.25, 0.2]]  # second sums to 0.95
    with pytest.raises(InputError, match=r"sample 'S2'.*sums to 0\.95"):
        check(X, units="proportion")
    # within a wider tolerance, or with the check off, it passes
    assert check(X, units="proportion", sum_tolerance=0.06).units == "proportion"
    assert check(X, units="proportion", sum_rule="none").units == "proportion"


def test_at_most_rule_allows_less_but_not_more_than_100():
    # Nielsen's MetaPhlAn species rows sum to 97.75-100 (SOURCE.md)
    ok = [[50, 40, 7.75], [60, 30, 10]]
    assert check(ok, sum_rule="at-most", units="percent").units == "percent"
    with pytest.raises(InputError, match=r"sums to 97\.75"):
        check(ok, units="percent")  # the default "equal" rule refuses it
    with pytest.raises(InputError, match=r"sample 'S1'.*sums to 120"):
        check([[60, 40, 20], [60, 30, 10]], sum_rule="at-most", units="percent")


def test_at_most_rule_detects_proportions_and_percent():
    assert check([[0.5, 0.2, 0.2], [0.3, 0.3, 0.3]], sum_rule="at-most").units == "proportion"
    assert check([[50, 20.5, 20], [30, 30, 30]], sum_rule="at-most").units == "percent"


@pytest.mark.parametrize(
    ("option", "value"),
    [("units", "reads"), ("sum_rule", "exact"), ("all_zero", "keep"), ("sum_tolerance", -1)],
)
def test_unknown_options_are_rejected(option, value):
    with pytest.raises(InputError, match=option.replace("_", "[_ ]") + "|unknown"):
        check([[1, 2, 3], [4, 5, 6]], **{option: value})


# the same checks reached through a reader name the file's lines and columns


def test_reader_names_line_and_column_of_a_negative_count(write_text):
    path = write_text("t.tsv", "sample_id\tA\tB\nS1\t1\t2\nS2\t3\t-4\n")
    with pytest.raises(
        InputError,
        match=r"t\.tsv: line 3, column 3 \(sample 'S2', "
        r"feature 'B'\): negative value -4",
    ):
        read_table(path)


def test_reader_names_the_line_of_a_bad_sample_sum(write_text):
    path = write_text("t.tsv", "#OTU ID\tS1\tS2\nA\t0.5\t0.5\nB\t0.5\t0.1\n")
    with pytest.raises(InputError, match=r"column 3 \(sample 'S2'\): sample sums to 0\.6"):
        read_table(path, units="proportion")
