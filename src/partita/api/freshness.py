"""Freshness and status of a project (``partita freshness`` / ``partita status``).

Both load the catalog's bulk state once, plan the selected assets with their
upstream assets (without observing sources: these are read-only questions, and
the plan is the one ``partita plan`` shows for the same catalog state), and hand
state, plan and ``now`` to the pure :mod:`partita.freshness`. Judged at an
earlier time (``--at``), the state is the catalog as it was then: only
materializations, attempts and observations recorded at or before it count. For policies
with ``loaded_at=``, the newest value of that column is read here through the
asset's store. A project that never ran has no catalog: it is not created, and
everything reads as missing. ``now`` is read here when the caller gives none.

Config is that of ``partita plan``: the declared defaults, or the values given
(``config=``, the CLI's ``-c`` / ``--config``). An asset whose config needs a value
that was not given is judged without comparing its config, and the report
says so on the asset, as it says which config partitions built with another
one were judged against (:mod:`partita.api.config_notes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from partita.api.config_notes import config_notes
from partita.api.planning import plan_project
from partita.api.project import Project
from partita.errors import DefinitionError, PartitaError
from partita.freshness import FreshnessReport, PlannedPartitions, StatusReport, evaluate, status
from partita.io import Store
from partita.keys import AssetKey
from partita.partitions import (
    DynamicPartitionsStore,
)
from partita.planner import Plan
from partita.records import PlannerState
from partita.selection import select

__all__ = ["freshness_report", "parse_at", "planned_partitions", "status_report"]


def parse_at(text: str) -> datetime:
    """An ISO 8601 time (``2025-03-31T09:00``, ``...+02:00``, ``...Z``); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise PartitaError(
            f"invalid time {text!r}: {exc}",
            hint="write ISO 8601, e.g. 2025-03-31T09:00 (UTC) or 2025-03-31T09:00+02:00",
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def planned_partitions(made: Plan) -> dict[AssetKey, PlannedPartitions]:
    """Per asset, the partitions a plan builds or blocks, and the reasons in words."""
    result: dict[AssetKey, PlannedPartitions] = {}
    for step in made.steps:
        reasons = tuple((r.describe(), r.partitions) for r in step.reasons)
        result[step.asset] = PlannedPartitions(step.partitions, reasons)
    for blocked in made.blocked:
        text = f"blocked: needs {blocked.upstream}, which is missing"
        found = result.get(blocked.asset)
        if found is None:
            result[blocked.asset] = PlannedPartitions(
                blocked.partitions, ((text, blocked.partitions),)
            )
        else:
            result[blocked.asset] = PlannedPartitions(
                found.partitions | blocked.partitions,
                (*found.reasons, (text, blocked.partitions)),
            )
    return result


@dataclass(frozen=True)
class _Inputs:
    state: PlannerState
    planned: Mapping[AssetKey, PlannedPartitions]
    dynamic: DynamicPartitionsStore
    loaded_at: Mapping[AssetKey, datetime | None]
    config_notes: Mapping[AssetKey, str]


def _newest_loaded_at(
    project: Project, key: AssetKey, column: str, as_of: datetime | None
) -> datetime | None:
    """The newest value of ``column`` in the asset's data (not after ``as_of``, if given)."""
    store = project.graph.spec(key).store
    if not isinstance(store, Store):
        raise DefinitionError(
            f"{key}: Freshness(loaded_at={column!r}) needs a store to read the column from",
            hint=f"declare {key} with store=... (a ParquetStore or DuckDBStore)",
        )
    partitions = store.list_partitions(key)
    if not partitions:
        return None
    table = store.read(key, partitions, as_type=pa.Table)
    if column not in table.column_names:
        raise PartitaError(
            f"{key}: Freshness(loaded_at={column!r}) names no column of its data",
            hint="columns: " + ", ".join(table.column_names),
        )
    values = table[column]
    if not pa.types.is_timestamp(values.type):
        raise PartitaError(f"{key}: column {column!r} is {values.type}, not a timestamp")
    if as_of is not None:
        bound = as_of.astimezone(UTC)
        bound = bound.replace(tzinfo=None) if values.type.tz is None else bound
        values = pc.filter(values, pc.less_equal(values, pa.scalar(bound, type=values.type)))
    newest = pc.max(values).as_py()
    if newest is None:
        return None
    assert isinstance(newest, datetime)
    return newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest.astimezone(UTC)


def _inputs(
    project: Project,
    selection: str | None,
    now: datetime,
    *,
    as_of: datetime | None,
    config: Mapping[str, Any] | None,
) -> _Inputs:
    graph = project.graph
    chosen = select(graph, selection)
    # plan the selection with everything upstream, so upstream_stale is what a full plan says
    plan_selection = None if selection is None else ",".join(f"+{k}" for k in chosen)
    planned = plan_project(
        project,
        plan_selection,
        now=now,
        read_only=True,
        as_of=as_of,
        config=config,
        missing_config="not_compared",
    )
    loaded: dict[AssetKey, datetime | None] = {}
    for key in chosen:
        policy = graph.spec(key).freshness
        if policy is not None and policy.loaded_at is not None:
            loaded[key] = _newest_loaded_at(project, key, policy.loaded_at, as_of)
    return _Inputs(
        state=planned.state,
        planned=planned_partitions(planned.plan),
        dynamic=planned.dynamic,
        loaded_at=loaded,
        config_notes=config_notes(project, planned, chosen, given=bool(config), now=now),
    )


def _moment(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def freshness_report(
    project: Project,
    selection: str | None = None,
    *,
    at: datetime | None = None,
    now: datetime | None = None,
    config: Mapping[str, Any] | None = None,
) -> FreshnessReport:
    """Judge the freshness policy of every selected asset and source.

    Args:
        selection: an asset selection (``None``: everything).
        at: the time to judge at (default: now; a naive datetime is UTC): the
            catalog as it was then, only what was recorded at or before ``at``.
        now: instead of ``at``, the time to judge at with the catalog as it is
            (an injected clock's now).
        config: run-time config values to judge with, as ``plan`` takes them
            (default: the declared defaults; see :mod:`partita.api.config`).
    """
    moment = _moment(at if at is not None else now)
    as_of = None if at is None else moment
    found = _inputs(project, selection, moment, as_of=as_of, config=config)
    return evaluate(
        project.graph,
        found.state,
        found.planned,
        moment,
        selection,
        loaded_at=found.loaded_at,
        dynamic=found.dynamic,
        config_notes=found.config_notes,
    )


def status_report(
    project: Project,
    selection: str | None = None,
    *,
    at: datetime | None = None,
    config: Mapping[str, Any] | None = None,
) -> StatusReport:
    """Every selected asset's partitions as fresh / stale / missing / failed.

    Args:
        selection: an asset selection (``None``: everything).
        at: the time partitions are enumerated and the catalog is read at
            (default: now; naive is UTC): only what was recorded at or before it.
        config: run-time config values to judge with, as ``plan`` takes them
            (default: the declared defaults; see :mod:`partita.api.config`).
    """
    now = _moment(at)
    found = _inputs(project, selection, now, as_of=None if at is None else now, config=config)
    return status(
        project.graph,
        found.state,
        found.planned,
        now,
        selection,
        dynamic=found.dynamic,
        config_notes=found.config_notes,
    )
