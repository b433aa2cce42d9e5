"""Poincaré embeddings: geometry against closed forms, the optimiser, fitting a tiny tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from synthomics.errors import InputError
from synthomics.microbiome_diffusion.poincare import (
    RiemannianSGD,
    fit_poincare,
    hierarchy_from_taxonomy,
    hierarchy_from_tree,
    log_map_origin,
    mean_rank,
    poincare_distance,
    transitive_closure,
)

# root 0; internal 1, 2; leaves 3-6 under 1 and 2; leaves 7-8 under 3 (depth 3)
PARENT = np.array([-1, 0, 0, 1, 1, 2, 2, 3, 3])


def test_distance_closed_forms():
    # from the origin d(0, x) = 2 artanh(|x|) (Nickel & Kiela 2017, eq. 1 with u = 0)
    x = torch.tensor([[0.3, 0.4]])
    origin = torch.zeros(1, 2)
    assert float(poincare_distance(origin, x)) == pytest.approx(2 * np.arctanh(0.5), rel=1e-5)
    # symmetric, zero on the diagonal (up to the clamp), and the arcosh formula
    u, v = torch.tensor([0.1, -0.5]), torch.tensor([-0.6, 0.2])
    formula = np.arccosh(
        1
        + 2
        * np.sum((u - v).numpy() ** 2)
        / ((1 - np.sum(u.numpy() ** 2)) * (1 - np.sum(v.numpy() ** 2)))
    )
    assert float(poincare_distance(u, v)) == pytest.approx(formula, rel=1e-5)
    assert float(poincare_distance(v, u)) == pytest.approx(formula, rel=1e-5)
    assert float(poincare_distance(u, u)) < 1e-3


def test_log_map_length_is_hyperbolic_radius():
    x = np.array([[0.6, 0.0], [0.0, -0.2], [0.0, 0.0]])
    tangent = log_map_origin(x)
    np.testing.assert_allclose(
        np.linalg.norm(tangent, axis=1), np.arctanh([0.6, 0.2, 0.0]), rtol=1e-12
    )
    np.testing.assert_allclose(tangent[0] / np.linalg.norm(tangent[0]), [1.0, 0.0])


def test_riemannian_sgd_rescales_and_projects():
    point = torch.nn.Parameter(torch.tensor([[0.5, 0.0], [0.0, 0.0]]))
    optimiser = RiemannianSGD([point], lr=0.1)
    point.grad = torch.tensor([[-1.0, 0.0], [0.0, 1.0]])
    optimiser.step()
    # theta - lr (1 - |theta|^2)^2 / 4 * grad: 0.5 + 0.1 * 0.75^2 / 4 and -0.1 / 4
    torch.testing.assert_close(
        point.data, torch.tensor([[0.5 + 0.1 * 0.5625 / 4, 0.0], [0.0, -0.025]])
    )
    point.grad = torch.tensor([[-1e6, 0.0], [0.0, 0.0]])  # would jump far outside the ball
    optimiser.step()
    assert float(point.data.norm(dim=1).max()) < 1.0


def test_transitive_closure_hand_listed():
    pairs = {tuple(p) for p in transitive_closure(np.array([-1, 0, 1, 0]))}
    assert pairs == {(1, 0), (2, 1), (2, 0), (3, 0)}
    with pytest.raises(ValueError, match="cycle"):
        transitive_closure(np.array([1, 0]))


def test_fitted_tree_keeps_relatives_close():
    embedding = fit_poincare(PARENT, dim=2, epochs=150, negatives=6, lr=1.0, burn_in=10, seed=0)
    coords = embedding.coordinates
    assert coords.shape == (9, 2)
    assert np.all(np.linalg.norm(coords, axis=1) < 1.0)
    related = {tuple(p) for p in transitive_closure(PARENT)}
    related |= {(b, a) for a, b in related}
    for child, parent in enumerate(PARENT):
        if parent < 0:
            continue
        d_parent = embedding.distance(child, parent)
        unrelated = [n for n in range(9) if n != child and (child, n) not in related]
        assert d_parent < min(embedding.distance(child, n) for n in unrelated), child
    assert mean_rank(embedding, PARENT) == pytest.approx(1.0)


def test_fit_is_seeded():
    a = fit_poincare(PARENT, dim=3, epochs=5, seed=4).coordinates
    b = fit_poincare(PARENT, dim=3, epochs=5, seed=4).coordinates
    np.testing.assert_array_equal(a, b)


def test_hierarchy_from_taxonomy():
    var = pd.DataFrame(
        {
            "kingdom": ["Bacteria", "Bacteria", "Bacteria"],
            "phylum": ["Firmicutes", "Firmicutes", "Bacteroidetes"],
            "genus": ["Blautia", None, "Bacteroides"],
        },
        index=["otu1", "otu2", "otu3"],
    )
    hierarchy = hierarchy_from_taxonomy(var)
    names = hierarchy.names
    feature = {f: names.index(f"feature:{f}") for f in var.index}
    np.testing.assert_array_equal(
        hierarchy.features, [feature["otu1"], feature["otu2"], feature["otu3"]]
    )

    def parent_name(node):
        return names[hierarchy.parent[node]]

    assert parent_name(feature["otu1"]).endswith("genus:Blautia")
    # a missing genus hangs the feature under its phylum
    assert parent_name(feature["otu2"]) == "kingdom:Bacteria|phylum:Firmicutes"
    assert hierarchy.parent[names.index("kingdom:Bacteria")] == -1
    with pytest.raises(InputError, match="taxonomy"):
        hierarchy_from_taxonomy(pd.DataFrame(index=["a"]))


def test_hierarchy_from_tree():
    newick = "((a:1,b:1)ab:1,(c:1,d:1)cd:1,e:2)root;"
    hierarchy = hierarchy_from_tree(newick, ["b", "c", "a"])
    names = list(hierarchy.names)
    assert [names[i] for i in hierarchy.features] == ["b", "c", "a"]
    assert "d" not in names and "e" not in names  # pruned to the features
    a, b = names.index("a"), names.index("b")
    assert hierarchy.parent[a] == hierarchy.parent[b]
    with pytest.raises(InputError, match="not tips"):
        hierarchy_from_tree(newick, ["a", "zzz"])


def test_fit_is_reproducible_on_several_threads():
    # 800 nodes, 4 levels: many rows are indexed more than once per batch, whose gradients
    # several threads would sum in a varying order
    rng = np.random.default_rng(0)
    parent = np.full(800, -1)
    parent[8:64] = rng.integers(0, 8, 56)
    parent[64:256] = rng.integers(8, 64, 192)
    parent[256:] = rng.integers(64, 256, 544)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fits = [fit_poincare(parent, epochs=3, burn_in=1, seed=1) for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].coordinates, other.coordinates)
    assert torch.get_num_threads() == threads
