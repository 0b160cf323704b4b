"""The library facade: load a project and ask it things.

This is the one place that wires the pieces together (definitions, graph,
stores, catalog, planner, runner); the CLI only calls functions here, and so
can any Python program::

    from partita import api
    project = api.load_project(file="defs.py")
    for info in api.list_assets(project):
        print(info.key, info.partitions)

One module per concern (``project``, ``planning``, ``materialize``, ``catalog``,
``freshness``, ...); everything public is re-exported here and imported on
first use, so a command loads only the layers it needs (``partita plan`` never
imports the runner or the IO layer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from partita.lazy import lazy_module

if TYPE_CHECKING:
    from partita.api.alerting import (
        FreshnessAlerts,
        evaluate_freshness_alerts,
        run_alert_subscribers,
    )
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
        history,
        lineage,
        list_dynamic_partitions,
        logs,
        materialization_json,
        run_json,
        run_summary_json,
        runs,
    )
    from partita.api.catalog_file import (
        CatalogCopy,
        CatalogInit,
        catalog_copy_json,
        catalog_init_json,
        copy_catalog,
        init_catalog,
    )
    from partita.api.freshness import freshness_report, parse_at, planned_partitions, status_report
    from partita.api.openlineage import export_openlineage
    from partita.api.planning import (
        Planned,
        config_values,
        explain_partition,
        partition_request,
        plan,
        plan_project,
        requested,
    )
    from partita.api.project import (
        AssetInfo,
        GraphView,
        Project,
        ProjectLike,
        as_project,
        dynamic_partitions_definitions,
        graph_view,
        list_assets,
        load_project,
    )
    from partita.api.reloading import ProjectWatch, reload_project
    from partita.api.running import (
        CancelToken,
        ExecutorKind,
        MaterializeResult,
        RunOutcome,
        RunResult,
        TaskState,
        materialize,
        project_ref,
    )
    from partita.api.verifying import AssetVerification, Drift, DriftKind, VerifyResult, verify
    from partita.api.wiping import WipeResult, wipe

_LAZY: dict[str, str] = {
    "AssetInfo": "partita.api.project",
    "AssetVerification": "partita.api.verifying",
    "CancelToken": "partita.api.running",
    "CatalogInit": "partita.api.catalog_file",
    "CatalogCopy": "partita.api.catalog_file",
    "catalog_copy_json": "partita.api.catalog_file",
    "copy_catalog": "partita.api.catalog_file",
    "Direction": "partita.api.catalog",
    "Drift": "partita.api.verifying",
    "DriftKind": "partita.api.verifying",
    "DynamicPartitionsUpdate": "partita.api.catalog",
    "ExecutorKind": "partita.api.running",
    "FreshnessAlerts": "partita.api.alerting",
    "GraphView": "partita.api.project",
    "LineageEdge": "partita.api.catalog",
    "LineageGraph": "partita.api.catalog",
    "LineageNode": "partita.api.catalog",
    "MaterializeResult": "partita.api.running",
    "Planned": "partita.api.planning",
    "Project": "partita.api.project",
    "ProjectLike": "partita.api.project",
    "RunLogs": "partita.api.catalog",
    "RunOutcome": "partita.api.running",
    "RunResult": "partita.api.running",
    "TaskState": "partita.api.running",
    "VerifyResult": "partita.api.verifying",
    "WipeResult": "partita.api.wiping",
    "add_dynamic_partitions": "partita.api.catalog",
    "as_project": "partita.api.project",
    "attempt_json": "partita.api.catalog",
    "catalog_init_json": "partita.api.catalog_file",
    "config_values": "partita.api.planning",
    "delete_dynamic_partitions": "partita.api.catalog",
    "dynamic_partitions_definitions": "partita.api.project",
    "evaluate_freshness_alerts": "partita.api.alerting",
    "explain_partition": "partita.api.planning",
    "export_openlineage": "partita.api.openlineage",
    "freshness_report": "partita.api.freshness",
    "graph_view": "partita.api.project",
    "history": "partita.api.catalog",
    "init_catalog": "partita.api.catalog_file",
    "lineage": "partita.api.catalog",
    "list_assets": "partita.api.project",
    "list_dynamic_partitions": "partita.api.catalog",
    "load_project": "partita.api.project",
    "reload_project": "partita.api.reloading",
    "ProjectWatch": "partita.api.reloading",
    "logs": "partita.api.catalog",
    "materialization_json": "partita.api.catalog",
    "materialize": "partita.api.running",
    "parse_at": "partita.api.freshness",
    "partition_request": "partita.api.planning",
    "plan": "partita.api.planning",
    "plan_project": "partita.api.planning",
    "planned_partitions": "partita.api.freshness",
    "project_ref": "partita.api.running",
    "requested": "partita.api.planning",
    "run_alert_subscribers": "partita.api.alerting",
    "run_json": "partita.api.catalog",
    "run_summary_json": "partita.api.catalog",
    "runs": "partita.api.catalog",
    "status_report": "partita.api.freshness",
    "verify": "partita.api.verifying",
    "wipe": "partita.api.wiping",
}


__getattr__, __dir__ = lazy_module("partita.api", _LAZY, globals())

__all__ = [
    "AssetInfo",
    "AssetVerification",
    "CancelToken",
    "CatalogInit",
    "Direction",
    "Drift",
    "DriftKind",
    "DynamicPartitionsUpdate",
    "ExecutorKind",
    "FreshnessAlerts",
    "GraphView",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "MaterializeResult",
    "Planned",
    "Project",
    "ProjectLike",
    "ProjectWatch",
    "RunLogs",
    "RunOutcome",
    "RunResult",
    "TaskState",
    "VerifyResult",
    "WipeResult",
    "add_dynamic_partitions",
    "as_project",
    "attempt_json",
    "catalog_init_json",
    "CatalogCopy",
    "catalog_copy_json",
    "copy_catalog",
    "config_values",
    "delete_dynamic_partitions",
    "dynamic_partitions_definitions",
    "evaluate_freshness_alerts",
    "explain_partition",
    "export_openlineage",
    "freshness_report",
    "graph_view",
    "history",
    "init_catalog",
    "lineage",
    "list_assets",
    "list_dynamic_partitions",
    "load_project",
    "reload_project",
    "logs",
    "materialization_json",
    "materialize",
    "parse_at",
    "partition_request",
    "plan",
    "plan_project",
    "planned_partitions",
    "project_ref",
    "requested",
    "run_alert_subscribers",
    "run_json",
    "run_summary_json",
    "runs",
    "status_report",
    "verify",
    "wipe",
]
