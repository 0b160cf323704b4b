"""Planning from Python and for ``partita plan``: observe sources, load state, plan.

``plan_project`` is what ``partita plan`` and ``partita materialize`` call: it
validates the run-time config, observes the source partitions the request
reads (see :mod:`partita.api.observing`; changed versions are recorded, failed
observations are handed to the planner, which blocks their readers), loads the
catalog's bulk state for the assets involved, classifies the changes of SQL
models since their recorded builds (:func:`~partita.api.sql_models.non_breaking_changes`),
and hands everything to the pure planner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from partita.api.config import (
    config_hash,
    load_config_file,
    parse_assignments,
    resolve_available_config,
)
from partita.api.observing import observe_sources, record_observations
from partita.api.project import Project, ProjectLike, as_project, dynamic_partitions_definitions
from partita.api.sql_models import non_breaking_changes
from partita.errors import PlanError
from partita.partitions import DynamicPartitionsStore, InMemoryDynamicPartitionsStore
from partita.planner import (
    FailedObservation,
    NonBreakingChange,
    PartitionRequest,
    Plan,
    PlanRequest,
    Why,
    assets_needed,
    explain,
    source_partitions,
    split_target,
    targets,
)
from partita.planner import plan as make_plan
from partita.records import Catalog, PlannerState

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "explain_partition",
    "Planned",
    "config_values",
    "partition_request",
    "plan",
    "plan_project",
    "requested",
]


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from: the state snapshot, the validated config, and
    the dynamic partition keys it saw.

    ``observed`` counts the observations recorded (changed versions),
    ``observe_calls`` the observe calls made; the observations that failed are
    ``plan.failed_observations``. ``config_missing`` lists, per asset whose config
    was not compared (``missing_config="not_compared"``), the required fields that
    had no value.
    """

    plan: Plan
    state: PlannerState
    configs: Mapping[str, BaseModel] = field(default_factory=dict)
    observed: int = 0
    observe_calls: int = 0
    dynamic: DynamicPartitionsStore = field(default_factory=InMemoryDynamicPartitionsStore)
    config_missing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def partition_request(
    partition: str | None, start: str | None = None, end: str | None = None
) -> PartitionRequest | None:
    """``--partition KEY`` (or ``KEY..KEY``) or ``--from A --to B`` as a request."""
    if partition is not None and (start is not None or end is not None):
        raise PlanError("give --partition or --from/--to, not both")
    if (start is None) != (end is None):
        raise PlanError(
            "--from and --to go together", hint="e.g. --from 2025-01-01 --to 2025-01-31"
        )
    if start is not None and end is not None:
        return PartitionRequest.between(start, end)
    return None if partition is None else PartitionRequest.parse(partition)


def requested(
    partition_key: str | None = None, partition_range: tuple[str, str] | None = None
) -> PartitionRequest | None:
    """``partition_key`` or ``partition_range`` as a request (``None``: every partition).

    Raises:
        PlanError: both are given, or the range is not two keys.
    """
    if partition_key is not None and partition_range is not None:
        raise PlanError("give partition_key or partition_range, not both")
    if partition_key is not None:
        return PartitionRequest.key(partition_key)
    if partition_range is None:
        return None
    if not isinstance(partition_range, tuple | list) or len(partition_range) != 2:
        raise PlanError(
            f"partition_range must be (first, last), not {partition_range!r}",
            hint='e.g. partition_range=("2025-01-01", "2025-01-07")',
        )
    return PartitionRequest.between(partition_range[0], partition_range[1])


def config_values(files: Sequence[Path] = (), assignments: Sequence[str] = ()) -> dict[str, Any]:
    """Config from files (in order) then ``key=value`` assignments (which win)."""
    values: dict[str, Any] = {}
    for path in files:
        values.update(load_config_file(path))
    values.update(parse_assignments(assignments))
    return values


def plan_project(
    project: ProjectLike,
    selection: str | None = None,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    observe: bool = True,
    catalog: Catalog | None = None,
    read_only: bool = False,
    as_of: datetime | None = None,
    missing_config: Literal["error", "not_compared"] = "error",
) -> Planned:
    """Observe sources, load the catalog state and plan ``selection``.

    Args:
        project: a loaded project, or definitions built in memory (see
            :func:`~partita.api.project.as_project`).
        selection: an asset selection (``None``: everything).
        partition_key: plan only this partition (of each selected asset).
        partition_range: plan the partitions from ``first`` to ``last``, both included.
        home: where the catalog lives (see :func:`~partita.api.project.as_project`).
        force: rebuild the selected partitions whatever their state.
        config: run-time config values (see :mod:`partita.api.config`).
        now: the planning time (default: the current time, UTC).
        observe: observe the source partitions the request reads first (an
            observation that fails blocks what reads it, see
            :class:`~partita.planner.FailedObservation`).
        catalog: an open catalog to use (default: the project's).
        read_only: write nothing (no observations, no dead-run marking) and never
            create the catalog: a project that never ran plans as empty. For
            questions such as ``partita status``.
        as_of: plan on the catalog as it was at this time (only what was
            recorded at or before it counts; for ``freshness --at``); needs
            ``read_only``.
        missing_config: what to do with an asset whose config model has a required
            field that ``config`` does not give: ``"error"`` (a ``ConfigError``, as
            ``partita plan`` and ``materialize`` do), or ``"not_compared"`` (plan it
            without comparing its recorded config, so none of its partitions is
            ``config_changed``; ``Planned.config_missing`` says which); needs
            ``read_only``.
    """
    if as_of is not None and not read_only:
        raise PlanError("as_of= plans on the catalog's past: it needs read_only=True")
    if missing_config != "error" and not read_only:
        raise PlanError("missing_config='not_compared' is for questions: it needs read_only=True")
    project = as_project(project, home)
    partitions = requested(partition_key, partition_range)
    moment = now or datetime.now(UTC)
    graph = project.graph
    chosen = targets(graph, selection)
    resolved = resolve_available_config(graph, chosen, config or {})
    if missing_config == "error":
        resolved.raise_missing(graph)
    configs = resolved.models
    hashes = {name: config_hash(model) for name, model in configs.items()}
    request = PlanRequest(
        selection=selection,
        partitions=partitions,
        force=force,
        config_hashes=hashes,
        config_not_compared=frozenset(resolved.missing),
    )
    needed = [str(k) for k in assets_needed(graph, selection)]
    observed = calls = 0
    failures: tuple[FailedObservation, ...] = ()
    non_breaking: tuple[NonBreakingChange, ...] = ()
    with ExitStack() as stack:
        if catalog is None:
            catalog = stack.enter_context(
                project.existing_catalog() if read_only else project.open_catalog()
            )
        if catalog is None:
            state, dynamic = PlannerState.empty(), InMemoryDynamicPartitionsStore()
        else:
            keys = catalog.dynamic_partitions
            dynamic = InMemoryDynamicPartitionsStore(
                {
                    name: definition.stored_keys(keys)
                    for name, definition in dynamic_partitions_definitions(project).items()
                }
            )
            if not read_only:
                catalog.mark_dead_runs(now=moment)  # their unfinished steps become `abandoned`
                if observe:
                    wanted = source_partitions(graph, request, moment, dynamic=dynamic)
                    found = observe_sources(project, wanted)
                    observed = record_observations(catalog, found, moment)
                    calls, failures = found.calls, found.failures
            state = catalog.planner_state(needed, as_of=as_of)
            non_breaking = non_breaking_changes(graph, state, catalog)
    made = make_plan(
        graph,
        state,
        request,
        moment,
        dynamic=dynamic,
        failed_observations=failures,
        non_breaking=non_breaking,
    )
    return Planned(
        plan=made,
        state=state,
        configs=configs,
        observed=observed,
        observe_calls=calls,
        dynamic=dynamic,
        config_missing=resolved.missing,
    )


def plan(
    project: ProjectLike,
    selection: str | None = None,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Plan:
    """What :func:`~partita.api.running.materialize` would build now, and why.

    ::

        plan = partita.plan(defs, partition_key="2025-01-07", home=tmp_path)
        assert [str(step.asset) for step in plan.steps] == ["raw_orders", "clean_orders"]

    Takes the same arguments as ``materialize`` (see :func:`plan_project`),
    observes sources, and builds nothing.
    """
    return plan_project(
        project,
        selection,
        partition_key=partition_key,
        partition_range=partition_range,
        home=home,
        force=force,
        config=config,
        now=now,
    ).plan


def explain_partition(project: Project, planned: Planned, target: str) -> Why:
    """Why ``ASSET:PARTITION`` is (or is not) in ``planned``: the full chain of causes."""
    name, partition = split_target(target)
    key = project.graph.resolve(name)
    definition = project.graph.spec(key).partitions
    if definition is not None:
        if not partition:
            raise PlanError(
                f"{key} is partitioned: say which partition",
                hint=f"--explain {key}:{definition.example_key()}",
            )
        partition = definition.validate(partition)
    elif partition:
        raise PlanError(f"{key} is not partitioned", hint=f"--explain {key}")
    with project.open_catalog() as catalog:
        return explain(
            project.graph,
            planned.plan,
            planned.state,
            key,
            partition,
            catalog.inputs_of,
            dynamic=catalog.dynamic_partitions,
            code_components_of=catalog.code_components,
        )
