"""How to run a plan (:class:`RunOptions`), the catalog a run needs (:class:`RunCatalog`)
and run ids."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from partita.executor_config import DaskCluster
from partita.processes import this_host
from partita.records import CatalogReader, CatalogWriter, Run
from partita.runner.checking import StagedChecks, run_asset_checks
from partita.runner.executors import ExecutorKind

__all__ = ["RunCatalog", "RunOptions", "new_run_id", "run_started_here"]


class RunCatalog(CatalogReader, CatalogWriter, Protocol):
    """A catalog the runner can read and write, from the coordinator's thread and its
    heartbeat thread (:mod:`partita.runner.heartbeat`) at once."""


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan.

    Attributes:
        executor: ``process`` (default), ``thread``, ``inprocess`` or ``dask``.
        max_workers: parallel tasks (default: the number of CPUs).
        dask: the Dask cluster of the ``dask`` executor (default: a local one).
        staged_checks: run on each staged partition before it is published
            (default: the asset's built-in and custom checks; ``None``: none).
            Checks of sources run in the coordinator, once per source partition
            per run, unless ``None``.
        lease_wait_s: how long a task waits for another run's lease before it is skipped.
        lease_ttl_s: how long a lease lives without renewal.
        heartbeat_s: seconds between heartbeats (and lease renewals).
        handle_signals: turn SIGINT / SIGTERM into a cancellation (main thread only).
        selection, partitions, config_text: what the user asked for, recorded on the run.
        configs: per asset key string, its validated config as JSON with secrets in
            clear (for the workers; the run records ``config_text``, masked).
        events_flush_s: at run end, how long to wait for event subscribers to
            take the events queued for them.
    """

    executor: ExecutorKind | str = ExecutorKind.PROCESS
    max_workers: int | None = None
    dask: DaskCluster | None = None
    staged_checks: StagedChecks | None = run_asset_checks
    lease_wait_s: float = 300.0
    lease_ttl_s: float = 60.0
    heartbeat_s: float = 5.0
    handle_signals: bool = True
    selection: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    config_text: str = "{}"
    configs: Mapping[str, str] = field(default_factory=dict, repr=False)  # holds secrets
    events_flush_s: float = 5.0


def new_run_id(now: datetime) -> str:
    """``20250301T120000-3fa2c1``: sortable by start time, unique."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def run_started_here(
    now: datetime, kind: str, selection: tuple[str, ...], partitions: tuple[str, ...] = ()
) -> Run:
    """A new run of ``kind`` started at ``now`` by this process (for runs that are
    not a plan's: ``partita check``, ``partita verify --repair``)."""
    return Run(
        run_id=new_run_id(now),
        started_at=now,
        heartbeat_at=now,
        selection=selection,
        partitions=partitions,
        host=this_host(),
        pid=os.getpid(),
        kind=kind,
    )
