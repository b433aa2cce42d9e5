# Over 450 lines: the whole parameter-free Gaussian process (schedules, losses, DDIM/DDPM
# samplers, guidance), as in improved-diffusion.
"""The Gaussian diffusion process: a noise schedule, the forward noising and the samplers.

:class:`GaussianDiffusion` holds no trainable parameters (the split of
``openai/improved-diffusion``): it owns the variance-preserving schedule
:math:`x_t = \\alpha_t x_0 + \\sigma_t \\varepsilon` with :math:`\\alpha_t^2 = \\bar\\alpha_t`
and :math:`\\sigma_t^2 = 1 - \\bar\\alpha_t`, draws noisy inputs
(:meth:`~GaussianDiffusion.q_sample`), computes the denoising loss of a network passed in
(:meth:`~GaussianDiffusion.training_losses`) and samples with DDIM or ancestral DDPM steps
(:meth:`~GaussianDiffusion.sample`), with classifier-free guidance (Ho and Salimans 2022)
for categorical conditions.

The network contract
--------------------
A denoiser is any callable ``net(inputs) -> outputs``:

``inputs`` (a dict of tensors, batch size ``B``)
    ``"x_t"`` the noisy batch, shape ``(B, *feature_shape)``; ``"t"`` the integer timesteps,
    ``(B,)`` long in ``[0, num_timesteps)``; ``"alpha"`` and ``"sigma"`` the schedule at
    ``t``, ``(B,)`` float (networks that predict :math:`x_0` internally convert with
    :func:`prediction_from_x0`); ``"cond"`` the class index, ``(B,)`` long, only when the
    model is conditional, with :data:`NULL_CONDITION` for "no condition".
``outputs``
    A tensor shaped like ``x_t`` holding the prediction named by ``prediction``, or a dict
    whose ``"prediction"`` entry is that tensor; the other entries of the dict (presence
    logits, say) are handed back by :meth:`~GaussianDiffusion.training_losses` for
    model-specific losses. A dict may also give ``"x0"``, the same prediction as
    :math:`\\hat x_0`; the samplers then use it directly (networks that compute
    :math:`\\hat x_0` first save two conversions per step).

What the network predicts (``prediction``)
-------------------------------------------
``"epsilon"``
    The noise :math:`\\varepsilon` (Ho et al. 2020). The squared error weighs the
    :math:`x_0` error by the signal-to-noise ratio :math:`\\alpha_t^2/\\sigma_t^2`, so
    nearly clean inputs dominate and the high-noise end, where the coarse structure of a
    sample is decided, gets little weight.
``"v"`` (default)
    The velocity :math:`v = \\alpha_t \\varepsilon - \\sigma_t x_0` (Salimans and Ho 2022).
    Its squared error is the :math:`x_0` error weighted by :math:`1 + \\mathrm{SNR}`: bounded
    at the high-noise end and well conditioned at both ends, which is why it is the default.
``"x0"``
    The clean sample itself (uniform weight on the :math:`x_0` error).

All three are affine in each other at a fixed :math:`x_t`, so guidance and the samplers
work the same way whichever is used.

Examples
--------
>>> import torch
>>> process = GaussianDiffusion(num_timesteps=100, schedule="cosine", prediction="v")
>>> net = lambda inputs: torch.zeros_like(inputs["x_t"])
>>> x0 = torch.randn(8, 5)
>>> t = process.sample_timesteps(8, generator=torch.Generator().manual_seed(0))
>>> out = process.training_losses(net, x0, t)
>>> out["loss"].shape
torch.Size([8])
>>> process.sample(net, (4, 5), steps=10, generator=torch.Generator().manual_seed(0)).shape
torch.Size([4, 5])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import torch

__all__ = [
    "NULL_CONDITION",
    "PREDICTIONS",
    "SCHEDULES",
    "GaussianDiffusion",
    "cosine_alpha_bar",
    "noise_schedule",
    "prediction_from_x0",
    "x0_from_prediction",
]

NULL_CONDITION: int = -1
"""Class index meaning "no condition" (the unconditional branch of classifier-free guidance)."""

SCHEDULES: tuple[str, ...] = ("cosine", "linear")
"""Noise schedules understood by :func:`noise_schedule`."""

PREDICTIONS: tuple[str, ...] = ("epsilon", "v", "x0")
"""What a denoiser may predict; see the module docstring."""

Prediction = Literal["epsilon", "v", "x0"]
Schedule = Literal["cosine", "linear"]
Denoiser = Callable[[dict[str, torch.Tensor]], "torch.Tensor | Mapping[str, torch.Tensor]"]


def cosine_alpha_bar(s: np.ndarray, offset: float = 0.008) -> np.ndarray:
    """The unnormalised cosine schedule :math:`\\bar\\alpha(s)` for ``s`` in [0, 1].

    :math:`\\bar\\alpha(s) = \\cos^2\\big(\\tfrac{s + o}{1 + o}\\tfrac{\\pi}{2}\\big)`.

    The cosine schedule of Nichol and Dhariwal (2021), *Improved denoising diffusion
    probabilistic models*, eq. 17, unnormalised (divide by :math:`\\bar\\alpha(0)`).
    """
    return np.cos((np.asarray(s, dtype=np.float64) + offset) / (1 + offset) * math.pi / 2) ** 2


def noise_schedule(name: Schedule, num_timesteps: int) -> np.ndarray:
    """The betas :math:`\\beta_1 \\dots \\beta_T` of a named schedule, as float64.

    Parameters
    ----------
    name
        ``"cosine"`` (Nichol and Dhariwal 2021; betas clipped at 0.999) or ``"linear"``
        (Ho et al. 2020, 1e-4 to 0.02 for 1000 steps, rescaled for other lengths).
    num_timesteps
        :math:`T`, at least 1.

    Returns
    -------
    numpy.ndarray
        ``(num_timesteps,)`` betas in (0, 1).
    """
    if num_timesteps < 1:
        raise ValueError(f"num_timesteps must be at least 1, got {num_timesteps}")
    if name == "cosine":
        steps = np.arange(num_timesteps + 1, dtype=np.float64) / num_timesteps
        alpha_bar = cosine_alpha_bar(steps)
        betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
        return np.clip(betas, 1e-8, 0.999)
    if name == "linear":
        scale = 1000.0 / num_timesteps
        return np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), num_timesteps)
    raise ValueError(f"unknown noise schedule {name!r}; expected one of {SCHEDULES}")


def _broadcast(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape per-sample values ``(B,)`` to broadcast against ``like`` ``(B, ...)``."""
    return values.reshape(values.shape[0], *([1] * (like.ndim - 1)))


def x0_from_prediction(
    prediction: Prediction,
    output: torch.Tensor,
    x_t: torch.Tensor,
    alpha: torch.Tensor,
    sigma: torch.Tensor,
) -> torch.Tensor:
    """Convert a network output in the ``prediction`` parameterisation to :math:`\\hat x_0`.

    ``alpha`` and ``sigma`` are per-sample ``(B,)`` tensors.
    """
    a, s = _broadcast(alpha, x_t), _broadcast(sigma, x_t)
    if prediction == "x0":
        return output
    if prediction == "epsilon":
        return (x_t - s * output) / a
    if prediction == "v":
        return a * x_t - s * output
    raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")


def prediction_from_x0(
    prediction: Prediction,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    alpha: torch.Tensor,
    sigma: torch.Tensor,
) -> torch.Tensor:
    """Inverse of :func:`x0_from_prediction`: the output that would give :math:`\\hat x_0`.

    Used by networks that predict part of :math:`x_0` directly (a presence probability,
    say) while the process trains another parameterisation.
    """
    a, s = _broadcast(alpha, x_t), _broadcast(sigma, x_t)
    if prediction == "x0":
        return x0
    if prediction == "epsilon":
        return (x_t - a * x0) / s
    if prediction == "v":
        # v = a*eps - s*x0 with eps = (x_t - a*x0)/s and a^2 + s^2 = 1
        return (a * x_t - x0) / s
    raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")


def _prediction_of(outputs: torch.Tensor | Mapping[str, torch.Tensor]) -> torch.Tensor:
    if isinstance(outputs, torch.Tensor):
        return outputs
    if "prediction" not in outputs:
        raise KeyError("a denoiser that returns a dict must put its output under 'prediction'")
    return outputs["prediction"]


class GaussianDiffusion:
    """A variance-preserving Gaussian diffusion process with no trainable parameters.

    Parameters
    ----------
    num_timesteps
        :math:`T`, the number of noise levels seen in training (1000 by default).
    schedule
        ``"cosine"`` (default) or ``"linear"``; see :func:`noise_schedule`.
    prediction
        What the network predicts: ``"v"`` (default), ``"epsilon"`` or ``"x0"``; see the
        module docstring for the loss weighting each implies.

    Attributes
    ----------
    betas, alpha_bar
        ``(T,)`` float64 NumPy arrays of the schedule.
    """

    def __init__(
        self,
        num_timesteps: int = 1000,
        schedule: Schedule = "cosine",
        prediction: Prediction = "v",
    ) -> None:
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
        self.num_timesteps = int(num_timesteps)
        self.schedule = schedule
        self.prediction: Prediction = prediction
        self.betas = noise_schedule(schedule, self.num_timesteps)
        self.alpha_bar = np.cumprod(1.0 - self.betas)
        self._alpha = torch.from_numpy(np.sqrt(self.alpha_bar))
        self._sigma = torch.from_numpy(np.sqrt(1.0 - self.alpha_bar))

    def __repr__(self) -> str:
        return (
            f"GaussianDiffusion(num_timesteps={self.num_timesteps}, "
            f"schedule={self.schedule!r}, prediction={self.prediction!r})"
        )

    def config(self) -> dict[str, Any]:
        """The constructor arguments, for saving beside a model."""
        return {
            "num_timesteps": self.num_timesteps,
            "schedule": self.schedule,
            "prediction": self.prediction,
        }

    # ------------------------------------------------------------------ schedule lookups

    def alpha_sigma(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Schedule values :math:`(\\alpha_t, \\sigma_t)` at integer timesteps ``t`` ``(B,)``.

        Float32, on the device of ``t``.
        """
        if t.ndim != 1:
            raise ValueError(f"timesteps must be a 1-d tensor, got shape {tuple(t.shape)}")
        index = t.detach().long().cpu()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.num_timesteps):
            raise ValueError(f"timesteps must lie in [0, {self.num_timesteps})")
        alpha = self._alpha[index].to(device=t.device, dtype=torch.float32)
        sigma = self._sigma[index].to(device=t.device, dtype=torch.float32)
        return alpha, sigma

    def sample_timesteps(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Uniform integer timesteps ``(batch_size,)`` in ``[0, T)``."""
        device = generator.device if generator is not None else device
        return torch.randint(
            0, self.num_timesteps, (batch_size,), generator=generator, device=device
        )

    # ------------------------------------------------------------------ forward process

    def q_sample(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw :math:`x_t \\sim q(x_t \\mid x_0) = N(\\alpha_t x_0, \\sigma_t^2 I)`.

        Parameters
        ----------
        x0
            Clean batch ``(B, ...)``.
        t
            Integer timesteps ``(B,)``.
        noise
            Standard normal noise shaped like ``x0``; drawn when omitted.
        """
        if t.shape != (x0.shape[0],):
            raise ValueError(f"t has shape {tuple(t.shape)}; expected ({x0.shape[0]},)")
        if noise is None:
            noise = torch.randn_like(x0)
        if noise.shape != x0.shape:
            raise ValueError(f"noise shape {tuple(noise.shape)} != x0 shape {tuple(x0.shape)}")
        alpha, sigma = self.alpha_sigma(t.to(x0.device))
        return _broadcast(alpha, x0) * x0 + _broadcast(sigma, x0) * noise

    def target(
        self, x0: torch.Tensor, noise: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor
    ) -> torch.Tensor:
        """The regression target of the network for this process's ``prediction``."""
        if self.prediction == "epsilon":
            return noise
        if self.prediction == "x0":
            return x0
        return _broadcast(alpha, x0) * noise - _broadcast(sigma, x0) * x0

    # ------------------------------------------------------------------ training

    def training_losses(
        self,
        net: Denoiser,
        x0: torch.Tensor,
        t: torch.Tensor,
        *,
        cond: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
        condition_dropout: float = 0.0,
        feature_weights: torch.Tensor | None = None,
        self_condition: bool = False,
        generator: torch.Generator | None = None,
    ) -> dict[str, Any]:
        """Noise ``x0`` to level ``t``, run ``net`` and compute the denoising loss.

        Parameters
        ----------
        net
            The denoiser (see the module docstring for its contract).
        x0
            Clean batch ``(B, ...)``, float.
        t
            Integer timesteps ``(B,)``.
        cond
            Class indices ``(B,)`` (long) or ``None`` for an unconditional model.
        noise
            The noise to use (drawn when omitted).
        condition_dropout
            Probability of replacing each sample's condition by :data:`NULL_CONDITION`, so
            that one network learns both branches of classifier-free guidance.
        feature_weights
            Optional weights shaped like one sample (``x0.shape[1:]``); the per-sample loss
            is the weighted mean squared error. A weight of 0 leaves a feature to a
            model-specific loss (the presence channel of the microbiome model, say).
        self_condition
            Self-conditioning (Chen et al. 2023, *Analog bits*): for a random half of the
            batch the network first predicts :math:`\\hat x_0` without gradient and then
            sees it as ``inputs["x0_self"]``; the other half sees zeros. The network must
            accept that input (sample with ``self_condition=True`` too).
        generator
            Random source for the noise and the condition dropout.

        Returns
        -------
        dict
            ``"loss"`` ``(B,)`` the per-sample weighted mean squared error;
            ``"x_t"``, ``"noise"``, ``"target"``, ``"prediction"`` and ``"pred_x0"`` shaped
            like ``x0``; ``"t"``, ``"alpha"``, ``"sigma"``; ``"cond"`` after dropout;
            ``"outputs"`` the network's dict of outputs (for model-specific losses).
        """
        if x0.ndim < 2:
            raise ValueError(f"x0 must be (batch, features...), got shape {tuple(x0.shape)}")
        batch = x0.shape[0]
        if t.shape != (batch,):
            raise ValueError(f"t has shape {tuple(t.shape)}; expected ({batch},)")
        if noise is None:
            noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        alpha, sigma = self.alpha_sigma(t.to(x0.device))
        x_t = _broadcast(alpha, x0) * x0 + _broadcast(sigma, x0) * noise
        inputs: dict[str, torch.Tensor] = {"x_t": x_t, "t": t, "alpha": alpha, "sigma": sigma}
        if cond is not None:
            if cond.shape != (batch,):
                raise ValueError(f"cond has shape {tuple(cond.shape)}; expected ({batch},)")
            cond = cond.long()
            if condition_dropout > 0:
                drop = torch.rand(batch, generator=generator, device=x0.device) < condition_dropout
                cond = torch.where(drop, torch.full_like(cond, NULL_CONDITION), cond)
            inputs["cond"] = cond
        if self_condition:
            inputs["x0_self"] = torch.zeros_like(x0)
            use = torch.rand(batch, generator=generator, device=x0.device) < 0.5
            if bool(use.any()):
                with torch.no_grad():
                    first = x0_from_prediction(
                        self.prediction, _prediction_of(net(inputs)), x_t, alpha, sigma
                    )
                inputs["x0_self"] = torch.where(_broadcast(use, x0), first, inputs["x0_self"])
        outputs = net(inputs)
        prediction = _prediction_of(outputs)
        if prediction.shape != x0.shape:
            raise ValueError(
                f"denoiser output shape {tuple(prediction.shape)} != x0 shape {tuple(x0.shape)}"
            )
        target = self.target(x0, noise, alpha, sigma)
        squared = (prediction - target) ** 2
        if feature_weights is not None:
            if feature_weights.shape != x0.shape[1:]:
                raise ValueError(
                    f"feature_weights shape {tuple(feature_weights.shape)} != one sample's "
                    f"shape {tuple(x0.shape[1:])}"
                )
            weights = feature_weights.to(squared)
            loss = (squared * weights).flatten(1).sum(1) / weights.sum().clamp_min(1e-12)
        else:
            loss = squared.flatten(1).mean(1)
        return {
            "loss": loss,
            "x_t": x_t,
            "noise": noise,
            "target": target,
            "prediction": prediction,
            "pred_x0": x0_from_prediction(self.prediction, prediction, x_t, alpha, sigma),
            "t": t,
            "alpha": alpha,
            "sigma": sigma,
            "cond": cond,
            "outputs": {} if isinstance(outputs, torch.Tensor) else dict(outputs),
        }

    # ------------------------------------------------------------------ sampling

    def _guided_x0(
        self,
        net: Denoiser,
        x_t: torch.Tensor,
        t: torch.Tensor,
        cond: torch.Tensor | None,
        guidance_scale: float,
        x0_self: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """:math:`\\hat x_0` at ``t``, with classifier-free guidance for a conditional model.

        Guidance combines :math:`\\hat x_0` of the conditional and unconditional branches,
        which is the same as combining their noise predictions (both are affine in the
        network output at a fixed :math:`x_t`).
        """
        alpha, sigma = self.alpha_sigma(t)
        inputs = {"x_t": x_t, "t": t, "alpha": alpha, "sigma": sigma}
        if x0_self is not None:
            inputs["x0_self"] = x0_self
        if cond is None:
            return self._x0_of(net(inputs), x_t, alpha, sigma)
        if guidance_scale == 1.0:
            return self._x0_of(net({**inputs, "cond": cond}), x_t, alpha, sigma)
        # one pass over [conditional; unconditional]: x0_u + s * (x0_c - x0_u)
        doubled = {key: torch.cat([value, value]) for key, value in inputs.items()}
        doubled["cond"] = torch.cat([cond, torch.full_like(cond, NULL_CONDITION)])
        both = self._x0_of(net(doubled), doubled["x_t"], doubled["alpha"], doubled["sigma"])
        conditional, unconditional = both.chunk(2)
        return unconditional + guidance_scale * (conditional - unconditional)

    def _x0_of(
        self,
        outputs: torch.Tensor | Mapping[str, torch.Tensor],
        x_t: torch.Tensor,
        alpha: torch.Tensor,
        sigma: torch.Tensor,
    ) -> torch.Tensor:
        """The network's :math:`\\hat x_0` (its ``"x0"`` output when it gives one)."""
        if not isinstance(outputs, torch.Tensor) and "x0" in outputs:
            x0 = outputs["x0"]
        else:
            x0 = x0_from_prediction(self.prediction, _prediction_of(outputs), x_t, alpha, sigma)
        if x0.shape != x_t.shape:
            raise ValueError(
                f"denoiser output shape {tuple(x0.shape)} != sample shape {tuple(x_t.shape)}"
            )
        return x0

    def timestep_sequence(self, steps: int) -> np.ndarray:
        """``steps`` evenly spaced timesteps from :math:`T - 1` down to 0 (DDIM's respacing)."""
        steps = int(min(max(steps, 1), self.num_timesteps))
        sequence = np.unique(np.round(np.linspace(0, self.num_timesteps - 1, steps)).astype(int))
        return sequence[::-1].copy()

    @torch.no_grad()
    def sample(
        self,
        net: Denoiser,
        shape: tuple[int, ...],
        *,
        cond: torch.Tensor | None = None,
        guidance_scale: float = 1.0,
        steps: int = 50,
        method: Literal["ddim", "ddpm"] = "ddim",
        eta: float | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        denoised_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        self_condition: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> torch.Tensor:
        """Generate a batch by running the reverse process from pure noise.

        Parameters
        ----------
        net
            The (EMA) denoiser, in eval mode.
        shape
            ``(B, *feature_shape)`` of the batch.
        cond
            Class indices ``(B,)`` for a conditional model, ``None`` otherwise.
        guidance_scale
            Classifier-free guidance :math:`s`: the prediction is
            :math:`\\hat\\varepsilon_u + s(\\hat\\varepsilon_c - \\hat\\varepsilon_u)`. ``1``
            (default) is the plain conditional model, ``0`` the unconditional one, larger
            values push samples towards the class (at some cost in diversity).
        steps
            Number of denoising steps, evenly spaced over the :math:`T` training levels
            (tens are enough for DDIM).
        method
            ``"ddim"`` (Song et al. 2021; deterministic with ``eta=0``) or ``"ddpm"``
            (ancestral sampling with the posterior variance :math:`\\tilde\\beta_t`, which is
            DDIM with ``eta=1`` on the respaced schedule; use ``steps=T`` for the original).
        eta
            DDIM stochasticity; defaults to 0 for ``"ddim"`` and 1 for ``"ddpm"``.
        generator
            Random source (seeded runs).
        device
            Where to sample; defaults to the generator's device.
        denoised_fn
            Applied to every :math:`\\hat x_0` before the step (clipping to the data range).
        self_condition
            Feed each step's :math:`\\hat x_0` to the next (for networks trained with
            self-conditioning).
        progress
            Called with the number of steps done after each step.

        Returns
        -------
        torch.Tensor
            The final :math:`\\hat x_0` of shape ``shape``.
        """
        if method not in ("ddim", "ddpm"):
            raise ValueError(f"unknown sampler {method!r}; expected 'ddim' or 'ddpm'")
        eta = (0.0 if method == "ddim" else 1.0) if eta is None else float(eta)
        if device is None:
            device = generator.device if generator is not None else "cpu"
        if cond is not None and cond.shape != (shape[0],):
            raise ValueError(f"cond has shape {tuple(cond.shape)}; expected ({shape[0]},)")
        if cond is not None:
            cond = cond.to(device).long()
        x = torch.randn(shape, generator=generator, device=device)
        sequence = self.timestep_sequence(steps)
        x0_hat = x
        for i, step in enumerate(sequence):
            t = torch.full((shape[0],), int(step), device=device, dtype=torch.long)
            previous = None
            if self_condition:  # zeros at the first step, then the last estimate
                previous = x0_hat if i else torch.zeros_like(x)
            x0_hat = self._guided_x0(net, x, t, cond, guidance_scale, previous)
            if denoised_fn is not None:
                x0_hat = denoised_fn(x0_hat)
            if i == len(sequence) - 1:
                break
            a_t = float(self.alpha_bar[step])
            a_prev = float(self.alpha_bar[sequence[i + 1]])
            eps_hat = (x - math.sqrt(a_t) * x0_hat) / math.sqrt(1.0 - a_t)
            noise_sd = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))
            x = (
                math.sqrt(a_prev) * x0_hat
                + math.sqrt(max(1.0 - a_prev - noise_sd**2, 0.0)) * eps_hat
            )
            if noise_sd > 0:
                x = x + noise_sd * torch.randn(shape, generator=generator, device=device)
            if progress is not None:
                progress(i + 1)
        if progress is not None:
            progress(len(sequence))
        return x0_hat
