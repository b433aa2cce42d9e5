"""Hyperbolic embeddings of a taxonomy or phylogeny in the Poincaré ball.

Nickel and Kiela (2017), *Poincaré embeddings for learning hierarchical representations*
(NeurIPS): every node of a hierarchy gets a point in the open unit ball
:math:`\\mathbb B^d = \\{x : \\lVert x \\rVert < 1\\}` with the distance

.. math::
    d(u, v) = \\operatorname{arcosh}\\Big(1 + 2 \\frac{\\lVert u - v \\rVert^2}
              {(1 - \\lVert u \\rVert^2)(1 - \\lVert v \\rVert^2)}\\Big),

fitted so that pairs in the transitive closure of the hierarchy (a taxon and each of its
ancestors) are closer than unrelated pairs: for each related pair :math:`(u, v)` the loss is
the softmax cross-entropy :math:`-\\log e^{-d(u,v)} / \\sum_{v' \\in N(u) \\cup \\{v\\}}
e^{-d(u,v')}` over :math:`K` sampled nodes :math:`N(u)` unrelated to :math:`u`. The points are
moved by Riemannian SGD: the Euclidean gradient is rescaled by the inverse of the Poincaré
metric, :math:`(1 - \\lVert\\theta\\rVert^2)^2 / 4`, and points that leave the ball are
projected back just inside it; the first epochs run at a tenth of the learning rate
("burn-in") to find a good angular layout.

The optimiser is written here (:class:`RiemannianSGD`, a dozen lines) because geoopt, the
usual library, is not a dependency of synthomics; it follows the paper exactly.

The denoiser uses the embedding of each taxon as the taxon's identity, through the
logarithmic map at the origin (:func:`log_map_origin`), which turns ball points into
Euclidean vectors whose direction is the branch of the tree and whose length grows with depth.

Examples
--------
>>> import numpy as np
>>> parent = np.array([-1, 0, 0, 1, 1, 2, 2])        # a binary tree of 7 nodes
>>> emb = fit_poincare(parent, dim=2, epochs=100, seed=0)
>>> bool((np.linalg.norm(emb.coordinates, axis=1) < 1).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from synthomics.container import RANKS
from synthomics.errors import InputError

__all__ = [
    "Hierarchy",
    "PoincareEmbedding",
    "RiemannianSGD",
    "fit_poincare",
    "hierarchy_from_taxonomy",
    "hierarchy_from_tree",
    "log_map_origin",
    "mean_rank",
    "poincare_distance",
    "project_to_ball",
    "transitive_closure",
]

BALL_EPS = 1e-5
"""Points are kept at norm at most ``1 - BALL_EPS``."""


# --------------------------------------------------------------------------- geometry


def poincare_distance(u: torch.Tensor, v: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Poincaré-ball distance between rows of ``u`` and ``v`` (broadcasting over leading dims)."""
    sq_u = (u * u).sum(-1).clamp(max=1 - eps)
    sq_v = (v * v).sum(-1).clamp(max=1 - eps)
    sq_diff = ((u - v) ** 2).sum(-1)
    x = 1 + 2 * sq_diff / ((1 - sq_u) * (1 - sq_v))
    # arcosh(x) = log(x + sqrt(x^2 - 1)); clamp keeps the gradient finite at u == v
    return torch.log(x + torch.sqrt((x * x - 1).clamp_min(eps)))


def project_to_ball(x: torch.Tensor, eps: float = BALL_EPS) -> torch.Tensor:
    """Rescale rows of norm at least ``1 - eps`` to norm ``1 - eps`` (in place, returned)."""
    norms = x.norm(dim=-1, keepdim=True)
    limit = 1 - eps
    x.mul_(torch.where(norms >= limit, limit / norms.clamp_min(1e-15), torch.ones_like(norms)))
    return x


def log_map_origin(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Logarithmic map at the origin, :math:`\\operatorname{artanh}(|x|)\\, x / |x|`.

    Maps ball points to the tangent space at 0 (Euclidean), keeping directions and turning
    the hyperbolic distance from the origin into the Euclidean length.
    """
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms_safe = np.clip(norms, 1e-15, 1 - BALL_EPS)
    return np.where(norms > 0, np.arctanh(norms_safe) * x / np.maximum(norms, 1e-15), 0.0)


class RiemannianSGD(torch.optim.Optimizer):
    """Riemannian SGD on the Poincaré ball (Nickel and Kiela 2017, eq. 5-6).

    :math:`\\theta \\leftarrow \\operatorname{proj}\\big(\\theta - \\eta
    \\tfrac{(1 - \\lVert\\theta\\rVert^2)^2}{4} \\nabla_E\\big)`, rows being points.

    Parameters
    ----------
    params
        Tensors of points ``(n, d)`` inside the ball.
    lr
        Learning rate :math:`\\eta`.
    """

    def __init__(self, params, lr: float = 0.3) -> None:
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                sq_norm = (p * p).sum(dim=-1, keepdim=True)
                p.add_(p.grad * (1 - sq_norm) ** 2 / 4, alpha=-group["lr"])
                project_to_ball(p)
        return loss


# --------------------------------------------------------------------------- hierarchies


@dataclass(frozen=True)
class Hierarchy:
    """A rooted forest: node names and the index of each node's parent (-1 for roots).

    ``features`` are the indices of the nodes that are the table's features, in the
    table's column order; the other nodes are internal (ranks or tree nodes).
    """

    names: tuple[str, ...]
    parent: np.ndarray
    features: np.ndarray

    def __post_init__(self) -> None:
        if self.parent.shape != (len(self.names),):
            raise ValueError("parent must have one entry per node")
        if len(self.names) and (self.parent.max() >= len(self.names) or self.parent.min() < -1):
            raise ValueError("parent indices out of range")

    @property
    def n_nodes(self) -> int:
        return len(self.names)


def transitive_closure(parent: np.ndarray) -> np.ndarray:
    """All (descendant, ancestor) pairs of a forest given by parent indices.

    Parameters
    ----------
    parent
        ``(n,)`` parent index of each node, -1 for roots.

    Returns
    -------
    numpy.ndarray
        ``(m, 2)`` int64 pairs; each node appears with every proper ancestor.

    Raises
    ------
    ValueError
        If the parent links contain a cycle.
    """
    parent = np.asarray(parent, dtype=np.int64)
    pairs: list[tuple[int, int]] = []
    n = len(parent)
    for node in range(n):
        ancestor, steps = parent[node], 0
        while ancestor >= 0:
            pairs.append((node, int(ancestor)))
            ancestor = parent[ancestor]
            steps += 1
            if steps > n:
                raise ValueError("the hierarchy has a cycle")
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def hierarchy_from_taxonomy(
    var: pd.DataFrame, ranks: Sequence[str] = RANKS, source: str | None = None
) -> Hierarchy:
    """The taxonomy tree of a microbiome ``var`` frame: features under their rank lineages.

    Internal nodes are the lineage prefixes (``"k__Bacteria"``,
    ``"k__Bacteria|p__Firmicutes"``, ...) built from the rank columns present (empty or
    missing ranks are skipped); each feature hangs under its deepest named rank, so two
    features with the same full lineage (two ASVs of one species) become siblings.

    Raises
    ------
    InputError
        If ``var`` has no rank column with any value.
    """
    present = [r for r in ranks if r in var.columns]
    if not present or var[present].isna().all().all():
        raise InputError(
            source, "no taxonomy to embed", expected=f"rank columns in var (some of {list(ranks)})"
        )
    names: list[str] = []
    index: dict[str, int] = {}
    parent: list[int] = []

    def node(name: str, parent_index: int) -> int:
        if name not in index:
            index[name] = len(names)
            names.append(name)
            parent.append(parent_index)
        return index[name]

    internal_parent: list[int] = []
    for _, row in var[present].iterrows():
        up, lineage = -1, ""
        for rank in present:
            value = row[rank]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            value = str(value).strip()
            if not value:
                continue
            lineage = f"{lineage}|{rank}:{value}" if lineage else f"{rank}:{value}"
            up = node(lineage, up)
        internal_parent.append(up)
    features = [
        node(f"feature:{fid}", up) for fid, up in zip(var.index, internal_parent, strict=True)
    ]
    return Hierarchy(tuple(names), np.asarray(parent, dtype=np.int64), np.asarray(features))


def hierarchy_from_tree(
    newick: str, feature_ids: Sequence[str], source: str | None = None
) -> Hierarchy:
    """The phylogeny (Newick text) as a hierarchy, pruned to the table's features.

    Uses :meth:`skbio.TreeNode.shear` to keep the tips named like features; internal nodes
    are the tree's remaining nodes.

    Raises
    ------
    InputError
        If a feature is not a tip of the tree.
    """
    from skbio import TreeNode

    tree = TreeNode.read([newick]) if isinstance(newick, str) else newick
    wanted = [str(f) for f in feature_ids]
    tips = {tip.name for tip in tree.tips()}
    missing = [f for f in wanted if f not in tips]
    if missing:
        raise InputError(
            source,
            f"{len(missing)} features are not tips of the tree, e.g. {missing[0]!r}",
            expected="a tree with one tip per feature (or use the taxonomy instead)",
        )
    tree = tree.shear(wanted)
    nodes = list(tree.preorder(include_self=True))
    position = {id(n): i for i, n in enumerate(nodes)}
    parent = np.array([position[id(n.parent)] if n.parent is not None else -1 for n in nodes])
    names = tuple(n.name if n.is_tip() else f"node:{i}" for i, n in enumerate(nodes))
    tip_index = {n.name: i for i, n in enumerate(nodes) if n.is_tip()}
    return Hierarchy(names, parent, np.array([tip_index[f] for f in wanted]))


# --------------------------------------------------------------------------- fitting


@dataclass(frozen=True)
class PoincareEmbedding:
    """Fitted ball coordinates ``(n_nodes, dim)`` of a hierarchy, and the final loss."""

    coordinates: np.ndarray
    loss: float

    def distance(self, i: np.ndarray | int, j: np.ndarray | int) -> np.ndarray:
        """Poincaré distances between nodes ``i`` and ``j`` (broadcasting)."""
        c = torch.from_numpy(self.coordinates)
        return poincare_distance(c[i], c[j]).numpy()


def fit_poincare(
    parent: np.ndarray,
    dim: int = 10,
    *,
    epochs: int = 200,
    negatives: int = 20,
    batch_size: int = 256,
    lr: float = 0.3,
    burn_in: int = 20,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> PoincareEmbedding:
    """Fit Poincaré embeddings of a forest (Nickel and Kiela 2017).

    Parameters
    ----------
    parent
        Parent index per node (-1 for roots), e.g. :attr:`Hierarchy.parent`.
    dim
        Dimension of the ball.
    epochs
        Passes over the (descendant, ancestor) pairs of the transitive closure.
    negatives
        Unrelated nodes drawn per pair; draws that happen to be related are masked out.
    batch_size
        Pairs per update.
    lr
        Riemannian SGD learning rate (the paper's burn-in uses ``lr / 10``).
    burn_in
        Epochs at ``lr / 10`` at the start.
    seed
        Seed of the initialisation (uniform in [-0.001, 0.001]), the shuffling and the
        negative draws.

    Returns
    -------
    PoincareEmbedding
        Coordinates of every node, all strictly inside the unit ball.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    closure = transitive_closure(parent)
    generator = torch.Generator().manual_seed(seed)
    points = (torch.rand(n, dim, generator=generator, dtype=torch.float64) - 0.5) * 0.002
    points = points.to(dtype)
    points = torch.nn.Parameter(points)
    if len(closure) == 0 or n < 3:
        return PoincareEmbedding(points.detach().numpy().copy(), float("nan"))
    # both directions are relations; a node is related to itself too
    keys = np.unique(
        np.concatenate(
            [
                closure[:, 0] * n + closure[:, 1],
                closure[:, 1] * n + closure[:, 0],
                np.arange(n) * (n + 1),
            ]
        )
    )
    keys_t = torch.from_numpy(keys)
    pairs = torch.from_numpy(closure)
    optimiser = RiemannianSGD([points], lr=lr)
    # on several threads the gradients of rows indexed more than once are summed in an
    # order that changes from run to run, so one thread keeps the fit reproducible
    with _one_thread():
        loss_value = float("nan")
        for epoch in range(epochs):
            for group in optimiser.param_groups:
                group["lr"] = lr / 10 if epoch < burn_in else lr
            order = torch.randperm(len(pairs), generator=generator)
            total, count = 0.0, 0
            for start in range(0, len(pairs), batch_size):
                batch = pairs[order[start : start + batch_size]]
                u, v = batch[:, 0], batch[:, 1]
                sampled = torch.randint(0, n, (len(batch), negatives), generator=generator)
                candidates = torch.cat([v[:, None], sampled], dim=1)
                candidate_keys = u[:, None] * n + candidates
                found = torch.searchsorted(keys_t, candidate_keys).clamp(max=len(keys_t) - 1)
                related = keys_t[found] == candidate_keys
                related[:, 0] = False  # the positive itself
                distances = poincare_distance(points[u][:, None, :], points[candidates])
                logits = (-distances).masked_fill(related, float("-inf"))
                loss = torch.nn.functional.cross_entropy(
                    logits, torch.zeros(len(batch), dtype=torch.long)
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item() * len(batch)
                count += len(batch)
            loss_value = total / count
    coordinates = points.detach().numpy().copy()
    if not (np.linalg.norm(coordinates, axis=1) < 1).all():  # pragma: no cover - guarded above
        raise RuntimeError("a Poincaré point left the unit ball")
    return PoincareEmbedding(coordinates, loss_value)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Torch on one intra-op thread inside the block, its previous setting restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def mean_rank(embedding: PoincareEmbedding, parent: np.ndarray) -> float:
    """Reconstruction mean rank (Nickel and Kiela 2017, Table 1).

    For every (descendant, ancestor) pair, the rank of the ancestor's distance among the
    distances from the descendant to the ancestor and to all nodes unrelated to the
    descendant; 1 is perfect.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    closure = transitive_closure(parent)
    coords = torch.from_numpy(embedding.coordinates)
    related = np.eye(n, dtype=bool)
    related[closure[:, 0], closure[:, 1]] = True
    related[closure[:, 1], closure[:, 0]] = True
    all_d = poincare_distance(coords[:, None, :], coords[None, :, :]).numpy()
    ranks = []
    for u, v in closure:
        d_pos = all_d[u, v]
        ranks.append(1 + int((all_d[u][~related[u]] < d_pos).sum()))
    return float(np.mean(ranks)) if ranks else float("nan")
