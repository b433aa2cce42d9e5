"""``GenotypeDiffusion``: a denoising diffusion model of individuals x variants.

The user-facing model (registry name ``"genotype_diffusion"``; the CLI also accepts
``genotype-diffusion``). It follows the generator interface of :mod:`synthomics.generators`
(``fit`` / ``sample`` / ``save`` / ``load``) and assembles

* a representation of the genotypes (:mod:`~synthomics.genotype_diffusion.representation`):
  the windowed-PCA latent (default) or the centred dosages themselves;
* a denoiser of the shared diffusion core, FiLM-modulated by the noise level and the
  condition embedding (with a null class for classifier-free guidance): by default
  :class:`~synthomics.diffusion.denoisers.WindowDenoiser`, one token per PCA window mixed
  with its neighbours along the genome and with the mean of all windows; or the residual
  MLP over the whole latent (``denoiser="mlp"``,
  :class:`~synthomics.diffusion.denoisers.MLPDenoiser`);
* the shared :class:`~synthomics.diffusion.process.GaussianDiffusion` (cosine schedule,
  v-prediction, DDIM sampler, classifier-free guidance) trained by
  :func:`synthomics.diffusion.fitting.train_diffusion` (EMA weights, early stopping on the
  validation loss with the best weights kept, checkpoints and resume, Lightning DDP with
  ``devices`` / ``num_nodes``), the same loop as the microbiome model;
* optionally, a pull of each window of a drawn latent toward the nearest k-means centre of
  the training latents of its level (``sharpen``; :mod:`~synthomics.genotype_diffusion.centres`);
* a decoder (:mod:`~synthomics.genotype_diffusion.thresholds`): per-variant, per-level
  thresholds calibrated at fit time on a draw of the model itself, so that the decoded
  genotype frequencies equal the training frequencies. Output: valid 0/1/2 dosages (or
  0/1 haplotype alleles) with the training variants and their metadata.

Representation
    Windowed PCA (default: 95 % of each 200-variant window's variance, whitened scores)
    keeps linkage disequilibrium in the decoder's per-window loadings, and the denoiser
    models a few hundred scores; the centred dosages (``representation="dosage"``) lose most
    short-range LD with the MLP denoiser. The comparison is in
    ``benchmarks/genotype_experiments/README.md``.

Denoiser
    The MLP sees the whole latent at once and learns local haplotype structure poorly: its
    individuals lie farther from every real stretch of 50 variants than unseen real
    individuals do, which costs short-range LD, and closer to its training individuals
    than to unseen ones. The window denoiser gives each window its own input and output
    maps and lets neighbouring windows talk through a convolution; the comparison is in
    ``benchmarks/results/genotypes/table.md``.

Memorisation
    On small cohorts (HGDP: 159 individuals) the denoiser can learn the training
    individuals; the levers are early stopping on the validation loss (default on), the
    low-dimensional latent, dropout, weight decay and the small default network. The
    decoder adds no copy: thresholds hold no individual, only per-variant quantiles, and
    the window centres of ``sharpen`` are means of at least five individuals each.
    Where variants are not in LD (the HGDP subset: 5,000 SNPs spread over the genome), a
    window's variance is spread over most components and the latent at 95 % has about
    2,100 dimensions for 119 individuals; ``pca_variance`` or ``max_components`` then
    bound it.

Scale
    Nothing in the model is ``m x m`` or ``n x n``, and no float copy of the whole
    ``n x m`` genotype matrix is made: the representation works window by window, the
    window denoiser's cost grows with the number of windows (the MLP's input and output
    layers are ``d x dim``), and sampling, calibration and decoding run on chunks of
    :data:`SAMPLE_CHUNK` rows x :data:`VARIANT_BLOCK` variants.
    Windows overlap by ``window_overlap`` variants (a quarter of the window by default) so
    that LD across a border is kept (``benchmarks/results/genotypes/borders.md``).

Examples
--------
>>> from synthomics.datasets import simulate_genotypes
>>> adata = simulate_genotypes(30, 200, seed=0)  # doctest: +SKIP
>>> model = GenotypeDiffusion(size="tiny", max_steps=100)  # doctest: +SKIP
>>> model.fit(adata, condition="population")  # doctest: +SKIP
>>> synthetic = model.sample(conditions={"population": {"YRI": 10}}, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import numpy as np

from synthomics.diffusion.generator import DiffusionGenerator, check_choice, check_positive
from synthomics.errors import InputError
from synthomics.generators.genotype import GenotypeGenerator, GenotypePlan, GenotypeTrainingData

__all__ = ["SIZES", "WINDOW_SIZES", "GenotypeDiffusion"]

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"dim": 32, "n_blocks": 1},
    "default": {"dim": 256, "n_blocks": 2},
    "paper": {"dim": 1024, "n_blocks": 4},
}
"""Sizes of the MLP denoiser (``denoiser="mlp"``). ``default`` fits 1,500 individuals x
5,000 variants on two CPU cores in a few minutes; ``paper`` is meant for a GPU; ``tiny`` is
for tests."""

WINDOW_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"dim": 16, "n_blocks": 1},
    "default": {"dim": 64, "n_blocks": 3},
    "paper": {"dim": 256, "n_blocks": 6},
}
"""Sizes of the window denoiser (``denoiser="windows"``): token width and number of blocks."""

MAX_AUTO_WINDOWS = 100
"""Most PCA windows (20,000 variants at the default window) for which the default denoiser is
the window denoiser. On a CPU it costs about three times the MLP per training step and more
per sampling step, so a chromosome of 100,000 variants gets the MLP (a fit within 30 minutes
on two cores) unless ``denoiser="windows"`` is asked for (on a GPU)."""

WINDOW_KERNEL = 3
"""Windows each convolution of the window denoiser sees (the window and its two neighbours)."""

MLP_STEPS = 3000
"""Optimiser steps of ``max_steps="auto"`` (the default) with the MLP denoiser."""

WINDOW_STEPS = (3000, 6000)
"""Fewest and most optimiser steps of ``max_steps="auto"`` with the window denoiser."""

WINDOW_PASSES = 700
"""Passes over the training individuals that ``max_steps="auto"`` gives the window denoiser
within :data:`WINDOW_STEPS`: 6,000 steps from about 1,100 individuals up (more steps keep
more short-range LD there), 3,000 below about 550 (more passes over a small panel
memorise it)."""

SAMPLE_CHUNK = 2048
"""Rows drawn and decoded at a time."""

VARIANT_BLOCK = 4096
"""Variants decoded at a time (with :data:`SAMPLE_CHUNK` rows: 64 MiB of float64 scores)."""


class GenotypeDiffusion(DiffusionGenerator, GenotypeGenerator):
    """Denoising diffusion model of genotypes with a decoder to valid genotypes.

    Parameters
    ----------
    size
        ``"default"`` (CPU), ``"paper"`` (GPU) or ``"tiny"`` (tests); see
        :data:`WINDOW_SIZES` and :data:`SIZES`.
    dim, n_blocks
        Override the width and depth of ``size``.
    denoiser
        ``"windows"`` (one token per PCA window, mixed with its neighbours along the genome;
        :class:`~synthomics.diffusion.denoisers.WindowDenoiser`) or ``"mlp"`` (one residual
        MLP over the whole latent). None: ``"windows"`` with the windowed-PCA
        representation of at most :data:`MAX_AUTO_WINDOWS` windows, otherwise ``"mlp"``;
        the choice made is ``denoiser_`` after fitting.
    dropout
        Dropout inside the residual blocks.
    representation
        ``"windowed_pca"`` (default) or ``"dosage"``; see the module docstring.
    window
        Variants per PCA window.
    window_overlap
        Variants each window reaches into the next, so that LD across the border is in
        one window's loadings (decoded with cross-fade weights; 0: disjoint windows;
        None: ``window // 4``).
    pca_variance
        Share of each window's variance its kept components explain.
    max_components
        Most components kept per window (None: no limit beyond ``pca_variance``).
    residual_noise
        Scale of the independent Gaussian noise, per variant with the standard deviation
        of the PCA reconstruction error, added to the decoded scores before thresholding
        (restores the variance of the dropped components; 0: none).
    sharpen
        Share of the way each window of a drawn latent moves toward the nearest k-means
        centre of its level's training latents in that window, before decoding (0, the
        default: off; windowed PCA only; :mod:`~synthomics.genotype_diffusion.centres`).
        The draws fall between the tight clusters of real individuals; with several
        hundred individuals per level, 0.5 keeps more short-range LD. With about a hundred
        per level it makes the draws alike and raises the privacy loss (measurements in
        ``benchmarks/genotype_experiments/README.md``).
    sharpen_centres
        Most centres per level and window (each the mean of at least five individuals).
    threshold_prior
        Pseudo-individuals shrinking per-level genotype frequencies to the pooled ones in
        the calibrated decoder.
    calibration_samples
        Individuals drawn per level at fit time to calibrate the decoder thresholds
        (at least the level's training size).
    timesteps, schedule, prediction
        The diffusion process (see :class:`~synthomics.diffusion.process.GaussianDiffusion`).
    condition_dropout
        Probability of dropping the condition in training (classifier-free guidance).
    guidance_scale
        Guidance :math:`s` at sampling (1: plain conditional model).
    sampler, sampling_steps
        ``"ddim"`` (default) or ``"ddpm"``, and the number of denoising steps.
    self_conditioning
        Feed the network its previous estimate of the clean latent (Chen et al. 2023).
    max_steps, batch_size, lr, weight_decay, ema_decay, validation_fraction,
    validation_every, early_stopping, patience, checkpoint_dir, resume
        Training (see :class:`~synthomics.diffusion.fitting.DiffusionTrainingOptions`;
        ``max_steps="auto"``, the default: :meth:`step_budget`).
    accelerator, devices, strategy, num_nodes, precision
        Passed to Lightning (``devices=4``: DDP on four GPUs).
    seed
        Seeds the fit and the stream of sampling seeds.
    progress
        Show a progress display (None: only on a terminal).
    """

    name: ClassVar[str] = "genotype_diffusion"
    description: ClassVar[str] = (
        "Denoising diffusion over windowed-PCA latents of genotypes, decoded to 0/1/2 with "
        "per-variant thresholds calibrated to the training genotype frequencies"
    )
    reference: ClassVar[str] = (
        "Ho et al. 2020; Song et al. 2021 (DDIM); Ho & Salimans 2022 (classifier-free "
        "guidance); Kenneweg et al. 2025 (diffusion on per-gene PCA of genotypes)"
    )
    fast_config: ClassVar[dict[str, Any]] = {
        "size": "tiny",
        "max_steps": 30,
        "batch_size": 32,
        "sampling_steps": 5,
        "validation_every": 10,
        "calibration_samples": 64,
    }

    sizes: ClassVar[dict[str, dict[str, int]]] = SIZES
    option_overrides: ClassVar[dict[str, Any]] = {
        "dropout": 0.1,
        "batch_size": 128,
        "weight_decay": 1e-2,
        "patience": 5,
        "max_steps": "auto",
    }
    """Regularised for small cohorts (see "Memorisation"); early stopping on, as shared; the
    step budget follows the denoiser and the panel (:meth:`step_budget`)."""
    sample_chunk: ClassVar[int] = SAMPLE_CHUNK

    def __init__(
        self,
        *,
        representation: Literal["windowed_pca", "dosage"] = "windowed_pca",
        denoiser: Literal["windows", "mlp"] | None = None,
        window: int = 200,
        window_overlap: int | None = None,
        pca_variance: float = 0.95,
        max_components: int | None = None,
        residual_noise: float = 0.0,
        sharpen: float = 0.0,
        sharpen_centres: int = 64,
        threshold_prior: float = 2.0,
        calibration_samples: int = 1000,
        seed: int = 0,
        progress: bool | None = None,
        **options: Any,
    ) -> None:
        super().__init__(seed=seed, progress=progress)
        from synthomics.genotype_diffusion.representation import REPRESENTATIONS

        self._set_diffusion_options(options)
        check_choice("representation", representation, REPRESENTATIONS)
        if denoiser is not None:
            check_choice("denoiser", denoiser, ("windows", "mlp"))
        if denoiser == "windows" and representation != "windowed_pca":
            raise InputError(
                None,
                f"denoiser 'windows' with representation {representation!r}",
                expected="representation 'windowed_pca' for the window denoiser, or 'mlp'",
            )
        check_positive(
            window=window, calibration_samples=calibration_samples, sharpen_centres=sharpen_centres
        )
        if not 0 <= sharpen <= 1:
            raise InputError(None, f"sharpen is {sharpen!r}", expected="a share in [0, 1]")
        if window_overlap is None:
            window_overlap = int(window) // 4
        if not 0 <= int(window_overlap) < max(int(window) // 2, 1):
            raise InputError(
                None,
                f"window_overlap is {window_overlap!r}",
                expected=f"an integer in [0, window // 2) = [0, {max(int(window) // 2, 1)})",
            )
        if not 0 < pca_variance <= 1:
            raise InputError(
                None, f"pca_variance is {pca_variance!r}", expected="a share in (0, 1]"
            )
        if threshold_prior < 0:
            raise InputError(
                None, f"threshold_prior is {threshold_prior!r}", expected="a number >= 0"
            )
        self.representation = representation
        self.denoiser = denoiser
        self.denoiser_: str | None = None
        self.window = window
        self.window_overlap = window_overlap
        self.pca_variance = pca_variance
        self.max_components = max_components
        self.residual_noise = residual_noise
        self.sharpen = sharpen
        self.sharpen_centres = sharpen_centres
        self.threshold_prior = threshold_prior
        self.calibration_samples = calibration_samples
        self.thresholds_: Any = None
        self.centres_: Any = None

    # ----------------------------------------------------------------- building blocks

    def size_entry(self, n_rows: int) -> dict[str, int]:
        """Width and depth of ``size`` for the denoiser chosen at fit time."""
        return dict((WINDOW_SIZES if self.denoiser_ == "windows" else SIZES)[self.size])

    def step_budget(self, n_rows: int) -> int:
        """Optimiser steps of ``max_steps="auto"``: :data:`MLP_STEPS` for the MLP;
        :data:`WINDOW_PASSES` passes over ``n_rows`` individuals for the window denoiser,
        within :data:`WINDOW_STEPS`."""
        if self.denoiser_ != "windows":
            return MLP_STEPS
        return self.steps_for_passes(WINDOW_PASSES, n_rows, *WINDOW_STEPS)

    def _choose_denoiser(self, transform: Any) -> str:
        """The denoiser asked for, or the default for this representation (see ``denoiser``)."""
        if self.denoiser is not None:
            return str(self.denoiser)
        windows = getattr(transform, "n_windows", None)
        return "windows" if windows is not None and windows <= MAX_AUTO_WINDOWS else "mlp"

    def _architecture(
        self, n_latent: int, n_classes: int, n_rows: int, transform: Any = None
    ) -> dict[str, Any]:
        out = {
            "n_features": int(n_latent),
            **self._network_size(n_classes, n_rows),
            "self_conditioning": bool(self.self_conditioning),
        }
        if self.denoiser_ == "windows":
            out |= {
                "denoiser": "windows",
                "offsets": [int(o) for o in transform.offsets],
                "kernel": WINDOW_KERNEL,
            }
        return out

    @staticmethod
    def _build_module(architecture: dict[str, Any]):
        from synthomics.diffusion.denoisers import MLPDenoiser, WindowDenoiser

        options = dict(architecture)
        if options.pop("denoiser", "mlp") == "windows":
            return WindowDenoiser(**options)
        return MLPDenoiser(**options)

    def _fit_representation(self, genotypes: np.ndarray):
        from synthomics.genotype_diffusion.representation import CentredDosage, WindowedPCA

        if self.representation == "dosage":
            return CentredDosage.fit(genotypes)
        m, w = genotypes.shape[1], int(self.window)
        n_windows = len(range(0, m, w))
        n_windows -= int(n_windows > 1 and m - (n_windows - 1) * w < w // 2)  # folded
        task = self.fit_progress.task("genotype diffusion: PCA windows", total=n_windows)
        return WindowedPCA.fit(
            genotypes,
            window=int(self.window),
            variance=float(self.pca_variance),
            max_components=self.max_components,
            overlap=int(self.window_overlap),
            progress=lambda: task.advance(1),
        )

    # ----------------------------------------------------------------- fit

    def _fit(self, data: GenotypeTrainingData, rng: np.random.Generator) -> None:
        from synthomics.diffusion.fitting import train_diffusion
        from synthomics.genotype_diffusion.thresholds import GenotypeThresholds
        from synthomics.training import seed_everything

        start = time.perf_counter()
        seed_everything(self.seed, deterministic=False)
        genotypes = data.genotypes
        transform = self._fit_representation(genotypes)
        x = transform.encode(genotypes)
        self.denoiser_ = self._choose_denoiser(transform)
        conditional = self.condition_ is not None
        architecture = self._architecture(
            transform.n_latent, self.n_groups if conditional else 0, len(genotypes), transform
        )
        module = self._build_module(architecture)
        process = self._build_process()
        tensors: dict[str, Any] = {"x": x}
        if conditional:
            tensors["cond"] = data.codes.astype(np.int64)
        record = train_diffusion(
            process,
            module,
            tensors,
            self.training_options(len(x)),
            task=self.fit_progress.task("genotype diffusion: training"),
            description="genotype diffusion: training",
        )
        self.module_ = module
        self.process_ = process
        self.transform_ = transform
        self.architecture_ = architecture
        self.centres_ = None
        if self.sharpen > 0 and self.representation == "windowed_pca":
            from synthomics.genotype_diffusion.centres import WindowCentres

            task = self.fit_progress.task(
                "genotype diffusion: window centres", total=transform.n_windows
            )
            self.centres_ = WindowCentres.fit(
                x,
                data.codes,
                self.n_groups,
                transform.offsets,
                int(self.sharpen_centres),
                seed=self.seed,
                progress=lambda: task.advance(1),
            )
        # calibrate the decoder on the model's own draws, level by level
        task = self.fit_progress.task("genotype diffusion: calibrating", total=self.n_groups)
        frequencies = GenotypeThresholds.level_frequencies(
            genotypes, data.codes, self.n_groups, data.max_value, float(self.threshold_prior)
        )
        sizes = np.bincount(data.codes, minlength=self.n_groups)
        latents = []
        for level in range(self.n_groups):
            n = max(int(self.calibration_samples), int(sizes[level]))
            latents.append(self._latents(np.full(n, level, dtype=np.int64), rng))
            task.advance(1)
        # thresholds block by block of variants, so no (n, m) float matrix is ever held
        parts = []
        for a, b in transform.variant_blocks(VARIANT_BLOCK):
            scores = [self._decode_scores(z, a, b, rng) for z in latents]
            parts.append(GenotypeThresholds.calibrate(scores, frequencies[:, :, a:b]).thresholds)
        self.thresholds_ = GenotypeThresholds(np.concatenate(parts, axis=2))
        self.fit_record_ = {
            **record,
            "train_seconds": record["fit_seconds"],
            "n_latent": int(transform.n_latent),
            "fit_seconds": time.perf_counter() - start,
        }

    # ----------------------------------------------------------------- sample

    def _latents(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        *,
        guidance_scale: float | None = None,
        steps: int | None = None,
    ) -> np.ndarray:
        """Latents ``(n, d)`` (float32) of new individuals of levels ``codes``."""
        import torch

        generator = self._torch_generator(rng)
        out = np.empty((len(codes), self.transform_.n_latent), dtype=np.float32)
        with torch.inference_mode():
            for rows, latent in self._sample_chunks(
                codes,
                (self.transform_.n_latent,),
                generator,
                guidance_scale=guidance_scale,
                steps=steps,
            ):
                out[rows] = latent.float().numpy()
        if self.centres_ is not None and self.sharpen > 0:
            out = self.centres_.pull(out, codes, float(self.sharpen))
        return out

    def _decode_scores(
        self, latent: np.ndarray, start: int, stop: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Continuous genotype scores ``(n, stop - start)`` of variants ``start:stop``."""
        out = self.transform_.decode(latent, start, stop)
        if self.residual_noise > 0:
            scale = float(self.residual_noise) * self.transform_.residual_sd[start:stop]
            out += rng.standard_normal(out.shape) * scale
        return out

    def _sample(self, plan: GenotypePlan, rng: np.random.Generator) -> np.ndarray:
        return self.draw(plan.codes, rng)

    def draw(
        self,
        codes: np.ndarray,
        rng: np.random.Generator,
        *,
        guidance_scale: float | None = None,
        steps: int | None = None,
    ) -> np.ndarray:
        """Genotypes ``(n, m)`` int8 of new individuals of levels ``codes`` (used by
        :meth:`sample`; options for experiments)."""
        codes = np.asarray(codes, dtype=np.int64)
        out = np.empty((len(codes), self.transform_.n_variants), dtype=np.int8)
        for start in range(0, len(codes), SAMPLE_CHUNK):
            rows = slice(start, min(start + SAMPLE_CHUNK, len(codes)))
            latent = self._latents(codes[rows], rng, guidance_scale=guidance_scale, steps=steps)
            for a, b in self.transform_.variant_blocks(VARIANT_BLOCK):
                scores = self._decode_scores(latent, a, b, rng)
                out[rows, a:b] = self.thresholds_.decode(scores, codes[rows], a)
        return out

    # ----------------------------------------------------------------- state

    def _get_state(self) -> dict[str, Any]:
        state = super()._get_state()
        state.update({f"decoder/{k}": v for k, v in self.thresholds_.state().items()})
        if self.centres_ is not None:
            state.update({f"centres/{k}": v for k, v in self.centres_.state().items()})
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        from synthomics.genotype_diffusion.centres import WindowCentres
        from synthomics.genotype_diffusion.representation import representation_from_state
        from synthomics.genotype_diffusion.thresholds import GenotypeThresholds

        transform = self._state_part(state, "transform")
        self.transform_ = representation_from_state(
            self.representation, {k: np.asarray(v) for k, v in transform.items()}
        )
        decoder = self._state_part(state, "decoder")
        self.thresholds_ = GenotypeThresholds(np.asarray(decoder["thresholds"]))
        centres = self._state_part(state, "centres")  # absent in models saved without them
        self.centres_ = WindowCentres.from_state(centres) if centres else None
        self.denoiser_ = self.architecture_.get("denoiser", "mlp")  # MLP architectures name none
        self._load_module(self._build_module(self.architecture_), state)
