"""Lineage of one materialization: what it was built from, or what it fed.

Upstream follows the inputs recorded for that exact materialization;
downstream follows the materializations that recorded it as an input. Both are
one recursive CTE over ``inputs`` (indexed both ways), then one query for the
nodes and one for the edges. Each edge says whether the upstream partition's
latest materialization is still the one that was read (``current``) or has
been rebuilt since (``superseded``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Literal

from partita.catalog.connection import from_epoch
from partita.records import partition_value

__all__ = ["EdgeStatus", "LineageEdge", "LineageGraph", "LineageNode", "query_lineage"]

EdgeStatus = Literal["current", "superseded"]
Direction = Literal["up", "down"]


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
    partition has been rebuilt (or re-observed with another version) since.
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


_UP = """
WITH RECURSIVE walk(mid, depth) AS (
    SELECT ?, 0
    UNION
    SELECT i.upstream_materialization_id, walk.depth + 1
    FROM walk JOIN inputs i ON i.materialization_id = walk.mid
    WHERE walk.depth < ? AND i.upstream_materialization_id IS NOT NULL
)
SELECT mid, MIN(depth) FROM walk GROUP BY mid
"""

_DOWN = """
WITH RECURSIVE walk(mid, depth) AS (
    SELECT ?, 0
    UNION
    SELECT i.materialization_id, walk.depth + 1
    FROM walk JOIN inputs i ON i.upstream_materialization_id = walk.mid
    WHERE walk.depth < ?
)
SELECT mid, MIN(depth) FROM walk GROUP BY mid
"""

_NODES = """
SELECT id, asset, partition, data_version, code_version, run_id, created_at
FROM materializations WHERE id IN (SELECT value FROM json_each(?))
"""

# Edges of the walked nodes with their status: the upstream partition's
# latest materialization (or, for a source, latest observation) decides.
_EDGE_COLUMNS = """
SELECT i.materialization_id, i.upstream_materialization_id, i.upstream_asset,
       i.upstream_partition, i.upstream_data_version,
       CASE
         WHEN i.upstream_materialization_id IS NOT NULL THEN
           CASE WHEN l.materialization_id = i.upstream_materialization_id
                THEN 'current' ELSE 'superseded' END
         WHEN (SELECT o.data_version FROM observations o
               WHERE o.asset = i.upstream_asset AND o.partition = i.upstream_partition
               ORDER BY o.id DESC LIMIT 1) IS NOT i.upstream_data_version
              AND EXISTS (SELECT 1 FROM observations o
                          WHERE o.asset = i.upstream_asset
                            AND o.partition = i.upstream_partition)
           THEN 'superseded'
         ELSE 'current'
       END
FROM inputs i
LEFT JOIN latest_materialization l
  ON l.asset = i.upstream_asset AND l.partition = i.upstream_partition
"""

_UP_EDGES = _EDGE_COLUMNS + "WHERE i.materialization_id IN (SELECT value FROM json_each(?))"
_DOWN_EDGES = (
    _EDGE_COLUMNS + "WHERE i.upstream_materialization_id IN (SELECT value FROM json_each(?))"
    " AND i.materialization_id IN (SELECT value FROM json_each(?))"
)


def query_lineage(
    conn: sqlite3.Connection, root: int, direction: Direction, depth: int
) -> LineageGraph:
    """The lineage graph of materialization ``root`` (inside the caller's read transaction)."""
    walk = conn.execute(_UP if direction == "up" else _DOWN, (root, depth)).fetchall()
    depths = {int(mid): int(d) for mid, d in walk}
    all_ids = json.dumps(sorted(depths))
    inner_ids = json.dumps(sorted(mid for mid, d in depths.items() if d < depth))
    nodes = tuple(
        sorted(
            (
                LineageNode(
                    materialization_id=int(mid),
                    asset=str(asset),
                    partition=partition_value(str(partition)),
                    data_version=str(data_version),
                    code_version=str(code_version),
                    run_id=str(run_id),
                    created_at=from_epoch(float(created_at)),
                    depth=depths[int(mid)],
                )
                for mid, asset, partition, data_version, code_version, run_id, created_at in (
                    conn.execute(_NODES, (all_ids,)).fetchall()
                )
            ),
            key=lambda n: (n.depth, n.asset, n.partition or "", n.materialization_id),
        )
    )
    if direction == "up":
        rows = conn.execute(_UP_EDGES, (inner_ids,)).fetchall()
    else:
        rows = conn.execute(_DOWN_EDGES, (inner_ids, all_ids)).fetchall()
    edges = tuple(
        sorted(
            (
                LineageEdge(
                    downstream_id=int(down),
                    upstream_id=None if up is None else int(up),
                    upstream_asset=str(asset),
                    upstream_partition=partition_value(str(partition)),
                    upstream_data_version=str(version),
                    status="current" if status == "current" else "superseded",
                )
                for down, up, asset, partition, version, status in rows
            ),
            key=lambda e: (e.downstream_id, e.upstream_asset, e.upstream_partition or ""),
        )
    )
    return LineageGraph(root=root, direction=direction, depth=depth, nodes=nodes, edges=edges)
