"""Planning from Python and for ``partita plan``: observe sources, load state, plan.

``plan_project`` is what ``partita plan`` and ``partita materialize`` call: it
validates the run-time config, observes the sources the selection reads
(recording changed observations), loads the catalog's bulk state for the
assets involved, and hands everything to the pure planner.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from partita.api.config import config_hash, load_config_file, parse_assignments, resolve_config
from partita.api.project import Project, dynamic_partitions_definitions
from partita.catalog import SQLiteCatalog
from partita.context import AssetContext
from partita.errors import PlanError, UserCodeError
from partita.keys import AssetKey
from partita.partitions import (
    UNPARTITIONED,
    DynamicPartitionsStore,
    InMemoryDynamicPartitionsStore,
)
from partita.planner import (
    Plan,
    PlanRequest,
    Why,
    assets_needed,
    explain,
    plan,
    split_target,
    targets,
)
from partita.records import Observation, PlannerState, partition_column

__all__ = [
    "CatalogDynamicKeys",
    "explain_partition",
    "Planned",
    "config_values",
    "partition_request",
    "plan_project",
]


@dataclass(frozen=True)
class Planned:
    """A plan with what it was made from: the state snapshot, the validated config, and
    the dynamic partition keys it saw."""

    plan: Plan
    state: PlannerState
    configs: Mapping[str, BaseModel] = field(default_factory=dict)
    observed: int = 0
    dynamic: DynamicPartitionsStore = field(default_factory=InMemoryDynamicPartitionsStore)


@dataclass(frozen=True)
class CatalogDynamicKeys:
    """The catalog's dynamic partition keys, as the partitions package reads them."""

    catalog: SQLiteCatalog

    def get(self, name: str) -> list[str]:
        """The keys of dynamic partitions ``name``."""
        return list(self.catalog.get_dynamic_partitions(name))

    def add(self, name: str, keys: Iterable[str]) -> list[str]:
        """Add keys; return those that were new."""
        existing = set(self.catalog.get_dynamic_partitions(name))
        new = [k for k in dict.fromkeys(keys) if k not in existing]
        if new:
            self.catalog.add_dynamic_partitions(name, new)
        return new

    def delete(self, name: str, keys: Iterable[str]) -> None:
        """Remove keys."""
        self.catalog.delete_dynamic_partitions(name, list(keys))


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


def _observe_sources(
    project: Project, catalog: SQLiteCatalog, chosen: Sequence[AssetKey], now: datetime
) -> int:
    """Call each observed source's function for its partitions; record what changed."""
    graph = project.graph
    sources = sorted(
        {
            e.upstream
            for k in chosen
            for e in graph.upstream_edges(k)
            if graph.spec(e.upstream).is_source and graph.spec(e.upstream).fn is not None
        },
        key=str,
    )
    if not sources:
        return 0
    before = catalog.planner_state([str(k) for k in sources]).observations
    known = {
        (a, p): v
        for a, p, v in zip(
            before["asset"].to_pylist(),
            before["partition"].to_pylist(),
            before["data_version"].to_pylist(),
            strict=True,
        )
    }
    recorded = 0
    for key in sources:
        spec = graph.spec(key)
        definition = spec.partitions or UNPARTITIONED
        for partition in definition.keys(now, dynamic=CatalogDynamicKeys(catalog)):
            context = AssetContext(
                asset_key=key,
                partition_key=partition or None,
                partition_keys=(partition,) if partition else (),
                partition=definition.split(partition) if partition else {},
                time_window=definition.time_window(partition) if definition.is_time else None,
                resources=project.loaded.definitions.resources,
            )
            try:
                version = spec(context) if spec.context_param else spec()
            except Exception as exc:
                raise UserCodeError(
                    str(key), partition or None, exc, user_traceback=traceback.format_exc()
                ) from exc
            if version is None:
                continue
            text = str(version)
            if known.get((str(key), partition_column(partition or None))) != text:
                catalog.record_observation(
                    Observation(str(key), partition or None, text, observed_at=now)
                )
                recorded += 1
    return recorded


def plan_project(
    project: Project,
    selection: str | None = None,
    partitions: str | None = None,
    *,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    observe: bool = True,
    catalog: SQLiteCatalog | None = None,
    read_only: bool = False,
) -> Planned:
    """Observe sources, load the catalog state and plan ``selection``.

    Args:
        selection: an asset selection (``None``: everything).
        partitions: a key or an inclusive range ``A..B``.
        force: rebuild the selected partitions whatever their state.
        config: run-time config values (see :mod:`partita.api.config`).
        now: the planning time (default: the current time, UTC).
        observe: call the sources' observe functions first.
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
    observed = 0
    with ExitStack() as stack:
        if catalog is None:
            catalog = stack.enter_context(
                project.existing_catalog() if read_only else project.open_catalog()
            )
        if catalog is None:
            state, dynamic = PlannerState.empty(), InMemoryDynamicPartitionsStore()
        else:
            if not read_only:
                catalog.mark_dead_runs(now=moment)  # their unfinished steps become `abandoned`
                if observe:
                    observed = _observe_sources(project, catalog, chosen, moment)
            state = catalog.planner_state(needed)
            keys = CatalogDynamicKeys(catalog)
            dynamic = InMemoryDynamicPartitionsStore(
                {name: keys.get(name) for name in dynamic_partitions_definitions(project)}
            )
    made = plan(graph, state, request, moment, dynamic=dynamic)
    return Planned(plan=made, state=state, configs=configs, observed=observed, dynamic=dynamic)


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
            dynamic=CatalogDynamicKeys(catalog),
            code_components_of=catalog.code_components,
        )
