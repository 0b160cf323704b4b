"""Lineage queries: what one materialization was built from, or what it fed.

Upstream follows the inputs recorded for that exact materialization;
downstream follows the materializations that recorded it as an input. Both are
one recursive CTE over ``inputs`` (indexed both ways), then one query for the
nodes and one for the edges. Each edge says whether the upstream partition's
latest materialization is still the one that was read (``current``), has
been rebuilt since with the same output hash (``same_output``: the same data,
or a non-breaking SQL change; what read it is not stale), or has been rebuilt
since with other data (``superseded``).
"""

from __future__ import annotations

import json

from partita.catalog.common.db import SqlConnection, from_epoch
from partita.records import (
    Direction,
    EdgeStatus,
    LineageEdge,
    LineageGraph,
    LineageNode,
    partition_value,
)

__all__ = ["query_lineage"]

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
           CASE WHEN l.materialization_id = i.upstream_materialization_id THEN 'current'
                WHEN l.output_hash = r.output_hash THEN 'same_output'
                ELSE 'superseded' END
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
LEFT JOIN materializations r ON r.id = i.upstream_materialization_id
"""

_UP_EDGES = _EDGE_COLUMNS + "WHERE i.materialization_id IN (SELECT value FROM json_each(?))"
_DOWN_EDGES = (
    _EDGE_COLUMNS + "WHERE i.upstream_materialization_id IN (SELECT value FROM json_each(?))"
    " AND i.materialization_id IN (SELECT value FROM json_each(?))"
)


def _status(found: str) -> EdgeStatus:
    if found == "current":
        return "current"
    if found == "same_output":
        return "same_output"
    return "superseded"


def query_lineage(conn: SqlConnection, root: int, direction: Direction, depth: int) -> LineageGraph:
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
                    status=_status(str(status)),
                )
                for down, up, asset, partition, version, status in rows
            ),
            key=lambda e: (e.downstream_id, e.upstream_asset, e.upstream_partition or ""),
        )
    )
    return LineageGraph(root=root, direction=direction, depth=depth, nodes=nodes, edges=edges)
