"""Pure-torch denoising networks for the diffusion process.

Every network here takes the dict of tensors described in :mod:`synthomics.diffusion.process`
(``x_t``, ``t``, ``alpha``, ``sigma`` and optionally ``cond``) and sees no AnnData, pandas
or Lightning. The pieces:

:func:`timestep_embedding`
    Sinusoidal features of the integer timestep (as in improved-diffusion).
:class:`ConditionEmbedding`
    A table of class embeddings plus one "null" row for classifier-free guidance.
:class:`ResidualMLP`
    Pre-norm residual blocks whose activations are modulated (FiLM: a per-channel scale and
    shift) by the timestep and condition embedding; the last layer of each block starts at
    zero so that every block starts as the identity.
:class:`FeatureEmbeddingLinear` / :class:`FeatureEmbeddingReadout`
    Input and output layers whose per-feature weight vectors are predicted from a fixed
    feature embedding (Romero et al. 2017, *Diet Networks: thin parameters for fat
    genomics*): :math:`W_j = P^\\top e_j + W^{\\mathrm{free}}_j`. Features with nearby
    embeddings (related taxa, nearby variants) then share statistical strength; the free
    part keeps what is specific to each feature.
:class:`MLPDenoiser`
    A complete generic denoiser over flat feature vectors (input layer, residual trunk,
    zero-initialised output layer), the default for the microbiome latent.
:class:`WindowDenoiser`
    A denoiser of a latent made of consecutive windows of columns (the windowed PCA of
    genotypes): one token per window, mixed with its neighbours by a convolution along the
    windows and with all windows through their mean; cost linear in the number of windows.

A transformer over feature tokens is deliberately not provided: with hundreds of taxa its
cost grows with the square of the number of taxa, and on the CPU budget this package targets
the MLP with embedding-factorised input and output layers is the practical choice.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from synthomics.diffusion.process import NULL_CONDITION

__all__ = [
    "ConditionEmbedding",
    "FeatureEmbeddingLinear",
    "FeatureEmbeddingReadout",
    "MLPDenoiser",
    "NoiseLevelEmbedding",
    "ResidualBlock",
    "ResidualMLP",
    "WindowDenoiser",
    "table_rows",
    "timestep_embedding",
]


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding ``(B, dim)`` of timesteps ``t`` ``(B,)`` (Vaswani et al. 2017).

    Half the channels are cosines and half sines of ``t`` at geometrically spaced
    frequencies from 1 to ``1 / max_period``, as in improved-diffusion's ``timestep_embedding``.
    """
    if t.ndim != 1:
        raise ValueError(f"t must be 1-d, got shape {tuple(t.shape)}")
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.float()[:, None] * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


def table_rows(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` as a one-hot product, so that training is reproducible on many threads.

    The gradient of an indexed lookup sums the rows that a batch repeats (every sample of a
    class) in an order that changes from run to run on several CPU threads; the product's
    gradient is a matrix product, summed in a fixed order. Meant for small tables (condition
    levels).
    """
    one_hot = nn.functional.one_hot(index, table.shape[0]).to(table.dtype)
    return one_hot @ table


class ConditionEmbedding(nn.Module):
    """Embeddings of ``n_classes`` categories plus a learned null embedding.

    Class index :data:`~synthomics.diffusion.process.NULL_CONDITION` (or any negative index)
    maps to the null row, the unconditional branch of classifier-free guidance.
    """

    def __init__(self, n_classes: int, dim: int) -> None:
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"n_classes must be at least 1, got {n_classes}")
        self.n_classes = n_classes
        self.table = nn.Embedding(n_classes + 1, dim)
        nn.init.normal_(self.table.weight, std=0.02)

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        if cond.ndim != 1:
            raise ValueError(f"cond must be 1-d class indices, got shape {tuple(cond.shape)}")
        if cond.numel() and int(cond.max()) >= self.n_classes:
            raise ValueError(f"class index {int(cond.max())} >= n_classes={self.n_classes}")
        index = torch.where(cond < 0, torch.full_like(cond, self.n_classes), cond)
        return table_rows(self.table.weight, index)


class NoiseLevelEmbedding(nn.Module):
    """Timestep plus (optionally) condition embedding, the input of every FiLM layer.

    Parameters
    ----------
    dim
        Width of the embedding.
    n_classes
        Number of condition categories; 0 for an unconditional model (a ``cond`` entry in
        the inputs is then ignored).
    """

    def __init__(self, dim: int, n_classes: int = 0) -> None:
        super().__init__()
        self.dim = dim
        self.time_mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.condition = ConditionEmbedding(n_classes, dim) if n_classes > 0 else None

    def forward(self, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        embedding = self.time_mlp(timestep_embedding(t, self.dim))
        if self.condition is not None:
            if cond is None:
                cond = torch.full_like(t, NULL_CONDITION, dtype=torch.long)
            embedding = embedding + self.condition(cond)
        return embedding


class ResidualBlock(nn.Module):
    """``h + Linear(Dropout(SiLU(Linear(FiLM(LayerNorm(h), emb)))))``, starting as the identity."""

    def __init__(self, dim: int, emb_dim: int, expansion: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.film = nn.Linear(emb_dim, 2 * dim)
        self.inner = nn.Linear(dim, expansion * dim)
        self.dropout = nn.Dropout(dropout)
        self.outer = nn.Linear(expansion * dim, dim)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        nn.init.zeros_(self.outer.weight)
        nn.init.zeros_(self.outer.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(nn.functional.silu(emb)).chunk(2, dim=-1)
        z = self.norm(h) * (1 + scale) + shift
        z = self.outer(self.dropout(nn.functional.silu(self.inner(z))))
        return h + z


class ResidualMLP(nn.Module):
    """A stack of :class:`ResidualBlock` s followed by a final LayerNorm."""

    def __init__(
        self, dim: int, emb_dim: int, n_blocks: int, expansion: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResidualBlock(dim, emb_dim, expansion, dropout) for _ in range(n_blocks)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, emb)
        return self.norm(h)


class FeatureEmbeddingLinear(nn.Module):
    """Input layer ``(B, C, F) -> (B, D)`` whose per-feature weights come from embeddings.

    :math:`h = b + \\sum_{c, j} x_{cj} W_{cj}` with
    :math:`W_{cj} = P_c^\\top e_j + W^{\\mathrm{free}}_{cj}`, where :math:`e_j` is row ``j``
    of ``embedding`` (fixed, e.g. the tangent-space image of a Poincaré embedding, or learned
    when ``learn_embedding``) and :math:`P_c` a learned projection per input channel.
    With ``embedding=None`` it is an ordinary linear layer over the flattened input.

    Parameters
    ----------
    n_features
        :math:`F`, e.g. the number of taxa.
    n_channels
        :math:`C`, values per feature (e.g. presence and abundance).
    dim
        Output width :math:`D`.
    embedding
        ``(F, K)`` feature embedding or ``None``.
    learn_embedding
        Make the embedding a trainable parameter (otherwise a buffer).
    """

    def __init__(
        self,
        n_features: int,
        n_channels: int,
        dim: int,
        embedding: torch.Tensor | None = None,
        learn_embedding: bool = False,
    ) -> None:
        super().__init__()
        self.n_features, self.n_channels, self.dim = n_features, n_channels, dim
        fan_in = n_features * n_channels
        self.free = nn.Parameter(torch.randn(n_channels, n_features, dim) / math.sqrt(fan_in))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.projection: nn.Parameter | None = None
        if embedding is not None:
            _register_embedding(self, embedding, n_features, learn_embedding)
            k = embedding.shape[1]
            self.projection = nn.Parameter(torch.randn(n_channels, k, dim) / math.sqrt(fan_in * k))

    def weight(self) -> torch.Tensor:
        """The effective ``(C, F, D)`` weight."""
        if self.projection is None:
            return self.free
        shared = torch.einsum("fk,ckd->cfd", self.embedding, self.projection)
        return shared + self.free

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (self.n_channels, self.n_features):
            raise ValueError(
                f"input shape {tuple(x.shape)}; expected (B, {self.n_channels}, {self.n_features})"
            )
        return torch.einsum("bcf,cfd->bd", x, self.weight()) + self.bias


class FeatureEmbeddingReadout(nn.Module):
    """Output layer ``(B, D) -> (B, C, F)``, the transpose of :class:`FeatureEmbeddingLinear`.

    ``out[b, c, j] = h_b . (P_c^T e_j + W^free_cj) + bias_cj``. Weights start at zero
    (so a fresh network outputs its bias, as improved-diffusion zero-initialises its last
    layer); ``bias`` may be given, e.g. logit prevalences for presence logits.
    """

    def __init__(
        self,
        dim: int,
        n_features: int,
        n_channels: int,
        embedding: torch.Tensor | None = None,
        learn_embedding: bool = False,
        bias: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.n_features, self.n_channels, self.dim = n_features, n_channels, dim
        self.free = nn.Parameter(torch.zeros(n_channels, n_features, dim))
        if bias is None:
            bias = torch.zeros(n_channels, n_features)
        if bias.shape != (n_channels, n_features):
            raise ValueError(
                f"bias shape {tuple(bias.shape)}; expected ({n_channels}, {n_features})"
            )
        self.bias = nn.Parameter(bias.detach().clone().float())
        self.projection: nn.Parameter | None = None
        if embedding is not None:
            _register_embedding(self, embedding, n_features, learn_embedding)
            self.projection = nn.Parameter(torch.zeros(n_channels, embedding.shape[1], dim))

    def weight(self) -> torch.Tensor:
        """The effective ``(C, F, D)`` weight."""
        if self.projection is None:
            return self.free
        return torch.einsum("fk,ckd->cfd", self.embedding, self.projection) + self.free

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.ndim != 2 or h.shape[1] != self.dim:
            raise ValueError(f"input shape {tuple(h.shape)}; expected (B, {self.dim})")
        return torch.einsum("bd,cfd->bcf", h, self.weight()) + self.bias


def _register_embedding(
    module: nn.Module, embedding: torch.Tensor, n_features: int, learn: bool
) -> None:
    if embedding.ndim != 2 or embedding.shape[0] != n_features:
        raise ValueError(f"embedding shape {tuple(embedding.shape)}; expected ({n_features}, K)")
    embedding = embedding.detach().clone().float()
    if learn:
        module.embedding = nn.Parameter(embedding)
    else:
        module.register_buffer("embedding", embedding)


class MLPDenoiser(nn.Module):
    """Generic residual-MLP denoiser over flat feature vectors ``(B, F)``.

    Parameters
    ----------
    n_features
        Width of a sample.
    dim
        Hidden width.
    n_blocks
        Number of residual blocks.
    n_classes
        Condition categories (0: unconditional).
    expansion, dropout
        Of each residual block.
    feature_embedding
        Optional ``(F, K)`` embedding for a :class:`FeatureEmbeddingLinear` input layer and a
        :class:`FeatureEmbeddingReadout` output layer.
    self_conditioning
        Also take the previous :math:`\\hat x_0` (``inputs["x0_self"]``) as input.
    """

    def __init__(
        self,
        n_features: int,
        dim: int = 256,
        n_blocks: int = 3,
        n_classes: int = 0,
        expansion: int = 2,
        dropout: float = 0.0,
        feature_embedding: torch.Tensor | None = None,
        self_conditioning: bool = False,
    ) -> None:
        super().__init__()
        self.n_features = n_features
        self.self_conditioning = self_conditioning
        self.embed = NoiseLevelEmbedding(dim, n_classes)
        channels = 2 if self_conditioning else 1
        self.input = FeatureEmbeddingLinear(n_features, channels, dim, feature_embedding)
        self.trunk = ResidualMLP(dim, dim, n_blocks, expansion, dropout)
        self.readout = FeatureEmbeddingReadout(dim, n_features, 1, feature_embedding)

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x_t = inputs["x_t"]
        if x_t.ndim != 2 or x_t.shape[1] != self.n_features:
            raise ValueError(f"x_t shape {tuple(x_t.shape)}; expected (B, {self.n_features})")
        emb = self.embed(inputs["t"], inputs.get("cond"))
        features = x_t[:, None, :]
        if self.self_conditioning:
            previous = inputs.get("x0_self", torch.zeros_like(x_t))
            features = torch.stack([x_t, previous], dim=1)
        h = self.trunk(self.input(features), emb)
        return {"prediction": self.readout(h)[:, 0, :]}


class WindowBlock(nn.Module):
    """Residual block over window tokens ``(B, W, D)``: FiLM-modulated LayerNorm, then a
    convolution along the windows plus a projection of the mean token, SiLU, and a
    zero-initialised pointwise output (the block starts as the identity)."""

    def __init__(
        self, dim: int, emb_dim: int, kernel: int, expansion: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.film = nn.Linear(emb_dim, 2 * dim)
        self.local = nn.Conv1d(dim, expansion * dim, kernel, padding=kernel // 2)
        self.pooled = nn.Linear(dim, expansion * dim)
        self.dropout = nn.Dropout(dropout)
        self.outer = nn.Conv1d(expansion * dim, dim, 1)
        for layer in (self.film, self.outer):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(nn.functional.silu(emb)).chunk(2, dim=-1)
        z = self.norm(h) * (1 + scale[:, None]) + shift[:, None]
        mixed = self.local(z.transpose(1, 2)) + self.pooled(z.mean(dim=1))[:, :, None]
        return h + self.outer(self.dropout(nn.functional.silu(mixed))).transpose(1, 2)


class WindowDenoiser(nn.Module):
    """Denoiser of a latent made of consecutive windows of columns.

    Window ``i`` owns columns ``offsets[i]:offsets[i + 1]`` (a windowed PCA: the scores of
    one stretch of variants). Each window becomes one token through its own linear map
    (columns zero-padded to the widest window); :class:`WindowBlock` s mix each token with
    its neighbours (a convolution of width ``kernel`` along the windows: linkage
    disequilibrium) and with all tokens through their mean (ancestry); each token is read
    out by its own zero-initialised linear map onto its window's columns. Time and memory
    grow linearly with the number of windows.

    Parameters
    ----------
    n_features
        Width of a sample (``offsets[-1]``).
    offsets
        First column of each window, and ``n_features``.
    dim, n_blocks, kernel, expansion, dropout
        Token width, number of blocks, convolution width (odd), inner width multiple and
        dropout of each block.
    n_classes
        Condition categories (0: unconditional).
    self_conditioning
        Also take the previous :math:`\\hat x_0` (``inputs["x0_self"]``) as input.

    Examples
    --------
    >>> net = WindowDenoiser(7, [0, 3, 7], dim=8, n_blocks=1)
    >>> out = net({"x_t": torch.zeros(2, 7), "t": torch.zeros(2, dtype=torch.long)})
    >>> tuple(out["prediction"].shape)
    (2, 7)
    """

    def __init__(
        self,
        n_features: int,
        offsets: list[int],
        dim: int = 64,
        n_blocks: int = 3,
        n_classes: int = 0,
        kernel: int = 3,
        expansion: int = 1,
        dropout: float = 0.0,
        self_conditioning: bool = False,
    ) -> None:
        super().__init__()
        offsets = [int(o) for o in offsets]
        widths = [b - a for a, b in itertools.pairwise(offsets)]
        if offsets[0] != 0 or offsets[-1] != n_features or min(widths, default=0) < 1:
            raise ValueError(
                f"offsets must rise from 0 to n_features={n_features}, got {offsets[:3]}..."
            )
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be a positive odd number, got {kernel}")
        self.n_features = n_features
        self.self_conditioning = self_conditioning
        n_windows, widest = len(widths), max(widths)
        index = torch.zeros(n_windows, widest, dtype=torch.long)
        present = torch.zeros(n_windows, widest, dtype=torch.bool)
        for i, (start, width) in enumerate(zip(offsets[:-1], widths, strict=True)):
            index[i, :width] = torch.arange(start, start + width)
            present[i, :width] = True
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("present", present, persistent=False)
        self.register_buffer("columns", index[present], persistent=False)
        channels = 2 if self_conditioning else 1
        self.embed = NoiseLevelEmbedding(dim, n_classes)
        fan_in = channels * widest
        self.input_weight = nn.Parameter(torch.randn(n_windows, fan_in, dim) / math.sqrt(fan_in))
        self.input_bias = nn.Parameter(torch.randn(n_windows, dim) * 0.02)  # window position
        self.blocks = nn.ModuleList(
            WindowBlock(dim, dim, kernel, expansion, dropout) for _ in range(n_blocks)
        )
        self.norm = nn.LayerNorm(dim)
        self.output_weight = nn.Parameter(torch.zeros(n_windows, dim, widest))
        self.output_bias = nn.Parameter(torch.zeros(n_windows, widest))

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, W, widest)`` columns of each window, zero where a window is narrower."""
        return x[:, self.index] * self.present

    def forward(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x_t = inputs["x_t"]
        if x_t.ndim != 2 or x_t.shape[1] != self.n_features:
            raise ValueError(f"x_t shape {tuple(x_t.shape)}; expected (B, {self.n_features})")
        emb = self.embed(inputs["t"], inputs.get("cond"))
        tokens = self._tokens(x_t)
        if self.self_conditioning:
            previous = inputs.get("x0_self", torch.zeros_like(x_t))
            tokens = torch.cat([tokens, self._tokens(previous)], dim=-1)
        h = torch.einsum("bwk,wkd->bwd", tokens, self.input_weight) + self.input_bias
        for block in self.blocks:
            h = block(h, emb)
        out = torch.einsum("bwd,wdk->bwk", self.norm(h), self.output_weight) + self.output_bias
        prediction = x_t.new_zeros(x_t.shape)
        prediction[:, self.columns] = out[:, self.present]
        return {"prediction": prediction}
