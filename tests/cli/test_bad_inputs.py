"""Bad inputs through ``info``, ``convert``, ``fit`` and ``sample``: one line, nothing left.

Each case builds a broken input (or an unwritable output) in a fresh folder, runs one
command, and checks the three promises made to a user: exit status 2, a one-line message
that names the file at fault and what was expected, and no file left behind in the folder
(neither an output nor a temporary).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthomics.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A valid table and a model fitted on it (the ``independent`` baseline: instant)."""
    from synthomics.datasets import synthetic_microbiome
    from synthomics.io import write

    folder = tmp_path_factory.mktemp("good")
    table = folder / "table.h5ad"
    write(synthetic_microbiome(n_samples=12, n_taxa=6, seed=0), table)
    result = runner.invoke(app, ["fit", "independent", str(table), "-o", str(folder / "model")])
    assert result.exit_code == 0, result.output
    return table, folder / "model"


def _unwritable(tmp_path: Path) -> Path:
    """A folder in which no file can be created (read-only for this user)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read_only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    # root ignores permissions; sysfs refuses new files to everyone
    if Path("/sys").is_dir() and _refuses("/sys"):
        return Path("/sys")
    pytest.skip("no folder that refuses new files to root")


def _refuses(folder: str) -> bool:
    import tempfile

    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return True
    os.close(fd)
    os.unlink(name)
    return False


def _copy_model(good, tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(good[1], model)
    return model


# --------------------------------------------------------------------------- the cases
@dataclass
class Case:
    """``make(tmp_path, good)`` builds the inputs and returns the command's arguments and
    the text the message must contain (the file at fault and what is wrong)."""

    name: str
    make: Callable[[Path, tuple[Path, Path]], tuple[list[str], list[str]]]


def ambiguous_table(tmp_path, good):
    # 30 samples x 40 features, no header naming an axis, no metadata: the shape says little
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.integers(1, 9, size=(30, 40)),
        index=[f"S{i}" for i in range(30)],
        columns=[f"ASV{i}" for i in range(40)],
    )
    path = tmp_path / "ambiguous.tsv"
    frame.to_csv(path, sep="\t")
    return path, [f"{path}: cannot tell whether the 30 rows or the 40 columns", "--orientation"]


def info_ambiguous(tmp_path, good):
    path, message = ambiguous_table(tmp_path, good)
    return ["info", str(path)], message


def convert_ambiguous(tmp_path, good):
    path, message = ambiguous_table(tmp_path, good)
    return ["convert", str(path), str(tmp_path / "out.biom")], message


def fit_ambiguous(tmp_path, good):
    path, message = ambiguous_table(tmp_path, good)
    return ["fit", "independent", str(path), "-o", str(tmp_path / "model")], message


def convert_output_is_a_folder(tmp_path, good):
    (tmp_path / "out.tsv").mkdir()
    return ["convert", str(good[0]), str(tmp_path / "out.tsv")], [
        f"{tmp_path / 'out.tsv'}: is a folder; expected a file name"
    ]


def convert_parent_is_a_file(tmp_path, good):
    (tmp_path / "plain").write_text("x")
    out = tmp_path / "plain" / "sub" / "out.tsv"
    return ["convert", str(good[0]), str(out)], [f"{out}: {tmp_path / 'plain'} is a file"]


def convert_read_only(tmp_path, good):
    out = _unwritable(tmp_path) / "out.tsv"
    return ["convert", str(good[0]), str(out)], [f"{out}: cannot write in {out.parent}"]


def convert_header_only_vcf(tmp_path, good):
    path = tmp_path / "empty.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n"
        "##contig=<ID=1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
    )
    return ["convert", str(path), str(tmp_path / "out.bed")], [f"{path}: no variants"]


def fit_out_is_a_file_fails_before_reading(tmp_path, good):
    # the data file is broken too: the --out error first shows that it came before the fit
    (tmp_path / "model").write_text("not a folder")
    (tmp_path / "broken.tsv").write_text("sample_id\tA\nS1\tx\n")
    args = ["fit", "independent", str(tmp_path / "broken.tsv"), "-o", str(tmp_path / "model")]
    return args, [f"{tmp_path / 'model'}: --out: is a file"]


def fit_read_only(tmp_path, good):
    out = _unwritable(tmp_path) / "model"
    return ["fit", "independent", str(good[0]), "-o", str(out)], [f"{out}: --out: cannot write"]


def sample_out_is_a_folder(tmp_path, good):
    (tmp_path / "out.tsv").mkdir()
    return ["sample", str(good[1]), "-n", "3", "-o", str(tmp_path / "out.tsv")], [
        f"{tmp_path / 'out.tsv'}: --out: is a folder"
    ]


def evaluate_out_is_a_file(tmp_path, good):
    (tmp_path / "report").write_text("x")
    return ["evaluate", str(good[0]), str(good[0]), "-o", str(tmp_path / "report")], [
        f"{tmp_path / 'report'}: --out: is a file; expected a folder"
    ]


def _sample(model: Path, tmp_path: Path) -> list[str]:
    return ["sample", str(model), "-n", "3", "-o", str(tmp_path / "out.h5ad")]


def manifest_names_a_file_outside(tmp_path, good):
    model = _copy_model(good, tmp_path)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["tree"] = "/etc/passwd"
    (model / "manifest.json").write_text(json.dumps(manifest))
    return _sample(model, tmp_path), [
        f"{model / 'manifest.json'}: names the file '/etc/passwd'",
        "expected a file name inside the model folder",
    ]


def manifest_climbs_out(tmp_path, good):
    model = _copy_model(good, tmp_path)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["tree"] = "../table.nwk"
    (tmp_path / "table.nwk").write_text("(a,b);\n")
    (model / "manifest.json").write_text(json.dumps(manifest))
    return _sample(model, tmp_path), ["names the file '../table.nwk', outside the model folder"]


def random_arrays(tmp_path, good):
    model = _copy_model(good, tmp_path)
    (model / "arrays.safetensors").write_bytes(np.random.default_rng(0).bytes(500))
    return _sample(model, tmp_path), [f"{model / 'arrays.safetensors'}: damaged array file"]


def truncated_arrays(tmp_path, good):
    model = _copy_model(good, tmp_path)
    data = (model / "arrays.safetensors").read_bytes()
    (model / "arrays.safetensors").write_bytes(data[: len(data) // 2])
    return _sample(model, tmp_path), [f"{model / 'arrays.safetensors'}: damaged array file"]


def missing_arrays(tmp_path, good):
    model = _copy_model(good, tmp_path)
    (model / "arrays.safetensors").unlink()
    return _sample(model, tmp_path), [f"{model / 'arrays.safetensors'}: file not found"]


def manifest_not_utf8(tmp_path, good):
    model = _copy_model(good, tmp_path)
    (model / "manifest.json").write_bytes(b'{"format": "\xff\xfe"}')
    return _sample(model, tmp_path), [f"{model / 'manifest.json'}: not UTF-8 text (byte 12)"]


CASES = [
    info_ambiguous,
    convert_ambiguous,
    fit_ambiguous,
    convert_output_is_a_folder,
    convert_parent_is_a_file,
    convert_read_only,
    convert_header_only_vcf,
    fit_out_is_a_file_fails_before_reading,
    fit_read_only,
    sample_out_is_a_folder,
    evaluate_out_is_a_file,
    manifest_names_a_file_outside,
    manifest_climbs_out,
    random_arrays,
    truncated_arrays,
    missing_arrays,
    manifest_not_utf8,
]


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_gives_one_line_naming_the_file_and_leaves_nothing(make, good, tmp_path):
    args, expected = make(tmp_path, good)
    before = _files(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0]
    assert _files(tmp_path) == before  # no output, no temporary left behind
