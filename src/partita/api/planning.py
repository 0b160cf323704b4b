"""Planning from Python and for ``partita plan``: observe sources, load state, plan.

``plan_project`` is what ``partita plan`` and ``partita materialize`` call: it
validates the run-time config, observes the source partitions the request
reads (see :mod:`partita.api.observing`; changed versions are recorded, failed
observations are handed to the planner, which blocks their readers), loads the
catalog's bulk state for the assets involved, and hands everything to the pure
planner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from partita.api.config import config_hash, load_config_file, parse_assignments, resolve_config
from partita.api.observing import observe_sources, record_observations
from partita.api.project import Project, dynamic_partitions_definitions
from partita.errors import PlanError
from partita.partitions import DynamicPartitionsStore, InMemoryDynamicPartitionsStore
from partita.planner import (
    FailedObservation,
    Plan,
    PlanRequest,
    Why,
    assets_needed,
    explain,
    plan,
    source_partitions,
    split_target,
    targets,
)
from partita.records import Catalog, PlannerState

__all__ = [
    "explain_partition",
    "Planned",
    "config_values",
    "partition_request",
    "plan_project",
]


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from: the state snapshot, the validated config, and
    the dynamic partition keys it saw.

    ``observed`` counts the observations recorded (changed versions),
    ``observe_calls`` the observe calls made; the observations that failed are
    ``plan.failed_observations``.
    """

    plan: Plan
    state: PlannerState
    configs: Mapping[str, BaseModel] = field(default_factory=dict)
    observed: int = 0
    observe_calls: int = 0
    dynamic: DynamicPartitionsStore = field(default_factory=InMemoryDynamicPartitionsStore)


def partition_request(
    partition: str | None, start: str | None = None, end: str | None = None
) -> str | None:
    """``--partition KEY`` or ``--from A --to B`` as one request text (``A..B``)."""
    if partition is not None and (start is not None or end is not None):
        raise PlanError("give --partition or --from/--to, not both")
    if (start is None) != (end is None):
        raise PlanError(
            "--from and --to go together", hint="e.g. --from 2025-01-01 --to 2025-01-31"
        )
    if start is not None:
        return f"{start}..{end}"
    return partition


def config_values(files: Sequence[Path] = (), assignments: Sequence[str] = ()) -> dict[str, Any]:
    """Config from files (in order) then ``key=value`` assignments (which win)."""
    values: dict[str, Any] = {}
    for path in files:
        values.update(load_config_file(path))
    values.update(parse_assignments(assignments))
    return values


def plan_project(
    project: Project,
    selection: str | None = None,
    partitions: str | None = None,
    *,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    observe: bool = True,
    catalog: Catalog | None = None,
    read_only: bool = False,
) -> Planned:
    """Observe sources, load the catalog state and plan ``selection``.

    Args:
        selection: an asset selection (``None``: everything).
        partitions: a key or an inclusive range ``A..B``.
        force: rebuild the selected partitions whatever their state.
        config: run-time config values (see :mod:`partita.api.config`).
        now: the planning time (default: the current time, UTC).
        observe: observe the source partitions the request reads first (an
            observation that fails blocks what reads it, see
            :class:`~partita.planner.FailedObservation`).
        read_only: write nothing (no observations, no dead-run marking) and never
            create the catalog: a project that never ran plans as empty. For
            questions such as ``partita status``.
    """
    moment = now or datetime.now(UTC)
    graph = project.graph
    chosen = targets(graph, selection)
    configs = resolve_config(graph, chosen, config or {})
    hashes = {name: config_hash(model) for name, model in configs.items()}
    request = PlanRequest(
        selection=selection, partitions=partitions, force=force, config_hashes=hashes
    )
    needed = [str(k) for k in assets_needed(graph, selection)]
    observed = calls = 0
    failures: tuple[FailedObservation, ...] = ()
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
                {name: keys.get(name) for name in dynamic_partitions_definitions(project)}
            )
            if not read_only:
                catalog.mark_dead_runs(now=moment)  # their unfinished steps become `abandoned`
                if observe:
                    wanted = source_partitions(graph, request, moment, dynamic=dynamic)
                    found = observe_sources(project, wanted)
                    observed = record_observations(catalog, found, moment)
                    calls, failures = found.calls, found.failures
            state = catalog.planner_state(needed)
    made = plan(graph, state, request, moment, dynamic=dynamic, failed_observations=failures)
    return Planned(
        plan=made,
        state=state,
        configs=configs,
        observed=observed,
        observe_calls=calls,
        dynamic=dynamic,
    )


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
        )
