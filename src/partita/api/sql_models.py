"""SQL assets in the catalog: column lineage, and how a changed model changed.

:func:`column_lineage` (``partita lineage ASSET --columns``): what a
partition's latest build recorded (the model it was built with: its dialect,
normalized query and, per output column, the upstream asset columns it
derives from); for a partition not built yet, what the definition says now.

:func:`sql_changes` (``partita plan``): for each SQL asset planned because its
code changed, whether the change is breaking, from the query recorded with a
changed partition's latest build and the current one (the planner stays pure:
this reads the catalog beside it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from partita.api.project import Project
from partita.errors import DefinitionError, PartitionKeyError
from partita.keys import AssetKey
from partita.planner import Plan, Reason
from partita.sql.changes import SqlChange

__all__ = ["ColumnLineageView", "SqlChange", "column_lineage", "sql_changes"]


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


def sql_changes(project: Project, plan: Plan) -> dict[str, SqlChange]:
    """Per SQL asset planned with ``code_changed``: is the change breaking?

    Compares the query recorded with the latest build of its first changed
    partition with the current one (``sqlglot.diff``; see
    :mod:`partita.sql.changes`). Assets whose recorded query is unknown are left out.
    """
    from partita.sql.changes import classify_change  # noqa: PLC0415 - sqlglot: only here

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
            recorded = catalog.sql_model(latest.materialization_id)
            if recorded is None:
                continue
            if recorded["dialect"] != model.dialect:
                found[str(step.asset)] = SqlChange(
                    "breaking", f"dialect {recorded['dialect']} -> {model.dialect}"
                )
                continue
            found[str(step.asset)] = classify_change(
                str(recorded["query"]), model.query, model.dialect
            )
    return found
