"""``MicrobiomeMAE``: the user-facing masked-autoencoder embedding model.

Three layers, as in scvi-tools: the torch module
(:class:`~synthomics.embeddings.mae.MaskedAutoencoderModule`), the Lightning training plan
(:class:`~synthomics.embeddings.plan.MAETrainingPlan`) and this model, which registers
the tables, builds the reference taxa list, transforms the data, trains through
:func:`synthomics.training.build_trainer`, embeds new tables and saves everything as
safetensors + JSON.

Examples
--------
>>> model = MicrobiomeMAE(encoder_sizes=[512]).pretrain([table_a, table_b])  # doctest: +SKIP
>>> Z = model.embed(new_table)  # doctest: +SKIP
>>> model.save("mae_model/")  # doctest: +SKIP
>>> MicrobiomeMAE.load("mae_model/").embed(new_table)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import torch

from synthomics.embeddings.alignment import (
    UnitsOption,
    align_to_reference,
    exact_key,
    species_name,
    table_taxon_names,
)
from synthomics.embeddings.base import TaxaEmbedder
from synthomics.embeddings.mae import MaskedAutoencoderModule
from synthomics.embeddings.transforms import AbundanceTransform
from synthomics.errors import InputError

MODEL_NAME = "MicrobiomeMAE"

MODULE_DEFAULTS: dict[str, Any] = {
    "encoder_sizes": [1024],
    "decoder_sizes": [],
    "dropout": 0.1,
    "norm": "layer",
    "mask_rate": 0.3,
    "present_mask_rate": 0.3,
    "mask_token": "learned",
    "visible_loss_weight": 0.0,
    "input_scaling": "standard",
}
"""Architecture and masking options of the module (the CLI's options are made from these)."""

TRANSFORM_DEFAULTS: dict[str, Any] = {"transform": "clr", "floor": 1e-4}
"""Input transform and its detection floor."""

TRAIN_DEFAULTS: dict[str, Any] = {
    "max_epochs": 60,
    "batch_size": 128,
    "lr": 1e-3,
    "weight_decay": 1e-4,
    "validation_fraction": 0.1,
    "patience": 30,
    "ema_decay": None,
    "seed": 0,
    "min_prevalence": 0.001,
}
"""Training options of :meth:`MicrobiomeMAE.pretrain`."""


def _species_of(adata: ad.AnnData) -> list[str | None]:
    return [species_name(n) for n in table_taxon_names(adata)]


def union_reference(adatas: Sequence[ad.AnnData]) -> list[str]:
    """Species of several tables, matched by exact key, in order of first appearance."""
    seen: set[str] = set()
    reference: list[str] = []
    for adata in adatas:
        for spec in _species_of(adata):
            key = exact_key(spec) if spec is not None else None
            if key is not None and key not in seen:
                seen.add(key)
                reference.append(spec)
    return reference


class _EncoderView(torch.nn.Module):
    """The encoding half of a module (input scaling included), as a plain module."""

    def __init__(self, module: MaskedAutoencoderModule):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module.encode(x)


class MicrobiomeMAE(TaxaEmbedder):
    """Masked autoencoder embeddings of species-level relative-abundance profiles.

    Parameters
    ----------
    transform
        Input transform, ``"clr"`` (default) or ``"log10"``
        (:mod:`synthomics.embeddings.transforms`). The defaults (CLR, standardised encoder
        input, 30 % masking, one 1024-wide encoder layer) were chosen on the MetAML
        benchmark (``benchmarks/embeddings.py``, variants).
    floor
        Detection floor of relative abundance (default 1e-4).
    **module_options
        Architecture and masking options, see :data:`MODULE_DEFAULTS` and
        :class:`~synthomics.embeddings.mae.MaskedAutoencoderModule`.
    """

    name = MODEL_NAME

    def __init__(
        self,
        transform: str = TRANSFORM_DEFAULTS["transform"],
        floor: float = TRANSFORM_DEFAULTS["floor"],
        **module_options: Any,
    ):
        unknown = set(module_options) - set(MODULE_DEFAULTS)
        if unknown:
            raise TypeError(
                f"unknown MicrobiomeMAE options {sorted(unknown)}; "
                f"expected some of {sorted(MODULE_DEFAULTS)}"
            )
        self.transform = AbundanceTransform(transform, floor)  # type: ignore[arg-type]
        self.module_options = {**MODULE_DEFAULTS, **module_options}
        self.reference_taxa: list[str] = []
        self.module: MaskedAutoencoderModule | None = None
        self.training_summary: dict[str, Any] = {}
        self.prevalence: np.ndarray | None = None
        self.duplicates = "error"
        self.last_alignment = None

    # --- building ------------------------------------------------------------------------
    def _build_module(self, n_taxa: int, absent_value: float) -> MaskedAutoencoderModule:
        options = dict(self.module_options)
        options["encoder_sizes"] = [int(w) for w in options["encoder_sizes"]]
        options["decoder_sizes"] = [int(w) for w in options["decoder_sizes"]]
        return MaskedAutoencoderModule(n_taxa, absent_value=absent_value, **options)

    def encoder(self) -> torch.nn.Module:
        if self.module is None:
            raise RuntimeError("the model is not trained: call pretrain() or load() first")
        return _EncoderView(self.module)

    # --- training ------------------------------------------------------------------------
    def pretrain(
        self,
        adatas: ad.AnnData | Sequence[ad.AnnData],
        *,
        units: UnitsOption = "auto",
        max_epochs: int = TRAIN_DEFAULTS["max_epochs"],
        batch_size: int = TRAIN_DEFAULTS["batch_size"],
        lr: float = TRAIN_DEFAULTS["lr"],
        weight_decay: float = TRAIN_DEFAULTS["weight_decay"],
        validation_fraction: float = TRAIN_DEFAULTS["validation_fraction"],
        patience: int = TRAIN_DEFAULTS["patience"],
        ema_decay: float | None = TRAIN_DEFAULTS["ema_decay"],
        seed: int = TRAIN_DEFAULTS["seed"],
        min_prevalence: float = TRAIN_DEFAULTS["min_prevalence"],
        reference_taxa: Sequence[str] | None = None,
        accelerator: str = "auto",
        devices: int | str = "auto",
        strategy: str = "auto",
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        progress: bool = True,
        max_time: str | None = None,
    ) -> MicrobiomeMAE:
        """Train the autoencoder on one or several microbiome tables (no labels used).

        Parameters
        ----------
        adatas
            One table or several; their species are united by name (see
            :mod:`~synthomics.embeddings.alignment`) unless ``reference_taxa`` is given.
        units
            Units of the tables' ``X`` (``"auto"``: stated in the container or detected).
        max_epochs, batch_size, lr, weight_decay
            Optimisation (AdamW, warm-up then cosine decay of the learning rate).
        validation_fraction
            Samples held out to monitor the masked reconstruction loss; early stopping
            with ``patience`` epochs when positive.
        ema_decay
            Keep an exponential moving average of the weights (``None``: off).
        seed
            Seeds the split, the masks and the initial weights.
        min_prevalence
            Keep taxa present (above the detection floor) in at least this fraction of
            the training samples (and in at least two samples).
        reference_taxa
            Use this reference list instead of the union of the tables' species.
        accelerator, devices, strategy
            Passed to Lightning (``devices > 1`` trains with DDP).
        checkpoint_dir
            Keep Lightning checkpoints and a CSV log there (a resumable ``last.ckpt`` is
            written periodically and on SIGINT/SIGTERM); with ``resume``, continue from it,
            or refuse with the reason (no checkpoint, other data or options).
        progress
            Show a progress bar.
        max_time
            Stop training after this long (``"DD:HH:MM:SS"``).

        Returns
        -------
        MicrobiomeMAE
            ``self``, trained.
        """
        from synthomics.embeddings.plan import MAETrainingPlan
        from synthomics.training import (
            TensorDataModule,
            build_trainer,
            quiet_lightning,
            resumable_checkpoint,
            resume_point,
            run_identity,
            seed_everything,
        )

        tables = [adatas] if isinstance(adatas, ad.AnnData) else list(adatas)
        if not tables:
            raise InputError(None, "no tables to pretrain on", expected="at least one table")
        started = time.perf_counter()
        reference = list(reference_taxa) if reference_taxa is not None else union_reference(tables)
        if not reference:
            raise InputError(
                None,
                "the tables hold no species-level rows",
                expected="species-level profiles (s__ names)",
            )
        fractions = np.concatenate(
            [
                align_to_reference(t, reference, units=units, warn_below=0.0).fractions
                for t in tables
            ],
            axis=0,
        )
        fractions = fractions[fractions.sum(axis=1) > 0]
        if len(fractions) < 2:
            raise InputError(
                None,
                f"only {len(fractions)} non-empty samples to pretrain on",
                expected="at least two samples (hundreds for useful embeddings)",
            )
        present = fractions > self.transform.floor
        prevalence = present.mean(axis=0)
        keep = (prevalence >= min_prevalence) & (present.sum(axis=0) >= 2)
        if not keep.any():
            raise InputError(
                None,
                f"no taxon is present in {min_prevalence:.2%} of samples",
                expected="a lower min_prevalence",
            )
        self.reference_taxa = [r for r, k in zip(reference, keep, strict=True) if k]
        self.prevalence = prevalence[keep]
        fractions, present = fractions[:, keep], present[:, keep]
        x = self.transform(fractions)
        absent = self.transform.absent_value
        if absent is None:  # CLR: the typical value of an absent taxon
            absent = float(x[~present].mean()) if (~present).any() else float(x.min())

        seed_everything(seed)
        self.module = self._build_module(len(self.reference_taxa), absent)
        self.module.set_input_statistics(torch.from_numpy(x))
        plan = MAETrainingPlan(self.module, lr=lr, weight_decay=weight_decay, validation_seed=seed)
        data = TensorDataModule(
            {"x": x, "present": present},
            batch_size=batch_size,
            validation_fraction=validation_fraction,
            seed=seed,
        )
        has_val = len(data.val_index) > 0
        # a resume must continue the same run; max_epochs may grow, the devices may change
        options = {"batch_size": batch_size, "lr": lr, "weight_decay": weight_decay}
        options |= {"validation_fraction": validation_fraction, "ema_decay": ema_decay}
        run = run_identity({"x": x, "present": present}, self.module, {**options, "seed": seed})
        ckpt_path = resume_point(checkpoint_dir, run).path if resume else None
        with quiet_lightning(not progress):
            trainer = build_trainer(
                max_epochs,
                accelerator=accelerator,
                devices=devices,
                strategy=strategy,
                checkpoint_dir=checkpoint_dir,
                early_stopping_metric="val_loss" if has_val else None,
                patience=patience,
                ema_decay=ema_decay,
                progress=progress,
                max_time=max_time,
                run=run,
            )
            trainer.fit(plan, datamodule=data, ckpt_path=ckpt_path, weights_only=True)
        checkpoints = resumable_checkpoint(trainer)
        if checkpoints is not None:
            checkpoints.raise_if_interrupted()
        self.module.cpu().eval()
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        self.training_summary = {
            "n_samples": len(x),
            "n_tables": len(tables),
            "n_taxa": len(self.reference_taxa),
            "n_taxa_before_prevalence_filter": len(reference),
            "epochs": int(trainer.current_epoch),
            "max_epochs": int(max_epochs),
            "batch_size": int(batch_size),
            "lr": float(lr),
            "weight_decay": float(weight_decay),
            "validation_fraction": float(validation_fraction),
            "ema_decay": ema_decay,
            "seed": int(seed),
            "min_prevalence": float(min_prevalence),
            "metrics": metrics,
            "seconds": round(time.perf_counter() - started, 2),
        }
        return self

    # --- persistence ---------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        if self.module is None:
            raise RuntimeError("nothing to save: the model is not trained")
        return {
            "model": MODEL_NAME,
            "n_taxa": len(self.reference_taxa),
            "absent_value": self.module.absent_value,
            "module": self.module_options,
            "transform": self.transform.to_dict(),
            "duplicates": self.duplicates,
            "reference_taxa": list(self.reference_taxa),
            "training": self.training_summary,
        }

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Save weights (``weights.safetensors``) and everything else (``config.json``:
        options, transform, reference taxa list, training summary); never pickle."""
        from synthomics.training import save_torch_model

        extra = {"prevalence": self.prevalence} if self.prevalence is not None else None
        return save_torch_model(directory, self.module, self._config(), extra_arrays=extra)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> MicrobiomeMAE:
        """Load a model saved by :meth:`save`."""
        from synthomics.training import load_torch_model, read_model_config

        config = read_model_config(directory)["config"]
        if config.get("model") != MODEL_NAME:
            raise InputError(
                directory,
                f"the folder holds a {config.get('model')!r} model",
                expected=f"a {MODEL_NAME} model",
            )
        transform = AbundanceTransform.from_dict(config["transform"])
        model = cls(transform.name, transform.floor, **config["module"])

        def build(cfg: dict[str, Any]) -> MaskedAutoencoderModule:
            return model._build_module(int(cfg["n_taxa"]), float(cfg["absent_value"]))

        loaded = load_torch_model(directory, build)
        model.module = loaded.module  # type: ignore[assignment]
        model.reference_taxa = list(config["reference_taxa"])
        if len(model.reference_taxa) != config["n_taxa"]:
            raise InputError(directory, "reference taxa list and n_taxa disagree")
        model.duplicates = config.get("duplicates", "error")
        model.training_summary = config.get("training", {})
        model.prevalence = loaded.arrays.get("prevalence")
        return model

    def __repr__(self) -> str:
        state = (
            f"{len(self.reference_taxa)} taxa -> {self.module.embedding_dim}"
            if self.module is not None
            else "untrained"
        )
        return f"MicrobiomeMAE({self.transform.name}, {state})"
