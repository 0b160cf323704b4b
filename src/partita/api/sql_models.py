"""SQL assets in the catalog: column lineage, and how a changed model changed.

:func:`column_lineage` (``partita lineage ASSET --columns``): what a
partition's latest build recorded (the model it was built with: its dialect,
normalized query and, per output column, the upstream asset columns it
derives from); for a partition not built yet, what the definition says now.

:func:`sql_changes` (``partita plan``): for each SQL asset planned because its
code changed, whether the change is breaking, from the query recorded with a
changed partition's latest build and the current one (the planner stays pure:
this reads the catalog beside it).

:func:`non_breaking_changes` (before planning): per SQL asset and recorded code
version its partitions were built with, whether the current query only adds
columns to it; the planner then rebuilds those partitions alone (see
:class:`~partita.planner.NonBreakingChange`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.api.project import Project
from partita.errors import DefinitionError, PartitionKeyError
from partita.graph import AssetGraph
from partita.keys import AssetKey
from partita.planner import NonBreakingChange, Plan, Reason
from partita.records import CatalogReader, PlannerState
from partita.sql.changes import SqlChange

__all__ = [
    "MAX_COMPARED_VERSIONS",
    "ColumnLineageView",
    "SqlChange",
    "column_lineage",
    "non_breaking_changes",
    "sql_changes",
]

MAX_COMPARED_VERSIONS = 8
"""Recorded code versions compared per SQL asset at most (the newest builds' first);
partitions built with older ones count as changed breakingly."""


@dataclass(frozen=True)
class ColumnLineageView:
    """The column lineage of one partition of a SQL asset.

    Attributes:
        asset, partition: what it describes.
        materialization_id: the build it was recorded with; ``None``: from the
            definition (the partition was not built by this model yet).
        dialect, query: the model's dialect and normalized query.
        columns: per output column ``{"column", "sources": [[asset, column]...],
            "resolved"}``, in output order.
    """

    asset: str
    partition: str | None
    materialization_id: int | None
    dialect: str
    query: str
    columns: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``)."""
        return {
            "asset": self.asset,
            "partition": self.partition,
            "materialization_id": self.materialization_id,
            "dialect": self.dialect,
            "query": self.query,
            "columns": list(self.columns),
        }


def column_lineage(
    project: Project, asset: str | AssetKey, partition: str | None = None
) -> ColumnLineageView:
    """The column lineage of ``asset`` (one partition for a partitioned asset).

    Raises:
        DefinitionError: the asset is not a SQL asset.
        PartitionKeyError: a partitioned asset asked without a partition.
    """
    key, canonical = project.resolve_partition(asset, partition)
    spec = project.graph.spec(key)
    model = spec.sql_model
    if model is None:
        raise DefinitionError(
            f"{key} is not a SQL asset: Partita knows the columns of SQL models only",
            hint=f"`partita lineage {key}` shows what its builds read",
        )
    if canonical is None and spec.partitions is not None:
        raise PartitionKeyError(
            f"{key} is partitioned ({spec.partitions.describe()}); lineage is per partition",
            hint=f"name a partition (--partition KEY), for example "
            f"{spec.partitions.example_key()!r}",
        )
    with project.existing_catalog() as catalog:
        latest = None if catalog is None else catalog.latest_materialization(str(key), canonical)
        if catalog is not None and latest is not None and latest.materialization_id is not None:
            recorded = catalog.sql_model(latest.materialization_id)
            if recorded is not None:
                return ColumnLineageView(
                    asset=str(key),
                    partition=canonical,
                    materialization_id=latest.materialization_id,
                    dialect=str(recorded["dialect"]),
                    query=str(recorded["query"]),
                    columns=tuple(recorded["column_lineage"]),  # type: ignore[arg-type]
                )
    current = [
        {
            "column": item.column,
            "sources": [[s.asset, s.column] for s in item.sources],
            "resolved": item.resolved,
        }
        for item in model.column_lineage
    ]
    return ColumnLineageView(str(key), canonical, None, model.dialect, model.query, tuple(current))


def _recorded_change(
    recorded: dict[str, object] | None, query: str, dialect: str
) -> SqlChange | None:
    """The change from a recorded model to the current query (``None``: no record)."""
    from partita.sql.changes import classify_change  # noqa: PLC0415 - sqlglot: only here

    if recorded is None:
        return None
    if recorded["dialect"] != dialect:
        return SqlChange("breaking", f"dialect {recorded['dialect']} -> {dialect}")
    return classify_change(str(recorded["query"]), query, dialect)


def non_breaking_changes(
    graph: AssetGraph, state: PlannerState, catalog: CatalogReader
) -> tuple[NonBreakingChange, ...]:
    """The non-breaking changes of the SQL assets in ``state``, per recorded code version.

    For each SQL asset whose partitions were built with another code version than its
    current one, the query recorded with one build of each such version (the newest
    :data:`MAX_COMPARED_VERSIONS`) is compared with the current query
    (``sqlglot.diff``); versions whose build recorded no model, or whose change is
    breaking, are left out (their partitions' readers are rebuilt).
    """
    models = {str(k): graph.spec(k).sql_model for k in graph.keys}
    names = [name for name, model in models.items() if model is not None]
    if not names or state.latest.num_rows == 0:
        return ()
    rows = state.latest.filter(
        pc.is_in(state.latest["asset"], value_set=pa.array(names, type=pa.string()))
    )
    if rows.num_rows == 0:
        return ()
    versions = rows.group_by(["asset", "code_version"]).aggregate([("materialization_id", "max")])
    found: dict[str, list[tuple[int, str]]] = {}
    for asset, code_version, mid in zip(
        versions["asset"].to_pylist(),
        versions["code_version"].to_pylist(),
        versions["materialization_id_max"].to_pylist(),
        strict=True,
    ):
        if code_version is not None and code_version != graph.code_version(AssetKey.parse(asset)):
            found.setdefault(str(asset), []).append((int(mid), str(code_version)))
    changes: list[NonBreakingChange] = []
    for asset, built in sorted(found.items()):
        model = models[asset]
        assert model is not None
        for mid, code_version in sorted(built, reverse=True)[:MAX_COMPARED_VERSIONS]:
            change = _recorded_change(catalog.sql_model(mid), model.query, model.dialect)
            if change is not None and not change.breaking:
                changes.append(
                    NonBreakingChange(AssetKey.parse(asset), code_version, change.summary)
                )
    return tuple(changes)


def sql_changes(project: Project, plan: Plan) -> dict[str, SqlChange]:
    """Per SQL asset planned with ``code_changed``: is the change breaking?

    Compares the query recorded with the latest build of its first changed
    partition with the current one (``sqlglot.diff``; see
    :mod:`partita.sql.changes`). Assets whose recorded query is unknown are left out.
    """
    found: dict[str, SqlChange] = {}
    if not any(project.graph.spec(step.asset).sql_model is not None for step in plan.steps):
        return found  # no SQL asset planned: the catalog is not opened
    with project.existing_catalog() as catalog:
        if catalog is None:
            return found
        for step in plan.steps:
            model = project.graph.spec(step.asset).sql_model
            changed = [r for r in step.reasons if r.reason is Reason.CODE_CHANGED]
            if model is None or not changed:
                continue
            first = next(iter(changed[0].partitions), None) if step.partitioned else None
            latest = catalog.latest_materialization(str(step.asset), first)
            if latest is None or latest.materialization_id is None:
                continue
            summary = plan.non_breaking_change(step.asset, latest.code_version)
            if summary is not None:  # classified when planning
                found[str(step.asset)] = SqlChange("non-breaking", summary)
                continue
            recorded = catalog.sql_model(latest.materialization_id)
            change = _recorded_change(recorded, model.query, model.dialect)
            if change is not None:
                found[str(step.asset)] = change
    return found
