"""Small genotype files written in code, shared by the genotype tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=1>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
)


def vcf_text(samples: Sequence[str], records: Sequence[str]) -> str:
    """A VCF with ``samples``; each record is 'CHROM POS ID REF ALT FORMAT calls...'
    written with single spaces (turned into tabs; QUAL/FILTER/INFO are added as '.')."""
    lines = [VCF_HEADER.rstrip("\n")]
    lines.append(
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
        )
    )
    for record in records:
        chrom, pos, vid, ref, alt, fmt, *calls = record.split()
        lines.append("\t".join([chrom, pos, vid, ref, alt, ".", ".", ".", fmt, *calls]))
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_vcf_text(tmp_path: Path) -> Callable[..., Path]:
    """Write a small VCF (see :func:`vcf_text`) and return its path."""

    def write(samples: Sequence[str], records: Sequence[str], name: str = "x.vcf") -> Path:
        path = tmp_path / name
        path.write_text(vcf_text(samples, records))
        return path

    return write
