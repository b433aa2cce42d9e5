# Over 450 lines: MicrobiomeDiffusion with its Poincaré hierarchy, fit-time calibration and
# sampler; the rest is in diffusion/generator.py.
"""``MicrobiomeDiffusion``: the sparsity-preserving diffusion generator of microbiome profiles.

The user-facing model (registry name ``"diffusion"``). It follows the generator interface
of :mod:`synthomics.generators` (``fit`` / ``sample`` / ``save`` / ``load``) and assembles
three separate pieces:

* the data transform, :class:`~synthomics.microbiome_diffusion.transform.PresenceLogAbundance`
  (presence :math:`\\pm 1` and the per-taxon normal score of the CLR abundance of present
  taxa);
* the pure-torch module, :class:`~synthomics.microbiome_diffusion.module.MicrobiomeDenoiser`,
  with the sparsity-preserving presence decoder and the taxon-identity layers, preconditioned
  by the exact denoiser of independent taxa (a fresh model samples every taxon at its
  observed prevalence and abundance distribution; training adds the dependence);
* the shared diffusion machinery: :class:`~synthomics.diffusion.process.GaussianDiffusion`
  (cosine schedule, v-prediction, DDIM sampler, classifier-free guidance) trained by
  :class:`~synthomics.diffusion.plan.DiffusionTrainingPlan` through
  :func:`synthomics.training.build_trainer` (EMA weights, optional early stopping on the
  validation loss, checkpoints and resume, Lightning DDP with ``devices`` / ``num_nodes``).

The three mechanisms and their ablation switches
    1. prevalence-aware bias initialisation: ``prevalence_init``;
    2. hard sparsity loss with straight-through gradients: ``sparsity_weight`` (0 = off) and
       ``hard_sparsity`` (False = soft relaxation only);
    3. hyperbolic taxonomic embeddings: ``taxon_embedding`` = ``"poincare"`` (default),
       ``"learned"`` (a trained Euclidean table of the same size) or ``"none"``.

Decoder calibration on the model's own draws (after training)
    The network learns the dependence between taxa before it gets every marginal right, so
    the decoder is calibrated like a copula's: the diffusion model supplies ranks and
    co-occurrence, the data supply the marginals.

    * ``calibrate_prevalence``: each taxon's presence bias moves by the logit gap between
      its training prevalence (clipped at half a sample) and its generated prevalence, and
      a per-sample shift of all presence logits (MIDASim's sample effect) gets the sd that
      gives the training spread of richness; taxa absent from every training sample are
      never drawn;
    * ``calibrate_abundance``: each taxon's generated abundance scores are mapped, quantile
      to quantile, onto the training distribution of its abundance where present
      (:class:`~synthomics.microbiome_diffusion.transform.MarginalCalibration`);
    * ``calibrate_evenness``: each sample's shares are raised to the power that moves its
      Shannon index, quantile to quantile, onto the training distribution of the index in
      its condition level
      (:class:`~synthomics.microbiome_diffusion.transform.EvennessCalibration`);
    * the detection limit: no present share falls below the smallest non-zero share of the
      training table (:func:`~synthomics.microbiome_diffusion.transform.floor_shares`),
      where the power of the evenness calibration would otherwise put some rare taxa.

Options that matter
    ``max_steps`` (``"auto"``: 750 optimiser steps on tables of up to 685 samples, more
    on larger ones, up to 3,000, keeping the last EMA weights) and ``early_stopping`` (off) trade
    fidelity for privacy: longer training fits the tables a little better and sits closer
    to the training samples, which a membership-inference attack then tells from new ones;
    ``early_stopping=True`` protects privacy more at some cost in fidelity.
    ``presence_weight`` (10) lets the presence cross-entropy, not the abundance loss, steer
    the shared network, which then learns more of which taxa occur together. ``size`` sets
    the network (``default`` for a CPU, narrower on small tables, where a wider network
    sits closer to its training samples without fitting the table better). The
    measurements behind these choices are in ``benchmarks/results/microbiome_c2st/NOTES.md``.

A reference cohort
    ``fit(adata, reference=other)`` first trains the network for ``reference_steps`` on a
    larger cohort of the same kind of profiles (another study or body site, its taxa named
    as in the training table; taxa it lacks count as absent there), then on the table itself
    for half the usual budget. On HMP body sites and Nielsen (MetAML stool as the
    reference) it kept the fidelity of a fit without one at a lower membership-inference
    AUC; a reference of another kind (mostly oral samples for stool or skin) cost
    fidelity. The reference phase keeps no checkpoint: an interrupted fit resumes in the
    table's own phase.

Output: relative abundances; integer reads in ``layers["counts"]`` when the training data
were counts (depths resampled from the training depths of each condition level) or
when ``library_size`` is given, and then ``X`` is the reads' total-sum scaling, as the
training table. Reads are the rounded shares of the depth with at least one read per present
taxon (as MIDASim draws them), so a rare taxon keeps the one or two reads it has in real
tables, at a depth rescaled so that they sum to about the drawn depth.

Examples
--------
>>> from synthomics.datasets import synthetic_microbiome
>>> adata = synthetic_microbiome(n_samples=60, n_taxa=30, seed=0)  # doctest: +SKIP
>>> model = MicrobiomeDiffusion(size="tiny", max_steps=200, seed=0).fit(adata)  # doctest: +SKIP
>>> synthetic = model.sample(100, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, ClassVar, Literal

import numpy as np

from synthomics.diffusion.generator import DiffusionGenerator, check_choice, check_positive
from synthomics.errors import InputError
from synthomics.generators.library_size import LibrarySizeKind
from synthomics.generators.microbiome import (
    MicrobiomeDraw,
    MicrobiomeGenerator,
    MicrobiomeTrainingData,
    SamplePlan,
)

__all__ = ["SIZES", "MicrobiomeDiffusion"]

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"dim": 64, "n_blocks": 1},
    "default": {"dim": 128, "n_blocks": 2},
    "large": {"dim": 256, "n_blocks": 3},
    "paper": {"dim": 720, "n_blocks": 4},
}
"""Network sizes. ``default`` (0.6 M parameters for 719 taxa, half the width on tables of up
to :data:`SMALL_TABLE_ROWS` samples) trains in a minute or two on a CPU; ``large`` (2 M)
was no better on the Nielsen IBD table (297 training samples) but may help on larger
tables; ``paper`` (15 M parameters for 500 taxa) is meant for a GPU; ``tiny`` is for
tests."""

TAXON_EMBEDDINGS: tuple[str, ...] = ("poincare", "learned", "none")
HIERARCHIES: tuple[str, ...] = ("auto", "taxonomy", "tree")
SAMPLE_CHUNK = 4096
SMALL_TABLE_ROWS = 685
"""Tables of up to this many samples get the :data:`SMALL_TABLE_DIM` width (in batches of
64, these are also the tables that get :data:`BASE_STEPS`)."""
SMALL_TABLE_DIM = 64
"""Width of the ``default`` size on tables of up to :data:`SMALL_TABLE_ROWS` samples."""
CALIBRATION_SAMPLES = 2000
PREVALENCE_ROUNDS = 2
PRESENCE_SD_GRID = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
MAX_PREVALENCE_SHIFT = 2.0
BASE_STEPS = 750
"""Optimiser steps of ``max_steps="auto"`` on tables of up to 685 samples."""
PASSES = 70
"""Passes over a table of :data:`SMALL_TABLE_ROWS` samples of ``max_steps="auto"`` (the
passes grow in proportion to the table's size above it)."""
MAX_AUTO_STEPS = 3000
"""The most optimiser steps of ``max_steps="auto"``."""
REFERENCE_STEPS = 2000
"""Optimiser steps on a reference cohort before the table's own training."""
REFERENCE_BUDGET_SHARE = 0.5
"""Share of the ``max_steps="auto"`` budget left for the table after a reference cohort."""


class MicrobiomeDiffusion(DiffusionGenerator, MicrobiomeGenerator):
    """Sparsity-preserving denoising diffusion model for microbiome profiles.

    Parameters
    ----------
    size
        ``"default"`` (CPU; 64 wide on tables of up to 685 samples, 128 on larger ones),
        ``"large"``, ``"paper"`` (about 15 M parameters, GPU) or ``"tiny"``; see
        :data:`SIZES` and :meth:`size_entry`.
    dim, n_blocks
        Override the width and depth of ``size``.
    dropout
        Dropout inside the residual blocks.
    abundance
        Log abundance of present taxa: ``"clr"`` (centred over the present taxa, default)
        or ``"log"`` (log relative abundance); see
        :mod:`~synthomics.microbiome_diffusion.transform`.
    prevalence_init
        Mechanism 1 (see the module docstring).
    sparsity_weight, hard_sparsity
        Mechanism 2.
    presence_weight
        Weight of the presence cross-entropy against the abundance loss (see "Options that
        matter").
    taxon_embedding
        Mechanism 3: ``"poincare"``, ``"learned"`` or ``"none"``.
    embedding_dim
        Dimension of the taxon embedding (the Poincaré ball).
    hierarchy
        What the Poincaré embedding is fitted to: ``"taxonomy"`` (rank columns of ``var``),
        ``"tree"`` (``uns["tree"]``, tips named like the features) or ``"auto"`` (the
        taxonomy when there is one, else the tree, else no embedding, with a warning).
    poincare_epochs
        Epochs of Riemannian SGD for the embedding.
    timesteps, schedule, prediction
        The diffusion process (see :class:`~synthomics.diffusion.process.GaussianDiffusion`).
    condition_dropout
        Probability of dropping the condition in training (classifier-free guidance).
    guidance_scale
        Default guidance :math:`s` at sampling (1: plain conditional model).
    sampler, sampling_steps
        ``"ddim"`` (default) or ``"ddpm"``, and the number of denoising steps.
    stochastic_presence
        Draw the final presences as Bernoulli from the denoised presence probability
        (default) or threshold them at 1/2.
    calibrate_prevalence, calibrate_abundance, calibrate_evenness
        Calibrate the decoder on the model's own draws (see "Decoder calibration" above).
    self_conditioning
        Feed the network its previous estimate of the clean sample (Chen et al. 2023).
    reference_steps
        Optimiser steps on the reference cohort of ``fit(..., reference=...)`` (see "A
        reference cohort").
    max_steps
        Optimiser steps (rounded up to whole epochs), or ``"auto"`` (default,
        :meth:`step_budget`); see "Options that matter" above.
    batch_size, lr, weight_decay
        Optimisation (AdamW, linear warm-up then cosine decay to 10 %).
    ema_decay
        EMA of the weights used for validation and sampling (None: no EMA); the decay
        warms up as (1 + n) / (10 + n), so values above 0.99 only matter after about
        1,000 updates.
    validation_fraction
        Training samples held out for the early-stopping metric (the validation loss).
    validation_every
        Optimiser steps between validations (rounded to whole epochs).
    early_stopping
        Stop when the validation loss has not improved for ``patience`` validations and keep
        the weights of the best validation; False (default) trains for ``max_steps`` and
        keeps the last (EMA) weights.
    patience
        Validations without improvement before stopping.
    checkpoint_dir
        Folder for Lightning checkpoints and the metrics log (None: none).
    resume
        Continue from ``checkpoint_dir/last.ckpt`` when it exists.
    accelerator, devices, strategy, num_nodes, precision
        Passed to Lightning: ``devices=4`` trains with DDP on four GPUs, ``num_nodes`` spans
        nodes; nothing else changes.
    seed
        Seeds the fit and the stream of sampling seeds.
    library_size
        Depth model for reads: ``"matched"`` (default; the depth of a training sample of
        about the generated sample's richness, so that the rich samples, which carry the
        rare taxa, are the deep ones), ``"empirical"`` (resampled training depths, whose
        shape a log-normal misses on unrarefied tables) or ``"lognormal"``.
    progress
        Show a progress display (None: only on a terminal).
    """

    name: ClassVar[str] = "diffusion"
    count_model: ClassVar[str] = "depth_matched"
    description: ClassVar[str] = (
        "Sparsity-preserving denoising diffusion with prevalence-initialised presence logits, "
        "straight-through sparsity loss and Poincaré taxonomic embeddings"
    )
    reference: ClassVar[str] = (
        "Ho et al. 2020; Song et al. 2021 (DDIM); Ho & Salimans 2022 (classifier-free "
        "guidance); Nickel & Kiela 2017 (Poincaré embeddings)"
    )

    sizes: ClassVar[dict[str, dict[str, int]]] = SIZES
    option_overrides: ClassVar[dict[str, Any]] = {"max_steps": "auto", "early_stopping": False}
    """A budget set by the table's size (:meth:`step_budget`), keeping the last weights
    (see "Options that matter")."""
    sample_chunk: ClassVar[int] = SAMPLE_CHUNK
    uses_reference: ClassVar[bool] = True
    """``fit`` takes a reference cohort (see "A reference cohort")."""

    def __init__(
        self,
        *,
        abundance: Literal["clr", "log"] = "clr",
        prevalence_init: bool = True,
        sparsity_weight: float = 1.0,
        hard_sparsity: bool = True,
        presence_weight: float = 10.0,
        taxon_embedding: Literal["poincare", "learned", "none"] = "poincare",
        embedding_dim: int = 10,
        hierarchy: Literal["auto", "taxonomy", "tree"] = "auto",
        poincare_epochs: int = 50,
        stochastic_presence: bool = True,
        calibrate_prevalence: bool = True,
        calibrate_abundance: bool = True,
        calibrate_evenness: bool = True,
        reference_steps: int = REFERENCE_STEPS,
        seed: int = 0,
        library_size: LibrarySizeKind = "matched",
        progress: bool | None = None,
        **options: Any,
    ) -> None:
        super().__init__(seed=seed, library_size=library_size, progress=progress)
        self._set_diffusion_options(options)
        check_choice("taxon_embedding", taxon_embedding, TAXON_EMBEDDINGS)
        check_choice("hierarchy", hierarchy, HIERARCHIES)
        check_choice("abundance", abundance, ("clr", "log"))
        if not presence_weight > 0:
            raise InputError(
                None, f"presence_weight is {presence_weight!r}", expected="a positive number"
            )
        self.abundance = abundance
        self.prevalence_init = prevalence_init
        self.sparsity_weight = sparsity_weight
        self.hard_sparsity = hard_sparsity
        self.presence_weight = presence_weight
        self.taxon_embedding = taxon_embedding
        self.embedding_dim = embedding_dim
        self.hierarchy = hierarchy
        self.poincare_epochs = poincare_epochs
        self.stochastic_presence = stochastic_presence
        self.calibrate_prevalence = calibrate_prevalence
        self.calibrate_abundance = calibrate_abundance
        self.calibrate_evenness = calibrate_evenness
        check_positive(reference_steps=reference_steps)
        self.reference_steps = reference_steps
        self._reference: Any = None
        self.calibration_: Any = None
        self.evenness_: Any = None
        self.presence_sd_ = 0.0
        self.detection_limit_ = 0.0

    # ----------------------------------------------------------------- building blocks

    def _architecture(self, n_taxa: int, n_classes: int, n_rows: int) -> dict[str, Any]:
        return {
            "n_taxa": int(n_taxa),
            **self._network_size(n_classes, n_rows),
            "prediction": self.prediction,
            "prevalence_init": bool(self.prevalence_init),
            "sparsity_weight": float(self.sparsity_weight),
            "hard_sparsity": bool(self.hard_sparsity),
            "presence_weight": float(self.presence_weight),
            "learn_embedding": self.taxon_embedding == "learned",
            "self_conditioning": bool(self.self_conditioning),
        }

    def _build_module(
        self,
        architecture: dict[str, Any],
        prevalence: np.ndarray,
        taxon_embedding: np.ndarray | None,
        class_prevalence: np.ndarray | None = None,
        class_sizes: np.ndarray | None = None,
    ):
        from synthomics.microbiome_diffusion.module import MicrobiomeDenoiser

        arch = dict(architecture)
        n_samples = int(arch.pop("n_samples", self.training_.get("n_samples", 1)))
        return MicrobiomeDenoiser(
            arch.pop("n_taxa"),
            prevalence=prevalence,
            n_samples=n_samples,
            taxon_embedding=taxon_embedding,
            class_prevalence=class_prevalence,
            class_sizes=class_sizes,
            **arch,
        )

    def _taxon_embedding(self, n_taxa: int, rng: np.random.Generator) -> np.ndarray | None:
        """The taxon identity table (tangent-space Poincaré points, a random table or None)."""
        if self.taxon_embedding == "none":
            return None
        if self.taxon_embedding == "learned":
            return rng.normal(size=(n_taxa, self.embedding_dim)) / math.sqrt(self.embedding_dim)
        from synthomics.microbiome_diffusion.poincare import (
            fit_poincare,
            hierarchy_from_taxonomy,
            hierarchy_from_tree,
            log_map_origin,
            mean_rank,
        )

        source = self.training_.get("source_file")
        kind = self.hierarchy
        has_taxonomy = _has_taxonomy(self.var_)
        if kind == "auto":
            kind = "taxonomy" if has_taxonomy else ("tree" if self.tree_ else "none")
        if kind == "none":
            warnings.warn(
                "no taxonomy or tree to fit the Poincaré embedding; training without taxon "
                "embeddings (set taxon_embedding='none' to silence this)",
                stacklevel=3,
            )
            self.fit_record_["hierarchy"] = None
            return None
        if kind == "taxonomy":
            hierarchy = hierarchy_from_taxonomy(self.var_, source=source)
        else:
            if self.tree_ is None:
                raise InputError(
                    source,
                    "hierarchy='tree' but the data carry no tree",
                    expected="uns['tree'] (read the table with --tree)",
                )
            hierarchy = hierarchy_from_tree(self.tree_, self.feature_names_, source=source)
        task = self.fit_progress.task("diffusion: Poincaré taxon embedding", total=1)
        start = time.perf_counter()
        fitted = fit_poincare(
            hierarchy.parent,
            self.embedding_dim,
            epochs=self.poincare_epochs,
            lr=10.0,
            burn_in=5,
            seed=int(rng.integers(2**31 - 1)),
        )
        task.advance(1)
        self.fit_record_["hierarchy"] = kind
        self.fit_record_["poincare_nodes"] = hierarchy.n_nodes
        self.fit_record_["poincare_loss"] = fitted.loss
        self.fit_record_["poincare_seconds"] = time.perf_counter() - start
        if hierarchy.n_nodes <= 3000:
            self.fit_record_["poincare_mean_rank"] = mean_rank(fitted, hierarchy.parent)
        tangent = log_map_origin(fitted.coordinates[hierarchy.features])
        rms = float(np.sqrt((tangent**2).sum(axis=1).mean())) or 1.0
        return tangent / rms

    # ----------------------------------------------------------------- fit

    def size_entry(self, n_rows: int) -> dict[str, int]:
        """Width and depth of ``size``; the ``default`` size is :data:`SMALL_TABLE_DIM` wide
        on tables of up to :data:`SMALL_TABLE_ROWS` samples.

        A narrower network sits less close to its training samples at the same fidelity on
        a few hundred samples; a table of a thousand or more needs the full width.
        """
        entry = dict(self.sizes[self.size])
        if self.size == "default" and n_rows <= SMALL_TABLE_ROWS:
            entry["dim"] = SMALL_TABLE_DIM
        return entry

    def step_budget(self, n_rows: int) -> int:
        """Optimiser steps of ``max_steps="auto"``: :data:`BASE_STEPS` on tables of up to
        :data:`SMALL_TABLE_ROWS` samples; above, :data:`PASSES` passes times the table's
        size over :data:`SMALL_TABLE_ROWS`, at most :data:`MAX_AUTO_STEPS`.

        Memorisation grows with the passes over each training sample, and a larger table
        takes more passes before a membership attack finds its samples; fidelity grows
        with the steps. A table of a few hundred samples gets 750 steps (about 200
        passes), one of 1,000 samples about 1,600 steps (100 passes), one of 1,400 or more
        3,000 steps.
        """
        passes = PASSES * max(n_rows, SMALL_TABLE_ROWS) / SMALL_TABLE_ROWS
        return self.steps_for_passes(passes, n_rows, BASE_STEPS, MAX_AUTO_STEPS)

    def fit(
        self, adata: Any, condition: str | None = None, *, reference: Any = None
    ) -> MicrobiomeDiffusion:
        """Learn the distribution of ``adata`` (per level of ``obs[condition]`` when given).

        ``reference``: an optional microbiome AnnData of a larger cohort of the same kind
        to train on first (see "A reference cohort" in the module docstring).
        """
        self._reference = reference
        try:
            return super().fit(adata, condition)
        finally:
            self._reference = None

    def _reference_table(self) -> np.ndarray | None:
        """The reference cohort as shares of the training taxa (rows with none dropped)."""
        import anndata as ad
        import pandas as pd

        from synthomics.generators.microbiome import abundance_matrix

        reference = self._reference
        if reference is None:
            return None
        if not isinstance(reference, ad.AnnData):
            raise InputError(
                None, f"the reference is a {type(reference).__name__}", expected="an AnnData"
            )
        self._check_omics(reference)
        source = reference.uns.get("source_file") or "the reference cohort"
        X = abundance_matrix(reference, source)
        columns = pd.Index([str(f) for f in reference.var_names]).get_indexer(self.feature_names_)
        shared = columns >= 0
        if not shared.any():
            raise InputError(
                source,
                "shares no taxon with the training table",
                expected="features named as the training table's",
            )
        table = np.zeros((X.shape[0], len(columns)))
        table[:, shared] = X[:, columns[shared]]
        table = table[table.sum(axis=1) > 0]
        if len(table) < 2:
            raise InputError(
                source,
                f"{len(table)} of its samples carry any of the training taxa",
                expected="at least 2 such samples",
            )
        self.fit_record_["reference_samples"] = len(table)
        self.fit_record_["reference_taxa"] = int(shared.sum())
        return table / table.sum(axis=1, keepdims=True)

    def _pretrain(self, process: Any, module: Any, x: np.ndarray, options: Any) -> None:
        """Train ``module`` on the encoded reference cohort ``x``, then restore the table's
        presence biases (those of a fresh network) and make it trainable again."""
        import dataclasses

        import torch

        from synthomics.diffusion.fitting import train_diffusion

        bias = module.presence.readout.bias.detach().clone()
        phase = dataclasses.replace(
            options,
            max_steps=int(self.reference_steps),
            early_stopping=False,
            checkpoint_dir=None,
            resume=False,
        )
        record = train_diffusion(
            process, module, {"x": x}, phase, task=self.fit_progress.task("diffusion: reference")
        )
        self.fit_record_["reference_steps"] = record["steps"]
        self.fit_record_["reference_seconds"] = record["fit_seconds"]
        module.train()
        for parameter in module.parameters():
            parameter.requires_grad_(True)
        with torch.no_grad():
            module.presence.readout.bias.copy_(bias)

    def _fit(self, data: MicrobiomeTrainingData, rng: np.random.Generator) -> None:
        import dataclasses

        from synthomics.diffusion.fitting import train_diffusion
        from synthomics.microbiome_diffusion.transform import PresenceLogAbundance, smallest_share
        from synthomics.training import seed_everything

        start = time.perf_counter()
        seed_everything(self.seed, deterministic=False)
        self.fit_record_ = {}  # _taxon_embedding records the hierarchy it used here
        reference = self._reference_table()
        transform = PresenceLogAbundance.fit(data.proportions, self.abundance)
        x = transform.encode(data.proportions)
        prevalence = (data.proportions > 0).mean(axis=0)
        embedding = self._taxon_embedding(data.n_features, rng)
        conditional = self.condition_ is not None
        architecture = self._architecture(
            data.n_features, self.n_groups if conditional else 0, data.n_samples
        )
        architecture["n_samples"] = data.n_samples
        class_prevalence = class_sizes = None
        if conditional:
            class_sizes = np.bincount(data.codes, minlength=self.n_groups)
            class_prevalence = np.stack(
                [(data.proportions[data.codes == c] > 0).mean(axis=0) for c in range(self.n_groups)]
            )
        module = self._build_module(
            architecture, prevalence, embedding, class_prevalence, class_sizes
        )
        process = self._build_process()
        tensors: dict[str, Any] = {"x": x}
        if conditional:
            tensors["cond"] = data.codes.astype(np.int64)
        options = self.training_options(data.n_samples)
        if reference is not None:
            # a resumed fit continues in the table's phase, whose checkpoint has every weight
            if not self.resume:
                self._pretrain(process, module, transform.encode(reference), options)
            if self.max_steps == "auto":
                steps = math.ceil(REFERENCE_BUDGET_SHARE * options.max_steps)
                options = dataclasses.replace(options, max_steps=steps)
        record = train_diffusion(
            process, module, tensors, options, task=self.fit_progress.task("diffusion: training")
        )
        self.module_ = module
        self.process_ = process
        self.transform_ = transform
        self.architecture_ = architecture
        self.prevalence_ = prevalence
        self.detection_limit_ = smallest_share(data.proportions)
        self.embedding_ = embedding
        self.calibration_ = self._calibrate(data, rng)
        self.fit_record_.update(record, fit_seconds=time.perf_counter() - start)

    def _calibrate(self, data: MicrobiomeTrainingData, rng: np.random.Generator):
        """Calibrate the trained model on its own draws (prevalence, abundance, evenness).

        Prevalence: each taxon's presence bias is moved by the logit gap between its
        training and generated prevalence, in ``PREVALENCE_ROUNDS`` rounds (the bias acts
        at every noise level, so the draws follow). Abundance: a
        :class:`~synthomics.microbiome_diffusion.transform.MarginalCalibration` of the
        generated scores (returned; None when switched off). Evenness: an
        :class:`~synthomics.microbiome_diffusion.transform.EvennessCalibration` of the
        decoded draws, set as ``evenness_``.
        """
        import torch

        from synthomics.microbiome_diffusion.decoder import prevalence_logit
        from synthomics.microbiome_diffusion.transform import (
            EvennessCalibration,
            MarginalCalibration,
        )

        self.presence_bias_shift_ = np.zeros(data.n_features)
        self.evenness_ = None
        if not (self.calibrate_prevalence or self.calibrate_abundance or self.calibrate_evenness):
            return None
        n = min(max(CALIBRATION_SAMPLES, 4 * data.n_samples), 3 * CALIBRATION_SAMPLES)
        plan = SamplePlan(rng.choice(data.codes, n), None)
        target = prevalence_logit(self.prevalence_, data.n_samples).numpy()
        self.presence_sd_ = 0.0
        if self.calibrate_prevalence:
            self.presence_sd_ = self._richness_spread(plan, data, rng)
        rounds = PREVALENCE_ROUNDS if self.calibrate_prevalence else 0
        for _ in range(rounds):
            present, scores = self._generate(plan, rng)
            gap = target - prevalence_logit(present.mean(axis=0), n).numpy()
            shift = np.clip(gap, -MAX_PREVALENCE_SHIFT, MAX_PREVALENCE_SHIFT)
            self.presence_bias_shift_ += shift
            with torch.no_grad():
                self.module_.presence.readout.bias += torch.from_numpy(shift).float()
        present, scores = self._generate(plan, rng)
        generated = present.mean(axis=0)
        self.fit_record_["calibration_zero_fraction_gap_pp"] = float(
            100 * abs(generated.mean() - self.prevalence_.mean())
        )
        calibration = MarginalCalibration.fit(present, scores) if self.calibrate_abundance else None
        if self.calibrate_evenness:
            if calibration is not None:
                scores = calibration.apply(scores)
            self.evenness_ = EvennessCalibration.fit(
                self.transform_.decode(present, scores),
                plan.codes,
                data.proportions,
                data.codes,
                self.n_groups,
            )
        return calibration

    def _richness_spread(
        self, plan: SamplePlan, data: MicrobiomeTrainingData, rng: np.random.Generator
    ) -> float:
        """The sd of a per-sample presence-logit shift that gives the training richness sd.

        A network trained on a few hundred samples draws richness too uniform across
        samples; a sample-level random shift of every presence logit (the sample effect
        of MIDASim's presence model) widens it. The first sd on :data:`PRESENCE_SD_GRID`
        whose draws reach the training richness sd is refined by linear interpolation.
        """
        target = float((data.proportions > 0).sum(axis=1).std())
        previous_sd, previous_spread = 0.0, None
        for sd in (0.0, *PRESENCE_SD_GRID):
            self.presence_sd_ = sd
            present, _ = self._generate(plan, rng)
            spread = float(present.sum(axis=1).std())
            if spread >= target:
                if previous_spread is None or spread == previous_spread:
                    return sd
                share = (target - previous_spread) / (spread - previous_spread)
                return previous_sd + share * (sd - previous_sd)
            previous_sd, previous_spread = sd, spread
        return previous_sd

    # ----------------------------------------------------------------- sample

    def _sample(self, plan: SamplePlan, rng: np.random.Generator) -> MicrobiomeDraw:
        return self.draw(plan, rng)

    def draw(
        self,
        plan: SamplePlan,
        rng: np.random.Generator,
        *,
        guidance_scale: float | None = None,
        steps: int | None = None,
    ) -> MicrobiomeDraw:
        """Generate the rows of ``plan`` (used by :meth:`sample`; options for experiments)."""
        from synthomics.microbiome_diffusion.transform import floor_shares

        present, scores = self._generate(plan, rng, guidance_scale=guidance_scale, steps=steps)
        if self.calibration_ is not None:
            scores = self.calibration_.apply(scores)
        proportions = self.transform_.decode(present, scores)
        if self.evenness_ is not None:
            proportions = self.evenness_.apply(proportions, plan.codes)
        return MicrobiomeDraw(floor_shares(proportions, self.detection_limit_), None)

    def _generate(
        self,
        plan: SamplePlan,
        rng: np.random.Generator,
        *,
        guidance_scale: float | None = None,
        steps: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Presence ``(n, p)`` and abundance scores ``(n, p)`` of the rows of ``plan``."""
        import torch

        from synthomics.microbiome_diffusion.decoder import presence_from_x0
        from synthomics.microbiome_diffusion.module import ABUNDANCE, PRESENCE

        module, transform = self.module_, self.transform_
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        offsets = torch.from_numpy(rng.normal(0.0, 1.0, plan.n) * self.presence_sd_).float()
        unseen = torch.from_numpy(np.asarray(self.prevalence_) == 0)
        present = np.zeros((plan.n, transform.n_taxa), dtype=bool)
        scores = np.zeros((plan.n, transform.n_taxa))
        chunks = self._sample_chunks(
            plan.codes,
            (2, transform.n_taxa),
            generator,
            guidance_scale=guidance_scale,
            steps=steps,
            denoised_fn=module.clip_denoised(transform.low, transform.high),
            network=lambda rows: _with_presence_offset(module, offsets[rows]),
        )
        with torch.inference_mode():
            for rows, x0 in chunks:
                x0[:, PRESENCE, unseen] = -1.0  # taxa absent from every training sample
                present[rows] = presence_from_x0(
                    x0[:, PRESENCE], stochastic=self.stochastic_presence, generator=generator
                ).numpy()
                scores[rows] = x0[:, ABUNDANCE].double().numpy()
        return present, scores

    # ----------------------------------------------------------------- state

    def _get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {f"module/{k}": v for k, v in self.module_.state_dict().items()}
        state.update({f"transform/{k}": v for k, v in self.transform_.state().items()})
        state["prevalence"] = np.asarray(self.prevalence_, dtype=np.float64)
        if self.embedding_ is not None:
            state["taxon_embedding"] = np.asarray(self.embedding_, dtype=np.float64)
        if self.calibration_ is not None:
            state["calibration/generated"] = self.calibration_.generated
        state["calibration/presence_sd"] = np.array([self.presence_sd_])
        state["calibration/detection_limit"] = np.array([self.detection_limit_])
        if self.evenness_ is not None:
            state["calibration/evenness_generated"] = self.evenness_.generated
            state["calibration/evenness_target"] = self.evenness_.target
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        import torch

        from synthomics.microbiome_diffusion.transform import (
            EvennessCalibration,
            MarginalCalibration,
            PresenceLogAbundance,
        )

        self.transform_ = PresenceLogAbundance.from_state(
            {
                k.split("/", 1)[1]: np.asarray(v)
                for k, v in state.items()
                if k.startswith("transform/")
            }
        )
        self.prevalence_ = np.asarray(state["prevalence"])
        self.presence_sd_ = float(np.asarray(state.get("calibration/presence_sd", [0.0]))[0])
        self.detection_limit_ = float(
            np.asarray(state.get("calibration/detection_limit", [0.0]))[0]
        )
        calibration = state.get("calibration/generated")
        self.calibration_ = (
            None if calibration is None else MarginalCalibration(np.asarray(calibration))
        )
        evenness = state.get("calibration/evenness_generated")
        self.evenness_ = (
            None
            if evenness is None
            else EvennessCalibration(
                np.asarray(evenness), np.asarray(state["calibration/evenness_target"])
            )
        )
        embedding = state.get("taxon_embedding")
        self.embedding_ = None if embedding is None else np.asarray(embedding)
        module = self._build_module(self.architecture_, self.prevalence_, self.embedding_)
        weights = {
            k.split("/", 1)[1]: torch.as_tensor(v)
            for k, v in state.items()
            if k.startswith("module/")
        }
        module.load_state_dict(weights)
        self.module_ = module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)
        self.process_ = self._build_process()


def _with_presence_offset(module: Any, offset: Any) -> Any:
    """The denoiser with a per-sample presence-logit shift (batches doubled for guidance)."""

    def net(inputs: dict[str, Any]) -> Any:
        repeat = inputs["x_t"].shape[0] // len(offset)
        return module({**inputs, "presence_offset": offset.repeat(repeat)})

    return net


def _has_taxonomy(var: Any) -> bool:
    from synthomics.container import RANKS

    present = [r for r in RANKS if r in var.columns]
    return bool(present) and not var[present].isna().all().all()
