"""Kill a ``fit`` or ``pretrain`` mid-training, resume it, and get the uninterrupted weights.

A subprocess runs the command and is stopped right after its first periodic checkpoint:
``fit`` with SIGKILL (nothing can be saved then, the periodic checkpoint is all there is),
``pretrain`` with SIGTERM (it saves at the end of the epoch and says how to continue).
``--resume`` then continues from the checkpoint. The
expected weights are those of the same command run without interruption: the checkpoint
holds the optimiser, scheduler, EMA and torch's random state, and the epoch order depends on
(seed, epoch) only, so the two runs must agree exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from typer.testing import CliRunner

from synthomics.cli.main import app

SRC = Path(__file__).resolve().parents[2] / "src"
runner = CliRunner()

# a tiny diffusion model trained for 20 epochs of 2 steps (60 samples, 10 % held out)
FIT_OPTIONS = [
    "--set", "size=tiny", "--set", "taxon_embedding=none", "--set", "prevalence_init=false",
    "--set", "max_steps=40", "--set", "batch_size=32", "--set", "sampling_steps=4",
]  # fmt: skip
PRETRAIN_OPTIONS = [
    "--encoder-sizes", "8", "--epochs", "20", "--batch-size", "16", "--quiet",
    "--min-prevalence", "0", "--validation-fraction", "0",
]  # fmt: skip


def _kill_after_first_checkpoint(
    args: list[str], checkpoint: Path, signum: int = signal.SIGKILL
) -> tuple[int, str]:
    """Run ``synthomics ARGS`` in a subprocess, send ``signum`` once ``checkpoint`` exists.

    Returns the exit status and the standard error.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        # the same thread count as this process, so that float sums are done the same way
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "synthomics.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300  # a safety net against a hung child, not a check
        while not checkpoint.is_file():
            if process.poll() is not None:
                pytest.fail(f"the command ended before its first checkpoint: {process.stderr}")
            if time.monotonic() > deadline:
                pytest.fail("no checkpoint appeared")
            time.sleep(0.01)
        process.send_signal(signum)
    finally:
        process.wait()
        stderr = process.stderr.read().decode()
        process.stderr.close()
    return process.returncode, stderr


def _arrays(path: Path) -> dict[str, np.ndarray]:
    return load_file(str(path))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from synthomics.datasets import synthetic_microbiome
    from synthomics.io import write

    path = tmp_path_factory.mktemp("data") / "table.h5ad"
    write(synthetic_microbiome(n_samples=60, n_taxa=12, seed=3), path)
    return path


def test_fit_killed_mid_training_resumes_to_the_uninterrupted_weights(table, tmp_path):
    whole, out = tmp_path / "whole", tmp_path / "model"
    result = runner.invoke(app, ["fit", "diffusion", str(table), "-o", str(whole), *FIT_OPTIONS])
    assert result.exit_code == 0, result.output
    assert not Path(f"{whole}.checkpoints").exists()  # removed once the model is saved

    args = ["fit", "diffusion", str(table), "-o", str(out), *FIT_OPTIONS]
    checkpoints = Path(f"{out}.checkpoints")
    status, _ = _kill_after_first_checkpoint(args, checkpoints / "last.ckpt")
    assert status == -signal.SIGKILL
    assert not out.exists()  # killed before the end: no model yet

    result = runner.invoke(app, args)  # without --resume the checkpoint would be lost
    assert result.exit_code == 2
    assert "holds the checkpoint of an interrupted run; expected --resume" in result.output

    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert "resuming from step 2 (epoch 0)" in result.output  # the first epoch's checkpoint
    assert not checkpoints.exists()
    expected, resumed = _arrays(whole / "tensors.safetensors"), _arrays(out / "tensors.safetensors")
    assert expected.keys() == resumed.keys()
    for key, value in expected.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


def test_resume_refuses_with_the_reason(table, tmp_path):
    out = tmp_path / "model"
    result = runner.invoke(app, ["fit", "diffusion", str(table), "-o", str(out), "--resume"])
    assert result.exit_code == 2
    assert f"{out}.checkpoints: no last.ckpt to resume from" in result.output
    result = runner.invoke(app, ["fit", "independent", str(table), "-o", str(out), "--resume"])
    assert result.exit_code == 2
    assert "independent fits in one pass and keeps no checkpoint" in result.output


def test_a_resume_with_other_options_is_refused(table, tmp_path):
    from synthomics.generators import get_generator
    from synthomics.io import read

    adata = read(table)
    options = {"size": "tiny", "taxon_embedding": "none", "max_steps": 4, "progress": False}
    get_generator("diffusion", checkpoint_dir=str(tmp_path), **options).fit(adata)
    other = get_generator("diffusion", checkpoint_dir=str(tmp_path), resume=True, lr=0.5, **options)
    with pytest.raises(Exception, match=r"last\.ckpt: was written by a run with other lr"):
        other.fit(adata)


def test_pretrain_killed_mid_training_resumes_to_the_uninterrupted_weights(tmp_path):
    from synthomics.embeddings.synthetic import synthetic_profiles
    from synthomics.io import write

    table = tmp_path / "profiles.h5ad"
    write(synthetic_profiles(48, 10, seed=2), table)
    whole, out = tmp_path / "whole", tmp_path / "mae"
    result = runner.invoke(app, ["pretrain", str(table), "-o", str(whole), *PRETRAIN_OPTIONS])
    assert result.exit_code == 0, result.output

    args = ["pretrain", str(table), "-o", str(out), *PRETRAIN_OPTIONS]
    checkpoint = Path(f"{out}.checkpoints") / "last.ckpt"
    status, stderr = _kill_after_first_checkpoint(args, checkpoint, signal.SIGTERM)
    # the epoch running when the signal came is finished and saved; one line, exit status 2
    assert status == 2, stderr
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: training stopped by SIGTERM at step ")
    assert last_line.endswith("run the same command with --resume to continue")
    step = int(last_line.split(" at step ")[1].split(";")[0])
    assert step % 3 == 0 and step >= 3  # whole epochs: 48 samples in batches of 16
    assert not out.exists()
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert f"resuming from step {step} (epoch {step // 3 - 1})" in result.output
    expected, resumed = _arrays(whole / "weights.safetensors"), _arrays(out / "weights.safetensors")
    for key, value in expected.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


class _Payload:
    """Unpickling this runs ``os.system`` (what a crafted checkpoint would do)."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


def test_a_crafted_checkpoint_is_read_weights_only_and_never_runs(table, tmp_path):
    from synthomics.errors import InputError
    from synthomics.generators import get_generator
    from synthomics.io import read

    flag = tmp_path / "ran"
    torch.save(
        {"global_step": 2, "epoch": 0, "state_dict": {}, "payload": _Payload(flag)},
        tmp_path / "last.ckpt",
    )
    model = get_generator(
        "diffusion", size="tiny", max_steps=4, progress=False, checkpoint_dir=str(tmp_path),
        resume=True,
    )  # fmt: skip
    with pytest.raises(InputError, match=r"last\.ckpt: unreadable checkpoint \(Weights only"):
        model.fit(read(table))
    assert not flag.exists()


def test_lightning_is_asked_for_weights_only_loading(table, tmp_path, monkeypatch):
    # torch >= 2.6 defaults to weights-only, but Lightning passes weights_only=None through
    # to torch.load, which an older torch reads as "unpickle anything": ask explicitly
    import lightning as L

    from synthomics.embeddings import MicrobiomeMAE
    from synthomics.embeddings.synthetic import synthetic_profiles
    from synthomics.generators import get_generator
    from synthomics.io import read

    calls = []
    fit = L.Trainer.fit

    def recording_fit(self, *args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(L.Trainer, "fit", recording_fit)
    options = {"size": "tiny", "max_steps": 4, "progress": False, "checkpoint_dir": str(tmp_path)}
    adata = read(table)
    get_generator("diffusion", **options).fit(adata)
    get_generator("diffusion", resume=True, **options).fit(adata)
    profiles = synthetic_profiles(20, 6, seed=0)
    mae = {"max_epochs": 1, "progress": False, "min_prevalence": 0.0}
    MicrobiomeMAE(encoder_sizes=[4]).pretrain(profiles, checkpoint_dir=tmp_path / "m", **mae)
    MicrobiomeMAE(encoder_sizes=[4]).pretrain(
        profiles, checkpoint_dir=tmp_path / "m", resume=True, **{**mae, "max_epochs": 2}
    )
    assert calls == [True, True, True, True]
