"""MetaPhlAn merged tables: rank selection, metadata rows, both orientations, units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthomics.io as sio
from synthomics.errors import InputError
from synthomics.io.metaphlan import clade_rank, read_metaphlan

K = "k__Bacteria"
P = K + "|p__Firmicutes"
G = P + "|c__Clostridia|o__Clostridiales|f__Lachnospiraceae|g__Roseburia"
S1 = G + "|s__Roseburia_hominis"
S2 = G + "|s__Roseburia_inulinivorans"
T1 = S1 + "|t__GCF_000225345"
PB = K + "|p__Bacteroidetes"
S3 = PB + "|c__Bacteroidia|o__Bacteroidales|f__Bacteroidaceae|g__Bacteroides|s__Bacteroides_ovatus"

# Two samples; every level sums to 100 within each sample except species (97 in A), as
# MetaPhlAn writes it. Values chosen by hand.
MERGED = (
    "#mpa_v20_m200\n"
    "ID\tA\tB\n"
    f"{K}\t100.0\t100.0\n"
    f"{P}\t60.0\t30.0\n"
    f"{G}\t60.0\t30.0\n"
    f"{S1}\t40.0\t20.0\n"
    f"{T1}\t40.0\t20.0\n"
    f"{S2}\t17.0\t10.0\n"
    f"{PB}\t40.0\t70.0\n"
    f"{S3}\t40.0\t70.0\n"
)


def test_clade_rank():
    assert clade_rank(K) == "kingdom"
    assert clade_rank("d__Archaea") == "kingdom"
    assert clade_rank(S1) == "species"
    assert clade_rank(T1) == "strain"
    assert clade_rank("UNKNOWN") is None


def test_species_rows_only_no_double_counting(write_text):
    adata = read_metaphlan(write_text("m.tsv", MERGED))
    assert list(adata.var_names) == [S1, S2, S3]
    assert list(adata.obs_names) == ["A", "B"]
    np.testing.assert_array_equal(adata.X, [[40, 17, 40], [20, 10, 70]])
    assert adata.uns["units"] == "percent"  # kingdom rows sum to 100
    assert adata.uns["metaphlan_rank"] == "species"
    assert adata.var.loc[S3, "genus"] == "Bacteroides"
    assert adata.var.loc[S1, "species"] == "Roseburia_hominis"


@pytest.mark.parametrize(
    ("rank", "features", "first_row"),
    [
        ("kingdom", [K], [100]),
        ("phylum", [P, PB], [60, 40]),
        ("genus", [G], [60]),
        ("strain", [T1], [40]),
    ],
)
def test_other_ranks(write_text, rank, features, first_row):
    adata = read_metaphlan(write_text("m.tsv", MERGED), rank=rank)
    assert list(adata.var_names) == features
    np.testing.assert_array_equal(adata.X[0], first_row)
    assert "strain" in adata.var.columns if rank == "strain" else True


def test_missing_rank_and_unknown_rank(write_text):
    path = write_text("m.tsv", MERGED)
    with pytest.raises(InputError, match="unknown rank 'subspecies'"):
        read_metaphlan(path, rank="subspecies")
    no_strain = write_text("n.tsv", MERGED.replace(f"{T1}\t40.0\t20.0\n", ""))
    with pytest.raises(InputError, match="no clade at rank 'strain'"):
        read_metaphlan(no_strain, rank="strain")


def test_proportions_detected_from_kingdom_rows(write_text):
    text = f"ID\tA\tB\n{K}\t1.0\t1.0\n{S1}\t0.6\t0.5\n{S3}\t0.3\t0.5\n"
    adata = read_metaphlan(write_text("m.tsv", text))
    assert adata.uns["units"] == "proportion"


def test_species_sums_above_100_are_rejected(write_text):
    text = f"ID\tA\tB\n{S1}\t60\t50\n{S3}\t50.5\t50\n"  # A sums to 110.5
    with pytest.raises(InputError, match=r"column 2 \(sample 'A'\): sample sums to 110.5"):
        read_metaphlan(write_text("m.tsv", text))


def test_metadata_rows_on_top_become_obs(write_text):
    # MetAML layout: no header, metadata rows, a sampleID row with a repeated id
    text = (
        "dataset_name\tstudyX\tstudyX\tstudyY\n"
        "sampleID\tS1\tS2\tS1\n"
        "age\t40\tnd\t 33.5\n"
        "disease\tn\tibd\t\n"
        f"{K}\t100\t100\t100\n"
        f"{S1}\t60\t10\t0.5\n"
        f"{S3}\t40\t90\t99.5\n"
    )
    adata = read_metaphlan(write_text("abundance.txt.bz2", text))
    assert list(adata.obs_names) == ["studyX:S1", "studyX:S2", "studyY:S1"]
    assert "prefixed" in adata.uns["sample_id_rule"]
    np.testing.assert_array_equal(adata.obs["age"].to_numpy(), [40.0, np.nan, 33.5])
    assert adata.obs["age"].dtype == np.float64
    assert list(adata.obs["sampleID"]) == ["S1", "S2", "S1"]
    assert adata.obs["disease"].tolist()[:2] == ["n", "ibd"]
    assert pd.isna(adata.obs["disease"].iloc[2])  # blank is missing
    np.testing.assert_array_equal(adata.X[:, 0], [60, 10, 0.5])


def test_ncbi_taxid_column_is_dropped(write_text):
    text = f"clade_name\tNCBI_tax_id\tA\n{K}\t2\t100\n{S1}\t2|1|3\t100\n"
    adata = read_metaphlan(write_text("m.tsv", text))
    assert list(adata.obs_names) == ["A"]


def test_samples_as_rows_with_metadata_columns(write_text):
    text = f"sample_id\tdisease\t{S1}\t{S3}\nA\tIBD\t40\t57.75\nB\tcontrol\t20\t80\n"
    adata = read_metaphlan(write_text("m.tsv.gz", text))
    assert adata.uns["orientation"] == "samples-as-rows"
    assert list(adata.var_names) == [S1, S3]
    np.testing.assert_array_equal(adata.X, [[40, 57.75], [20, 80]])
    assert list(adata.obs["disease"]) == ["IBD", "control"]
    assert adata.uns["units"] == "percent"  # no kingdom rows; sums 97.75 and 100


def test_both_orientations_agree(write_text):
    rows = f"sample_id\t{S1}\t{S3}\nA\t40\t60\nB\t20\t80\n"
    cols = f"clade_name\tA\tB\n{S1}\t40\t20\n{S3}\t60\t80\n"
    a = read_metaphlan(write_text("rows.tsv", rows))
    b = read_metaphlan(write_text("cols.tsv", cols))
    np.testing.assert_array_equal(a.X, b.X)
    assert list(a.var_names) == list(b.var_names)


def test_non_numeric_abundance_names_its_line_and_column(write_text):
    text = MERGED.replace(f"{S2}\t17.0\t10.0", f"{S2}\t17.0\tx")
    with pytest.raises(InputError, match=r"line 8, column 3 .*cell 'x' is not a number"):
        read_metaphlan(write_text("m.tsv", text))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_metaphlan(tmp_path / "absent.tsv")


def test_no_clades_is_an_error(write_text):
    with pytest.raises(InputError, match="no MetaPhlAn clade names"):
        read_metaphlan(write_text("m.tsv", "ID\tA\nfoo\t1\n"))


def test_read_routes_metaphlan_tables(write_text):
    adata = sio.read(write_text("m.tsv", MERGED), rank="genus")
    assert list(adata.var_names) == [G]
