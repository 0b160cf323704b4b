"""The data of each page, as JSON-ready dicts built from the api.

Each function answers one page and is also its JSON endpoint. The parts that
the CLI prints with ``--json`` keep the CLI's shapes, built by the same
functions: ``graph`` is ``partita graph --json``, ``status`` is ``partita status
--json``, ``plan`` steps are ``partita plan --json`` steps, ``history`` and
``lineage`` are ``partita history/lineage --json``, ``runs`` is ``partita runs
--json`` and a run is ``partita logs RUN --json``. What the page adds
(the health strip, the layout, each asset's overall health) sits beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from partita.api import (
    Project,
    explain_partition,
    graph_view,
    history,
    list_assets,
    logs,
    plan_project,
    run_summary_json,
    runs,
    status_report,
)
from partita.api.catalog_json import history_json, lineage_json
from partita.api.checks import check_json, check_results, is_removed
from partita.api.overview import asset_overview
from partita.errors import PartitaError, PartitionKeyError
from partita.freshness import AssetStatus
from partita.records import RunSummary
from partita.web.layout import layout
from partita.web.strip import HealthState, segments, segments_json

__all__ = [
    "asset_json",
    "explain_json",
    "graph_json",
    "graph_page",
    "health_of",
    "lineage_tree",
    "partition_json",
    "partition_page",
    "plan_json",
    "run_json",
    "runs_json",
]

RUNS_SHOWN = 50
"""Runs on the runs page, and runs searched for an asset's last runs."""


def health_of(item: AssetStatus) -> str:
    """One word for an asset's colour: its worst partition state (``partial`` when some
    partitions are missing and the rest fresh; ``missing`` when all are)."""
    if len(item.failed):
        return HealthState.FAILED.value
    if len(item.stale):
        return HealthState.STALE.value
    if len(item.missing) == item.partitions and item.partitions:
        return HealthState.MISSING.value
    if len(item.missing):
        return "partial"
    return HealthState.FRESH.value


def graph_json(project: Project, selection: str | None) -> dict[str, Any]:
    """``{"graph": <partita graph --json>, "status": <partita status --json>,
    "layout": {...}, "health": {asset: word}}``."""
    view = graph_view(project, selection)
    report = status_report(project, selection, at=None) if view.nodes else None
    placed = layout([(n.key, n.group) for n in view.nodes], [(u, d) for u, d, _ in view.edges])
    return {
        "selection": selection,
        "graph": view.to_json(),
        "status": None if report is None else report.to_json(),
        "layout": placed.to_json(),
        "health": {} if report is None else {str(a.asset): health_of(a) for a in report.assets},
    }


def graph_page(data: dict[str, Any]) -> dict[str, Any]:
    """The part of :func:`graph_json` the graph page draws, compactly: per node
    ``[key, group, kind, health, partitions, fresh, stale, missing, failed, column, row]``,
    edges as ``[upstream, downstream]``, and the bands."""
    counts: dict[str, dict[str, Any]] = {}
    if data["status"] is not None:
        counts = {a["asset"]: a for a in data["status"]["assets"]}
    positions = data["layout"]["positions"]
    nodes = []
    for node in data["graph"]["nodes"]:
        key = node["key"]
        item = counts.get(key, {})
        column, row = positions[key]
        nodes.append(
            [
                key,
                node["group"],
                node["kind"],
                data["health"].get(key, "missing"),
                item.get("partitions", 0),
                item.get("fresh", 0),
                item.get("stale", 0),
                item.get("missing", 0),
                item.get("failed", 0),
                column,
                row,
            ]
        )
    return {
        "nodes": nodes,
        "edges": [[e["upstream"], e["downstream"]] for e in data["graph"]["edges"]],
        "groups": data["layout"]["groups"],
        "levels": data["layout"]["levels"],
    }


def _running_partitions(
    project: Project, asset: str, summaries: Sequence[RunSummary], now: datetime
) -> frozenset[str]:
    """Partitions of ``asset`` that a running run is building now."""
    found: set[str] = set()
    for summary in summaries:
        if str(summary.run.status) != "running":
            continue
        for attempt in logs(project, summary.run.run_id, now=now).attempts:
            if attempt.asset == asset and str(attempt.status) == "running":
                found.add(attempt.partition or "")
    return frozenset(found)


def _last_runs(
    project: Project, asset: str, summaries: Sequence[RunSummary]
) -> list[dict[str, Any]]:
    """The runs that last built ``asset`` (``partita runs --json`` entries), newest first."""
    wanted = {m.run_id for m in history(project, asset, limit=200)}
    return [
        run_summary_json(s)
        for s in summaries
        if s.run.run_id in wanted or str(s.run.status) == "running"
    ][:10]


def asset_json(project: Project, asset: str, now: datetime) -> dict[str, Any]:
    """One asset: what ``partita list`` says of it, its ``status`` and ``freshness``
    entries, the plan's step and blocked partitions, current check results, last
    runs, and the health strip."""
    overview = asset_overview(project, asset, now=now)
    key = str(overview.asset)
    definition = project.graph.spec(overview.asset).partitions
    keys: Iterable[str] = (
        [""] if definition is None else definition.keys(overview.now, dynamic=overview.dynamic)
    )
    status = overview.status
    summaries = runs(project, limit=RUNS_SHOWN, now=now)
    strip = segments(
        keys,
        failed=status.failed,
        missing=status.missing,
        stale=status.stale,
        running=_running_partitions(project, key, summaries, now),
        reasons=() if overview.planned is None else overview.planned.reasons,
    )
    checks = [
        check_json(r, removed=is_removed(project, r)) for r in check_results(project, key, limit=50)
    ]
    return {
        "asset": list_assets(project, key)[0].to_json(),
        "now": overview.now.isoformat(),
        "health": health_of(status),
        "status": status.to_json(),
        "freshness": overview.freshness.to_json(),
        "plan": {
            "steps": [] if overview.step is None else [overview.step.to_json()],
            "blocked": [b.to_json() for b in overview.blocked],
        },
        "checks": checks,
        "runs": _last_runs(project, key, summaries),
        "strip": segments_json(strip),
    }


def explain_json(project: Project, asset: str, partition: str) -> dict[str, Any]:
    """``partita plan +ASSET --explain ASSET:PARTITION --json``'s ``explain``: why one
    partition is (or is not) stale, with the chain of upstream causes."""
    key = project.graph.resolve(asset)
    planned = plan_project(project, f"+{key}", read_only=True, missing_config="not_compared")
    target = f"{key}:{partition}" if partition else str(key)
    return explain_partition(project, planned, target).to_json()


def _lineage_or_error(
    project: Project, asset: str, partition: str | None, direction: str
) -> dict[str, Any]:
    try:
        return lineage_json(
            project, asset, partition, direction="up" if direction == "up" else "down"
        )
    except PartitaError as exc:
        return {"error": exc.message, "hint": exc.hint}


def partition_json(project: Project, asset: str, partition: str | None) -> dict[str, Any]:
    """One partition: lineage up and down (``partita lineage --json``), its history
    (``partita history --json``) and the step logs of each materialization's run."""
    key, canonical = project.resolve_partition(asset, partition)
    definition = project.graph.spec(key).partitions
    if definition is not None and canonical is None:
        raise PartitionKeyError(
            f"{key} is partitioned ({definition.describe()}): say which partition",
            hint=f"add &partition={definition.example_key()} to the address",
        )
    name = str(key)
    past = history_json(project, name, canonical, limit=20)
    attempts: dict[str, list[dict[str, Any]]] = {}
    for run_id in dict.fromkeys(m["run_id"] for m in past["materializations"]):
        try:
            found = logs(project, run_id, name, canonical)
        except PartitaError:
            continue
        attempts[run_id] = found.to_json()["steps"]
    return {
        "asset": name,
        "partition": canonical,
        "upstream": _lineage_or_error(project, name, canonical, "up"),
        "downstream": _lineage_or_error(project, name, canonical, "down"),
        "history": past,
        "logs": attempts,
    }


def lineage_tree(data: dict[str, Any], limit: int = 400) -> dict[str, Any] | None:
    """A lineage answer (:func:`~partita.api.catalog_json.lineage_json`) as a nested tree
    for the page: ``{"node": {...}, "status": edge status, "children": [...]}`` from the
    root; an input with no materialization (a source's observation) is a leaf. At most
    ``limit`` entries are shown (``"more"`` counts the rest)."""
    if "nodes" not in data:
        return None
    nodes = {n["materialization_id"]: n for n in data["nodes"]}
    upward = data["direction"] == "up"
    children: dict[int, list[dict[str, Any]]] = {}
    for edge in data["edges"]:
        parent = edge["downstream_id"] if upward else edge["upstream_id"]
        if parent is not None:
            children.setdefault(parent, []).append(edge)
    shown = 0

    def grow(node: dict[str, Any], status: str | None, seen: frozenset[int]) -> dict[str, Any]:
        nonlocal shown
        shown += 1
        mid = node.get("materialization_id")
        kids = []
        for edge in children.get(mid, []) if mid is not None else []:
            if shown >= limit:
                break
            other = edge["upstream_id"] if upward else edge["downstream_id"]
            if other is None:
                leaf = {
                    "asset": edge["upstream_asset"],
                    "partition": edge["upstream_partition"],
                    "data_version": edge["upstream_data_version"],
                }
                kids.append(grow(leaf, edge["status"], seen))
            elif other in nodes and other not in seen:
                kids.append(grow(nodes[other], edge["status"], seen | {other}))
        return {"node": node, "status": status, "children": kids}

    tree = grow(nodes[data["root"]], None, frozenset({data["root"]}))
    tree["more"] = max(0, len(data["edges"]) + 1 - shown)
    return tree


def partition_page(data: dict[str, Any]) -> dict[str, Any]:
    """The lineage of :func:`partition_json` as trees for the partition page."""
    return {"up": lineage_tree(data["upstream"]), "down": lineage_tree(data["downstream"])}


def runs_json(project: Project, now: datetime, limit: int = RUNS_SHOWN) -> dict[str, Any]:
    """``partita runs --json``."""
    return {"runs": [run_summary_json(s) for s in runs(project, limit=limit, now=now)]}


def run_json(project: Project, run_id: str, now: datetime) -> dict[str, Any]:
    """``partita logs RUN --json``: the run and each step attempt with its logs."""
    return logs(project, run_id, now=now).to_json()


def plan_json(
    project: Project,
    selection: str | None,
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """``partita plan [SELECTION] [--partition K | --from A --to B] --json`` (sources
    observed, as ``partita plan`` does)."""
    planned = plan_project(
        project, selection, partition_key=partition, partition_range=partition_range
    )
    return planned.plan.to_json()
