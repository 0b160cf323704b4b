"""The library facade: load a project and ask it things.

This is the one place that wires the pieces together (definitions, graph,
stores, catalog, planner, runner); the CLI only calls functions here, and so
can any Python program::

    from partita import api
    project = api.load_project(file="defs.py")
    for info in api.list_assets(project):
        print(info.key, info.partitions)

One module per concern: ``project`` (loading, listing), and the modules that
later issues add beside it; everything public is re-exported here.
"""

from partita.api.catalog import (
    Direction,
    DynamicPartitionsUpdate,
    LineageEdge,
    LineageGraph,
    LineageNode,
    RunLogs,
    add_dynamic_partitions,
    attempt_json,
    delete_dynamic_partitions,
    dynamic_partitions_definitions,
    history,
    lineage,
    list_dynamic_partitions,
    logs,
    materialization_json,
    run_json,
    run_summary_json,
    runs,
)
from partita.api.freshness import freshness_report, parse_at, planned_partitions, status_report
from partita.api.materialize import (
    CancelToken,
    NullProgress,
    RunResult,
    materialize,
    progress_for,
    project_ref,
)
from partita.api.planning import (
    Planned,
    config_values,
    explain_partition,
    open_catalog,
    partition_request,
    plan_project,
)
from partita.api.project import (
    AssetInfo,
    GraphView,
    Project,
    graph_view,
    list_assets,
    load_project,
)

__all__ = [
    "freshness_report",
    "parse_at",
    "planned_partitions",
    "status_report",
    "CancelToken",
    "NullProgress",
    "RunResult",
    "materialize",
    "progress_for",
    "project_ref",
    "Planned",
    "config_values",
    "explain_partition",
    "open_catalog",
    "partition_request",
    "plan_project",
    "Direction",
    "DynamicPartitionsUpdate",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "RunLogs",
    "add_dynamic_partitions",
    "attempt_json",
    "delete_dynamic_partitions",
    "dynamic_partitions_definitions",
    "history",
    "lineage",
    "list_dynamic_partitions",
    "logs",
    "materialization_json",
    "run_json",
    "run_summary_json",
    "runs",
    "AssetInfo",
    "GraphView",
    "Project",
    "graph_view",
    "list_assets",
    "load_project",
]
