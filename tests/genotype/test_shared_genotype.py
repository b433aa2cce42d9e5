"""The real HGDP subset (../shared/data/genotype/hgdp_subset): counts from its SOURCE.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthomics.io import read, write
from synthomics.io.genotype import read_genotypes
from synthomics.io.plink import read_plink
from synthomics.io.vcf import read_vcf

pytestmark = pytest.mark.shared

# SOURCE.md: 0 = 400,672, 1 = 263,657, 2 = 130,671, no NA; 5,000 SNPs x 159 individuals
VALUE_COUNTS = {0: 400_672, 1: 263_657, 2: 130_671}
REGIONS = {
    "EAST_ASIA": 54,
    "CENTRAL_SOUTH_ASIA": 27,
    "EUROPE": 24,
    "AFRICA": 21,
    "AMERICA": 15,
    "MIDDLE_EAST": 12,
    "OCEANIA": 6,
}


@pytest.fixture(scope="module")
def hgdp_dir(shared_data):
    path = shared_data / "genotype" / "hgdp_subset"
    if not (path / "hgdp_subset.vcf.gz").is_file():
        pytest.skip(f"HGDP subset not found under {path}")
    return path


@pytest.fixture(scope="module")
def hgdp(hgdp_dir):
    return read_genotypes(
        hgdp_dir / "hgdp_subset.vcf.gz",
        metadata=hgdp_dir / "sample_metadata.tsv",
        label_column="region",
    )


def test_reads_with_the_documented_values(hgdp):
    assert hgdp.shape == (159, 5000)
    values, counts = np.unique(hgdp.X, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == VALUE_COUNTS
    assert hgdp.X.mean() == pytest.approx(0.66, abs=0.005)
    assert hgdp.var["id"].iloc[0] == "rs4050954"
    assert hgdp.var["pos"].tolist()[:3] == [1000, 2000, 3000]
    assert set(hgdp.var["ref"]) == {"N"} and set(hgdp.var["alt"]) == {"<ALT>"}
    assert hgdp.uns["phased"] is False


def test_region_labels_joined(hgdp):
    assert hgdp.obs["region"].value_counts().to_dict() == REGIONS
    assert hgdp.obs["region"].notna().all()
    assert hgdp.uns["label_column"] == "region"
    assert hgdp.obs["source_column_index"].tolist() == list(range(1, 160))


def test_vcf_plink_vcf_round_trip(hgdp, hgdp_dir, tmp_path):
    write(hgdp, tmp_path / "hgdp.bed")
    via_plink = read_plink(tmp_path / "hgdp")
    np.testing.assert_array_equal(via_plink.X, hgdp.X)
    write(via_plink, tmp_path / "back.vcf.gz")
    back = read_vcf(tmp_path / "back.vcf.gz")
    np.testing.assert_array_equal(back.X, hgdp.X)
    pd.testing.assert_frame_equal(back.var, hgdp.var)
    assert list(back.obs_names) == list(hgdp.obs_names)
    # the file we wrote reads back through the registry too
    np.testing.assert_array_equal(
        read(tmp_path / "back.vcf.gz").X, read_vcf(hgdp_dir / "hgdp_subset.vcf.gz").X
    )
