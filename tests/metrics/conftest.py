"""Small inputs shared by the metric tests: random trees and sparse count tables."""

from __future__ import annotations

import numpy as np
import pytest
from skbio import TreeNode


def random_tree(
    taxa: list[str], rng: np.random.Generator, root_length: float | None = 0.7, extra_tips: int = 0
) -> TreeNode:
    """A random rooted binary tree over ``taxa`` (plus unnamed extra tips) with lengths.

    Some branch lengths are exactly zero and one internal chain is single-child, to
    exercise the merging of identical branch columns.
    """
    nodes = [TreeNode(name=t, length=float(rng.random())) for t in taxa]
    nodes += [TreeNode(name=f"extra_{i}", length=float(rng.random())) for i in range(extra_tips)]
    nodes[0].length = 0.0
    while len(nodes) > 1:
        i, j = sorted(rng.choice(len(nodes), 2, replace=False))
        b, a = nodes.pop(j), nodes.pop(i)
        nodes.append(TreeNode(children=[a, b], length=float(rng.random())))
    root = nodes[0]
    root.length = root_length
    return root


def sparse_counts(n: int, p: int, rng: np.random.Generator, presence: float = 0.4) -> np.ndarray:
    """Poisson counts with ~``1 - presence`` zeros; every row has at least one count."""
    X = rng.poisson(3.0, size=(n, p)) * (rng.random((n, p)) < presence)
    X[X.sum(axis=1) == 0, 0] = 1
    return X.astype(np.float64)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def make_tree():
    """The :func:`random_tree` helper (tests cannot import conftest under importlib mode)."""
    return random_tree


@pytest.fixture
def make_counts():
    """The :func:`sparse_counts` helper."""
    return sparse_counts
