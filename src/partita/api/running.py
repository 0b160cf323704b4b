"""Materializing from Python and for ``partita materialize``: plan, then run.

:func:`materialize` plans the selection (observing sources, validating the
run-time config, see :mod:`partita.api.planning`), then hands the plan to the
runner with the project's catalog and stores. Nothing stale: nothing runs and
no run is recorded (``RunResult.status == "nothing_to_do"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import pyarrow as pa

from partita.alert_targets import AlertTarget
from partita.alerts import AlertSender
from partita.api.alerting import run_alert_subscribers
from partita.api.config import recorded_config, worker_configs
from partita.api.openlineage import openlineage_subscribers
from partita.api.planning import plan_project, requested
from partita.api.project import Project, ProjectLike, as_project
from partita.errors import (
    DefinitionError,
    PartitaError,
    PartitionKeyError,
    StorageError,
    StoreAccessError,
)
from partita.events import Subscriber
from partita.executor_config import DaskCluster
from partita.io import ParquetStore, ReachableStore, load_as
from partita.keys import AssetKey
from partita.planner.plan import PlanStep
from partita.runner import (
    CancelToken,
    ExecutorKind,
    ProjectRef,
    RunOptions,
    RunOutcome,
    RunResult,
    StagedChecks,
    TaskState,
    partition_path,
    resolve_store,
    run_asset_checks,
    run_plan,
)
from partita.runner.partition_columns import InputColumns, WrittenColumns
from partita.runner.process_executor import start_early

__all__ = [
    "CancelToken",
    "ExecutorKind",
    "MaterializeResult",
    "RunOutcome",
    "RunResult",
    "TaskState",
    "executor_choice",
    "materialize",
    "project_ref",
]


def project_ref(project: Project) -> ProjectRef:
    """How worker processes load ``project``: its definitions' origin and folders, or,
    for definitions built in memory, the definitions themselves (pickled).

    Raises:
        PartitaError: definitions built in memory cannot be pickled.
    """
    if project.in_memory:
        return ProjectRef.in_memory(
            project.loaded.definitions, str(project.data_path), tuple(sys.path)
        )
    return ProjectRef(
        origin=project.loaded.origin,
        root=str(project.loaded.code_root or project.loaded.root),
        data_path=str(project.data_path),
        sys_path=tuple(sys.path),
    )


@dataclass(frozen=True)
class MaterializeResult(RunResult):
    """A finished run, with a way to read what it built (:meth:`output_for`)."""

    project: Project | None = field(default=None, compare=False, repr=False)

    def output_for(
        self, asset: str | AssetKey, partition: str | None = None, *, as_type: Any = None
    ) -> Any:
        """The published rows of one partition of ``asset`` as the asset returned them,
        read through its store as ``as_type`` (a pandas DataFrame by default,
        ``pa.Table``, ...). Partition columns a read adds (``date``) are left out
        unless the asset wrote them itself.

        Raises:
            UnknownAssetError: no such asset (with close names).
            PartitionKeyError: ``partition`` is invalid for the asset, or missing
                for a partitioned one.
            StorageError: the partition is not stored.
        """
        if self.project is None:
            raise PartitaError("this result has no project to read outputs from")
        key, key_text = self.project.resolve_partition(asset, partition)
        spec = self.project.graph.spec(key)
        if spec.partitions is not None and key_text is None:
            raise PartitionKeyError(
                f"{key} is partitioned: say which partition",
                hint=f"output_for({str(key)!r}, {spec.partitions.example_key()!r})",
            )
        default = ParquetStore(self.project.data_path)
        store = resolve_store(spec, self.project.loaded.definitions, default)
        table: pa.Table = store.read(key, [partition_path(spec, key_text or "")], as_type=pa.Table)
        with self.project.open_catalog() as catalog:
            written = WrittenColumns(catalog).of(spec, [key_text or ""])
        shape = InputColumns.plan(spec, [key_text or ""], wanted=False, written=written)
        table = shape.table(table)
        return load_as(table, as_type)


def _check_stores(project: Project, steps: Sequence[PlanStep]) -> None:
    """Check once that each remote store the run writes can be reached (before any step
    runs: a missing bucket is one error, exit 2, not one failed step per asset)."""
    default = ParquetStore(project.data_path)
    seen: set[int] = set()
    checked: list[object] = []  # kept alive, so that ids in ``seen`` stay theirs
    for asset in dict.fromkeys(step.asset for step in steps):
        try:
            store = resolve_store(project.graph.spec(asset), project.loaded.definitions, default)
        except DefinitionError:
            continue  # the step itself fails with it (not retried), as without the check
        if id(store) in seen:
            continue
        seen.add(id(store))
        checked.append(store)
        if isinstance(store, ReachableStore):
            try:
                store.check_access()
            except StorageError as exc:
                raise StoreAccessError(exc.message, hint=exc.hint) from None


def executor_choice(
    project: Project,
    executor: ExecutorKind | str | DaskCluster | None,
    dask_address: str | None,
    max_workers: int | None,
) -> tuple[ExecutorKind, DaskCluster | None]:
    """The executor a run uses, and its Dask cluster when it is ``dask``.

    The run's ``executor`` wins, then the definitions' ``executor``, then the
    default (``process``; ``inprocess`` for definitions built in memory). A
    ``dask_address`` alone means ``dask``; given, it and ``max_workers``
    override the definitions' :class:`~partita.executor_config.DaskCluster`.

    Raises:
        PartitaError: an unknown executor, or a Dask address for another executor.
    """
    declared = project.loaded.definitions.executor
    chosen = executor if executor is not None else declared
    if chosen is None and dask_address is not None:
        chosen = ExecutorKind.DASK
    if chosen is None:
        chosen = ExecutorKind.INPROCESS if project.in_memory else ExecutorKind.PROCESS
    kind = ExecutorKind.DASK if isinstance(chosen, DaskCluster) else ExecutorKind.parse(chosen)
    if kind is not ExecutorKind.DASK:
        if dask_address is not None:
            raise PartitaError(
                f"a Dask scheduler address was given for the {kind} executor",
                hint="add --executor dask (or drop --dask-address)",
            )
        return kind, None
    base = chosen if isinstance(chosen, DaskCluster) else None
    if base is None and isinstance(declared, DaskCluster):
        base = declared
    base = base or DaskCluster()
    cluster = DaskCluster(
        address=dask_address or base.address,
        n_workers=max_workers or base.n_workers,
        connect_timeout_s=base.connect_timeout_s,
    )
    return kind, cluster


def materialize(
    project: ProjectLike,
    selection: str | None = None,
    *,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    force: bool = False,
    config: Mapping[str, Any] | None = None,
    executor: ExecutorKind | str | DaskCluster | None = None,
    max_workers: int | None = None,
    dask_address: str | None = None,
    now: datetime | None = None,
    subscribers: Sequence[Subscriber] = (),
    cancel: CancelToken | None = None,
    staged_checks: StagedChecks | None = run_asset_checks,
    lease_wait_s: float = 300.0,
    handle_signals: bool = True,
    on_failure: Sequence[AlertTarget] = (),
    alert_sender: AlertSender | None = None,
    openlineage_file: str | os.PathLike[str] | None = None,
) -> MaterializeResult:
    """Build the stale partitions of ``selection`` and record them in the catalog.

    ::

        result = partita.materialize(defs, partition_key="2025-01-07", home=tmp_path)
        assert result.success
        frame = result.output_for("daily_revenue", "2025-01-07")

    Args:
        project: a loaded project (:func:`partita.api.load_project`), or
            definitions built in memory: ``Definitions`` or a list of assets.
        selection: an asset selection (``None``: every asset).
        partition_key: build only this partition (of each selected asset).
        partition_range: build the partitions from ``first`` to ``last``, both
            included (a backfill). Give at most one of the two.
        home: where the catalog and the default store's data live (default: the
            project's home; for definitions built in memory, a temporary folder).
        force: rebuild the selected partitions even when they are up to date.
        config: run-time config values (``field``, ``asset.field``; see :mod:`partita.api.config`).
        executor: ``process``, ``thread``, ``inprocess``, ``dask`` or a
            :class:`~partita.executor_config.DaskCluster` (default: the definitions'
            ``executor``, else ``process`` for a loaded project, ``inprocess`` for
            definitions built in memory).
        max_workers: tasks at once (default: the number of CPUs; on a Dask
            cluster given by address, its threads).
        dask_address: the Dask scheduler to run on (``tcp://host:8786``; implies
            ``executor="dask"``); without one, ``dask`` starts a local cluster.
        now: the planning time (default: now, UTC).
        subscribers: who gets the run's events (:mod:`partita.events`), e.g. a
            display; each on its own thread, never slowing or failing the run.
        cancel: a token another thread may set to stop the run.
        staged_checks: run on each staged partition before it is published
            (default: every check of each asset; ``None``: no checks).
        lease_wait_s: how long to wait for a partition another run is building.
        handle_signals: Ctrl-C / SIGTERM cancel the run (main thread only).
        on_failure: alert targets for this run's failed steps, besides the assets'
            and the project's ``on_failure`` (which every run alerts, see
            :mod:`partita.api.alerting`).
        alert_sender: sends the alerts; one shared across runs (a daemon's) logs a
            dead target once, not once per run.
        openlineage_file: also write the run's OpenLineage events to this file,
            one JSON line each (events also go to a configured transport; see
            :mod:`partita.openlineage.config`).

    Returns:
        The run's result: ``success`` is false (``exit_code`` 1) when anything failed.

    Raises:
        PartitionKeyError: a requested key is invalid (the error names the definition).
        PartitaError: the executor cannot run these definitions (the process
            executor needs definitions it can send to worker processes).
        UnreachableError: the Dask scheduler cannot be reached.
    """
    project = as_project(project, home)
    subscribers = (*subscribers, *openlineage_subscribers(project, openlineage_file))
    kind, cluster = executor_choice(project, executor, dask_address, max_workers)
    partitions = requested(partition_key, partition_range)
    remote = kind in (ExecutorKind.PROCESS, ExecutorKind.DASK)
    ref = project_ref(project) if remote else None
    if kind is ExecutorKind.PROCESS:
        start_early()  # worker processes start up while the catalog is read and the plan made
    with project.open_catalog() as catalog:
        planned = plan_project(
            project,
            selection,
            partition_key=partition_key,
            partition_range=partition_range,
            force=force,
            config=config,
            now=now,
            catalog=catalog,
        )
        _check_stores(project, planned.plan.steps)
        options = RunOptions(
            executor=kind,
            max_workers=max_workers,
            dask=cluster,
            staged_checks=staged_checks,
            lease_wait_s=lease_wait_s,
            handle_signals=handle_signals,
            selection=() if selection is None else (selection,),
            partitions=() if partitions is None else (partitions.text,),
            config_text=recorded_config(config or {}, planned.configs),
            configs=worker_configs(planned.configs),
        )
        result = run_plan(
            planned.plan,
            project.graph,
            catalog,
            data_path=project.data_path,
            project=ref,
            options=options,
            subscribers=(*subscribers, *run_alert_subscribers(project, on_failure, alert_sender)),
            cancel=cancel,
            dynamic=catalog.dynamic_partitions,
            planned_from=planned.state,
        )
    values = {f.name: getattr(result, f.name) for f in fields(RunResult)}
    return MaterializeResult(**values, project=project)
