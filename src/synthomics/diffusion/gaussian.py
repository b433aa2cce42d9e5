"""The exact denoiser of a Gaussian: a correlated base for diffusion denoisers.

For data :math:`x_0 \\sim N(\\mu, \\Sigma)` noised as :math:`x_t = \\alpha_t x_0 +
\\sigma_t \\varepsilon`, the posterior mean is linear and known in closed form,

.. math::
    E[x_0 \\mid x_t] = \\mu + \\alpha_t \\Sigma (\\alpha_t^2 \\Sigma + \\sigma_t^2 I)^{-1}
    (x_t - \\alpha_t \\mu),

and a sampler driven by it draws exactly from :math:`N(\\mu, \\Sigma)` (up to the
discretisation of the sampler). :class:`GaussianDenoiser` holds a covariance fitted to the
training data as probabilistic PCA (Tipping and Bishop 1999): the leading ``rank``
principal directions keep their variances and the rest share the mean of the remaining
variance, which both shrinks the covariance of a few hundred samples and makes the
denoiser cost :math:`O(F r)` per sample instead of :math:`O(F^2)`.

It follows the denoiser contract of :mod:`synthomics.diffusion.process` (it can sample on
its own, the check that it is exact) and gives a network the dependence between features
that a Gaussian copula has, before any training: see
:class:`~synthomics.microbiome_diffusion.module.MicrobiomeDenoiser` (``gaussian_base``).

Examples
--------
>>> import torch
>>> x = torch.randn(200, 6) @ torch.randn(6, 6)
>>> base = GaussianDenoiser.fit(x, rank=3)
>>> x_t = torch.randn(4, 6)
>>> base.posterior_mean(x_t, torch.full((4,), 0.5), torch.full((4,), 0.75 ** 0.5)).shape
torch.Size([4, 6])
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synthomics.diffusion.process import PREDICTIONS, Prediction, prediction_from_x0

__all__ = ["GaussianDenoiser"]


class GaussianDenoiser(nn.Module):
    """Exact denoiser of :math:`N(\\mu, U \\Lambda U^\\top + s^2 (I - U U^\\top))`.

    Parameters
    ----------
    mean
        :math:`\\mu`, shaped like one sample (``feature_shape``).
    components
        ``(F, r)`` orthonormal principal directions :math:`U` over the flattened sample.
    variances
        ``(r,)`` their variances :math:`\\Lambda`.
    residual
        :math:`s^2`, the variance of every direction outside :math:`U`.
    prediction
        The parameterisation :meth:`forward` returns (``"v"``, ``"epsilon"`` or ``"x0"``).

    The arrays are buffers, saved with the state dict of a module that holds this one.
    """

    def __init__(
        self,
        mean: torch.Tensor,
        components: torch.Tensor,
        variances: torch.Tensor,
        residual: float,
        prediction: Prediction = "v",
    ) -> None:
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction {prediction!r}; expected one of {PREDICTIONS}")
        mean = torch.as_tensor(mean).float()
        components = torch.as_tensor(components).float()
        variances = torch.as_tensor(variances).float()
        if components.ndim != 2 or components.shape[0] != mean.numel():
            raise ValueError(
                f"components shape {tuple(components.shape)}; expected ({mean.numel()}, r)"
            )
        if variances.shape != (components.shape[1],):
            raise ValueError(f"{variances.numel()} variances for {components.shape[1]} components")
        self.feature_shape = tuple(mean.shape)
        self.prediction: Prediction = prediction
        self.register_buffer("mean", mean.reshape(-1))
        self.register_buffer("components", components)
        self.register_buffer("variances", variances)
        self.register_buffer("residual", torch.tensor(float(residual)))

    @classmethod
    def fit(
        cls, x: torch.Tensor | np.ndarray, rank: int = 64, prediction: Prediction = "v"
    ) -> GaussianDenoiser:
        """Probabilistic PCA of the samples ``x`` ``(n, *feature_shape)``.

        ``rank`` is capped at ``n - 1`` and at the number of features minus one; the
        residual variance is the mean of the variances left out (at least 1e-6).
        """
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        if x.ndim < 2 or len(x) < 2:
            raise ValueError(f"need at least two samples, got shape {tuple(x.shape)}")
        flat = x.reshape(len(x), -1)
        n, features = flat.shape
        rank = max(min(int(rank), n - 1, features - 1), 0)
        mean = flat.mean(dim=0)
        centred = (flat - mean) / np.sqrt(n - 1)
        _, singular, vectors = torch.linalg.svd(centred, full_matrices=False)
        eigen = singular**2
        total = float((centred**2).sum())
        residual = max((total - float(eigen[:rank].sum())) / (features - rank), 1e-6)
        variances = torch.clamp(eigen[:rank], min=residual)
        return cls(mean.reshape(x.shape[1:]), vectors[:rank].T, variances, residual, prediction)

    @classmethod
    def empty(
        cls, feature_shape: tuple[int, ...], rank: int, prediction: Prediction = "v"
    ) -> GaussianDenoiser:
        """A placeholder of the right shapes, to load a saved state dict into."""
        features = int(np.prod(feature_shape))
        return cls(
            torch.zeros(feature_shape),
            torch.zeros(features, rank),
            torch.ones(rank),
            1.0,
            prediction,
        )

    @property
    def rank(self) -> int:
        return int(self.components.shape[1])

    def covariance(self) -> torch.Tensor:
        """The full ``(F, F)`` covariance (for checks; the denoiser never forms it)."""
        u = self.components
        eye = torch.eye(u.shape[0], dtype=u.dtype)
        return u @ torch.diag(self.variances) @ u.T + self.residual * (eye - u @ u.T)

    def posterior_mean(
        self, x_t: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor
    ) -> torch.Tensor:
        """:math:`E[x_0 \\mid x_t]` for a batch ``(B, *feature_shape)`` at per-sample noise."""
        flat = x_t.reshape(len(x_t), -1)
        a, s2 = alpha[:, None], sigma[:, None] ** 2
        centred = flat - a * self.mean
        projected = centred @ self.components
        top = a * self.variances / (a * a * self.variances + s2)
        rest = a * self.residual / (a * a * self.residual + s2)
        out = self.mean + rest * (centred - projected @ self.components.T)
        out = out + (top * projected) @ self.components.T
        return out.reshape(x_t.shape)

    def cavity(
        self, x_t: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of each :math:`x_{0,i}` given the noisy values of all the others.

        The leave-one-out ("cavity") conditionals of the Gaussian, :math:`x_{0,i} \\mid
        x_{t,-i}`: what the rest of a sample says about feature ``i`` before its own noisy
        value is seen. With precision :math:`P` of :math:`x_t`, the variance is
        :math:`(1/P_{ii} - \\sigma_t^2)/\\alpha_t^2`; both are written here without the
        differences of large numbers that these forms have at low or high noise. Shapes
        ``(B, *feature_shape)``.
        """
        flat = x_t.reshape(len(x_t), -1)
        a, s2 = alpha[:, None], sigma[:, None] ** 2
        u2 = self.components**2
        outside = 1 - u2.sum(dim=1)
        lam, res = self.variances, self.residual
        g_top = 1 / (a * a * lam + s2)  # eigenvalues of the precision of x_t
        g_rest = 1 / (a * a * res + s2)
        q = g_top @ u2.T + g_rest * outside  # diagonal of the precision
        w = (lam * g_top) @ u2.T + res * g_rest * outside
        centred = flat - a * self.mean
        h = (res - lam) * g_top * g_rest
        projected = centred @ self.components
        shift = centred * (h @ u2.T) - (h * projected) @ self.components.T
        mean = self.mean + a * shift / q
        return mean.reshape(x_t.shape), (w / q).reshape(x_t.shape)

    def marginal_variance(self) -> torch.Tensor:
        """The variance of every feature ``(*feature_shape)``."""
        u2 = self.components**2
        var = u2 @ self.variances + self.residual * (1 - u2.sum(dim=1))
        return var.reshape(self.feature_shape)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The denoiser contract: ``{"prediction": ..., "x0": ...}``."""
        x_t, alpha, sigma = inputs["x_t"], inputs["alpha"], inputs["sigma"]
        x0 = self.posterior_mean(x_t, alpha, sigma)
        return {"prediction": prediction_from_x0(self.prediction, x0, x_t, alpha, sigma), "x0": x0}

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` exact draws of the Gaussian (for checks)."""
        u = self.components
        coefficients = torch.randn(n, self.rank, generator=generator) * self.variances.sqrt()
        noise = torch.randn(n, u.shape[0], generator=generator) * self.residual.sqrt()
        noise = noise - (noise @ u) @ u.T
        return (self.mean + coefficients @ u.T + noise).reshape(n, *self.feature_shape)
