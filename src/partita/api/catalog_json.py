"""The JSON of ``partita history --json`` and ``partita lineage --json``, with check results.

One builder per answer, shared by the CLI and the web page (``partita ui``), so
both print the same shapes (stable field names, see docs/cli.md).
"""

from __future__ import annotations

from typing import Any

from partita.api.catalog import Direction, history, lineage, materialization_json, table_versions
from partita.api.checks import check_json, checks_by_materialization, checks_summary, is_removed
from partita.api.project import Project
from partita.keys import AssetKey

__all__ = ["history_json", "lineage_json"]


def history_json(
    project: Project, asset: str | AssetKey, partition: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """``{"asset", "partition", "materializations": [... with "checks": [...]]}``, newest
    first; each materialization also has its ``table_version`` where the asset's store
    keeps versions (a Delta table)."""
    mats = history(project, asset, partition, limit=limit)
    key = str(project.graph.resolve(asset))
    checks = checks_by_materialization(
        project, [m.materialization_id for m in mats if m.materialization_id is not None]
    )
    versions = table_versions(project, key, mats)
    return {
        "asset": key,
        "partition": partition,
        "materializations": [
            {
                **materialization_json(m),
                **({"table_version": versions.get(m.materialization_id or -1)} if versions else {}),
                "checks": [
                    check_json(c, removed=is_removed(project, c))
                    for c in checks.get(m.materialization_id or -1, [])
                ],
            }
            for m in mats
        ],
    }


def lineage_json(
    project: Project,
    asset: str | AssetKey,
    partition: str | None = None,
    direction: Direction = "up",
    depth: int = 10,
) -> dict[str, Any]:
    """``{"asset", "partition", "root", "nodes": [... with "checks"], "edges", ...}``: the
    lineage graph of :func:`~partita.api.catalog.lineage` with each node's check summary."""
    graph = lineage(project, asset, partition, direction=direction, depth=depth)
    root = graph.node(graph.root)
    checks = checks_by_materialization(project, [n.materialization_id for n in graph.nodes])
    data = graph.to_dict()
    nodes = data["nodes"]
    assert isinstance(nodes, list)
    for item in nodes:
        item["checks"] = checks_summary(checks.get(item["materialization_id"], []))
    return {"asset": root.asset, "partition": root.partition, **data}
