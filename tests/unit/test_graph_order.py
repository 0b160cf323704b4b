"""The graph's own ordering and reachability agree with networkx on random DAGs.

``AssetGraph`` stopped importing networkx (0.15-0.25 s on every command's
start-up); networkx stays the reference these tests compare against.
"""

from __future__ import annotations

import random

import networkx as nx
import pytest

from partita.graph import _lexicographic_order, _reachable
from partita.keys import AssetKey


def _random_dag(seed: int) -> dict[AssetKey, dict[AssetKey, None]]:
    rng = random.Random(seed)
    names = [f"n{rng.randrange(1000):03d}_{i}" for i in range(rng.randrange(1, 40))]
    rng.shuffle(names)
    keys = [AssetKey(n) for n in names]
    successors: dict[AssetKey, dict[AssetKey, None]] = {k: {} for k in keys}
    for i, up in enumerate(keys):
        for down in keys[i + 1 :]:
            if rng.random() < 0.15:
                successors[up][down] = None
    return successors


def _networkx(successors: dict[AssetKey, dict[AssetKey, None]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(successors)
    graph.add_edges_from((u, v) for u, vs in successors.items() for v in vs)
    return graph


@pytest.mark.parametrize("seed", range(40))
def test_order_and_reachability_match_networkx(seed: int) -> None:
    successors = _random_dag(seed)
    graph = _networkx(successors)
    assert _lexicographic_order(successors) == tuple(
        nx.lexicographical_topological_sort(graph, key=str)
    )
    predecessors: dict[AssetKey, list[AssetKey]] = {k: [] for k in successors}
    for up, downs in successors.items():
        for down in downs:
            predecessors[down].append(up)
    for key in successors:
        assert _reachable(key, successors) == nx.descendants(graph, key)
        assert _reachable(key, predecessors) == nx.ancestors(graph, key)


def test_a_cycle_leaves_nodes_out_of_the_order() -> None:
    a, b, c = AssetKey("a"), AssetKey("b"), AssetKey("c")
    assert _lexicographic_order({a: {b: None}, b: {c: None}, c: {b: None}}) == (a,)
