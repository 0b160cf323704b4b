"""Lineage of one materialization as a frozen graph: what it was built from, or fed.

``CatalogReader.lineage`` returns a :class:`LineageGraph`: upstream follows
the inputs recorded for that exact materialization, downstream the
materializations that recorded it as an input. Each edge says whether the
upstream partition's latest materialization (or, for a source, its latest
observation) is still the one that was read (``current``), was rebuilt since
with the same output hash (``same_output``) or was rebuilt or re-observed with
other data (``superseded``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

__all__ = ["Direction", "EdgeStatus", "LineageEdge", "LineageGraph", "LineageNode"]

EdgeStatus = Literal["current", "same_output", "superseded"]
"""Whether the upstream partition read is still its latest version (``current``); was
rebuilt since with the same output hash (``same_output``: the same data, or a
non-breaking SQL change, so what read it is not stale); or was rebuilt (or re-observed)
since with other data (``superseded``)."""

Direction = Literal["up", "down"]
"""``up``: what a materialization was built from; ``down``: what it fed."""


@dataclass(frozen=True, slots=True)
class LineageNode:
    """One materialization in a lineage graph; ``depth`` is its distance from the root."""

    materialization_id: int
    asset: str
    partition: str | None
    data_version: str
    code_version: str
    run_id: str
    created_at: datetime
    depth: int


@dataclass(frozen=True, slots=True)
class LineageEdge:
    """``downstream_id`` read ``upstream_asset[upstream_partition]`` at ``upstream_data_version``.

    ``upstream_id`` is the materialization that was read (``None`` for a
    source asset's observed data). ``status`` is ``superseded`` when that
    partition has been rebuilt (or re-observed with another version) since,
    ``same_output`` when it was rebuilt since with the same output hash (see
    :data:`EdgeStatus`).
    """

    downstream_id: int
    upstream_id: int | None
    upstream_asset: str
    upstream_partition: str | None
    upstream_data_version: str
    status: EdgeStatus


@dataclass(frozen=True, slots=True)
class LineageGraph:
    """The lineage of ``root`` in one direction, to ``depth`` levels."""

    root: int
    direction: Direction
    depth: int
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    def node(self, materialization_id: int) -> LineageNode:
        """The node of one materialization (``KeyError`` if it is not in the graph)."""
        for candidate in self.nodes:
            if candidate.materialization_id == materialization_id:
                return candidate
        raise KeyError(materialization_id)

    @property
    def max_depth(self) -> int:
        """The largest depth reached (0 when the root has no lineage in this direction)."""
        return max((n.depth for n in self.nodes), default=0)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (times in ISO 8601)."""
        nodes = []
        for node in self.nodes:
            item = asdict(node)
            item["created_at"] = node.created_at.isoformat()
            nodes.append(item)
        return {
            "root": self.root,
            "direction": self.direction,
            "depth": self.depth,
            "nodes": nodes,
            "edges": [asdict(edge) for edge in self.edges],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The graph as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)
