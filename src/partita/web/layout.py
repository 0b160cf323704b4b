"""The asset graph laid out by dependency level, groups as horizontal bands.

Columns are dependency levels (networkx's topological generations: an asset
sits one column right of its deepest upstream asset), and each group is a band
of rows. Within a band and a column, assets are ordered by the mean row of their
upstream assets (one barycentre sweep), which keeps most edges short and
straight. The page draws nodes, bands and edges from these numbers; collapsing
a band is done in the browser.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import networkx as nx

__all__ = ["GraphLayout", "layout"]


@dataclass(frozen=True)
class GraphLayout:
    """Where each asset goes.

    Attributes:
        levels: the number of columns.
        groups: ``(group name, rows)`` bands, top to bottom.
        positions: per asset key, ``(column, row within its group's band)``.
    """

    levels: int
    groups: tuple[tuple[str, int], ...]
    positions: dict[str, tuple[int, int]]

    def to_json(self) -> dict[str, Any]:
        """``{"levels", "groups": [{"name", "rows"}], "positions": {key: [column, row]}}``."""
        return {
            "levels": self.levels,
            "groups": [{"name": name, "rows": rows} for name, rows in self.groups],
            "positions": {key: [col, row] for key, (col, row) in self.positions.items()},
        }


def _barycentre(
    graph: nx.DiGraph, group: str, group_of: dict[str, str], row: dict[str, int], key: str
) -> float:
    """The mean row of ``key``'s upstream assets in its own band (none: last)."""
    ups = [row[u] for u in graph.predecessors(key) if group_of[u] == group]
    return sum(ups) / len(ups) if ups else float("inf")


def layout(nodes: Sequence[tuple[str, str]], edges: Iterable[tuple[str, str]]) -> GraphLayout:
    """Lay out ``nodes`` (``(key, group)`` in topological order) joined by ``edges``
    (``(upstream, downstream)``)."""
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(key for key, _ in nodes)
    graph.add_edges_from(edges)
    level: dict[str, int] = {}  # one column right of the deepest upstream asset
    for index, generation in enumerate(nx.topological_generations(graph)):
        for key in generation:
            level[key] = index
    group_of = dict(nodes)
    groups = list(dict.fromkeys(group for _, group in nodes))
    cells: dict[tuple[str, int], list[str]] = defaultdict(list)
    for key, group in nodes:
        cells[(group, level[key])].append(key)
    row: dict[str, int] = {}
    levels = max(level.values(), default=-1) + 1
    for column in range(levels):
        for group in groups:
            members = cells.get((group, column), [])
            ranked = sorted(members, key=partial(_barycentre, graph, group, group_of, row))
            for index, key in enumerate(ranked):
                row[key] = index
    bands = tuple(
        (group, max((len(cells.get((group, c), [])) for c in range(levels)), default=0))
        for group in groups
    )
    return GraphLayout(
        levels=levels, groups=bands, positions={k: (level[k], row[k]) for k, _ in nodes}
    )
