"""The catalog protocols: everything the rest of Partita may ask of a catalog.

:class:`CatalogReader` answers questions and :class:`CatalogWriter` records
(as SQLMesh's ``StateReader`` and ``StateSync``); :class:`Catalog` is both,
and closes. Callers name only these protocols: the runner reads and writes,
the api's read-only questions read, and the planner and freshness never see a
catalog at all, only the :class:`~partita.records.PlannerState` value a
reader hands out. An implementation (SQLite today) keeps its dialect, its
connections and any caches behind these methods, and passes the conformance
suite in ``tests/integration/test_catalog_conformance.py``.

Times are passed in (``now=``), never read inside. Partitions are
``str | None`` (``None`` for an unpartitioned asset); lease items are
``(asset, partition)`` pairs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, Self, runtime_checkable

import pyarrow as pa

from partita.partitions import DynamicPartitionsStore
from partita.records.automation import AutomationRecords
from partita.records.lineage import Direction, LineageGraph
from partita.records.state import PlannerState
from partita.records.values import (
    CheckRecord,
    Input,
    Materialization,
    Observation,
    Run,
    RunStatus,
    RunSummary,
    StepAttempt,
    StepRecord,
)

__all__ = ["Catalog", "CatalogReader", "CatalogWriter", "LeaseItem", "LeaseReader"]

LeaseItem = tuple[str, str | None]
"""``(asset, partition)``: what a lease covers (``None`` for an unpartitioned asset)."""


@runtime_checkable
class LeaseReader(Protocol):
    """A small read-only view of the leases, for the publish fence of a worker.

    Opened in the worker's own process (or thread pool) by the picklable
    function :meth:`CatalogReader.lease_reader_factory` returns; one indexed
    read per question, on a connection kept open between questions.
    """

    def lease_held(self, run_id: str, item: LeaseItem) -> str | None:
        """``None`` when run ``run_id`` still holds the lease of ``item``; else why not.

        The run holds it while the lease is recorded for it (nobody took it
        over, it was not released) and the run is still ``running`` with its
        coordinator alive (on this host; a run on another host counts as
        alive). An expired lease nobody took over is still held: no other run
        can be building the partition, since taking a lease over records the
        new holder. The reason names the run holding it now, if any.
        """
        ...

    def close(self) -> None:
        """Release the connection (a later question opens a new one)."""
        ...


@runtime_checkable
class CatalogReader(Protocol):
    """What may be asked of the catalog without recording anything.

    One exception, the same in every implementation: reading runs
    (:meth:`get_run`, :meth:`runs`) first marks dead runs ``crashed``
    (:meth:`CatalogWriter.mark_dead_runs`), so a run never shows as running
    forever.
    """

    @property
    def dynamic_partitions(self) -> DynamicPartitionsStore:
        """The keys of the dynamic partitions definitions, kept in this catalog."""
        ...

    def planner_state(
        self, assets: Sequence[str], *, as_of: datetime | None = None
    ) -> PlannerState:
        """The bulk state of ``assets`` from one consistent point in time.

        See :class:`~partita.records.PlannerState`; assets never recorded
        simply have no rows. With ``as_of``, the state as the catalog held it
        then: only materializations, attempts and observations recorded at or
        before ``as_of`` count (a partition rebuilt later counts with the
        materialization it had then).
        """
        ...

    def inputs_of(self, materialization_ids: Sequence[int]) -> pa.Table:
        """The recorded inputs of some materializations (:data:`~partita.records.INPUTS_SCHEMA`).

        One row per distinct upstream partition read, sorted by
        materialization, upstream asset and partition. For explaining a few
        stale partitions, not for bulk planning.
        """
        ...

    def code_components(self, code_version: str) -> dict[str, str] | None:
        """The component digests recorded with a code version, or ``None`` (to explain it)."""
        ...

    def sql_model(self, materialization_id: int) -> dict[str, object] | None:
        """The SQL model a materialization was built with (``{"dialect", "query",
        "column_lineage"}``), or ``None`` for a Python asset's build."""
        ...

    def latest_materialization(
        self, asset: str, partition: str | None = None
    ) -> Materialization | None:
        """The latest successful materialization of one partition, or ``None``."""
        ...

    def history(
        self, asset: str, partition: str | None = None, *, limit: int = 100
    ) -> list[Materialization]:
        """Materializations of ``asset`` (one partition, or all), newest first."""
        ...

    def lineage(
        self, materialization_id: int, *, direction: Direction = "up", depth: int = 10
    ) -> LineageGraph:
        """The lineage of one materialization, to ``depth`` levels.

        ``direction="up"`` answers "what exactly was this built from?",
        ``"down"`` "what did this exact version feed?". The root is a node at
        depth 0; edges say whether what was read is still ``current``.
        """
        ...

    def get_run(self, run_id: str, *, now: datetime) -> Run | None:
        """One run (a dead run shows as ``crashed``), or ``None``."""
        ...

    def runs(self, *, now: datetime, limit: int = 20) -> list[RunSummary]:
        """The latest runs, newest first; dead runs show as ``crashed``.

        Each with its duration (a running run's so far) and its step counts by status.
        """
        ...

    def attempts(
        self, run_id: str, *, asset: str | None = None, partition: str | None = None
    ) -> list[StepAttempt]:
        """The step attempts of a run with their log text, in the order they started."""
        ...

    def check_results(
        self,
        *,
        assets: Sequence[str] | None = None,
        partition: str | None = None,
        failed_only: bool = False,
        latest_only: bool = True,
        limit: int = 1000,
    ) -> list[CheckRecord]:
        """Check results, newest first.

        Args:
            assets: only these assets (``None``: every asset).
            partition: only this partition key (``None``: every partition).
            failed_only: only results that failed (with ``latest_only``:
                checks whose latest result failed).
            latest_only: only the latest result of each (asset, check, partition).
            limit: at most this many results.
        """
        ...

    def current_check_results(
        self, *, assets: Sequence[str] | None = None, partition: str | None = None
    ) -> list[CheckRecord]:
        """The check results of each partition's current state, newest first.

        Per partition: the results of the latest build attempt that recorded
        any (``source == "build"``), when that attempt produced the latest
        materialization or ended after it (a blocking check discarded its
        data); plus, per check, the latest re-check (``source == "recheck"``,
        a run of kind ``check``) of the latest materialization. Results of
        older attempts and re-checks of superseded data are left out.
        """
        ...

    def checks_of_materializations(
        self, materialization_ids: Sequence[int]
    ) -> dict[int, list[CheckRecord]]:
        """The check results linked to each materialization, in the order recorded.

        Both the results of the attempt that built it (``source == "build"``)
        and of re-checks of it (``source == "recheck"``). Materializations
        without results are left out.
        """
        ...

    def lease_holders(self, items: Sequence[LeaseItem], *, now: datetime) -> dict[LeaseItem, str]:
        """Which live run holds each of ``items`` (items nobody holds are left out)."""
        ...

    def pool_holders(self, pool: str, *, now: datetime) -> list[tuple[str, str, str]]:
        """The live slots of a concurrency pool: ``(run_id, asset, partition)``, oldest
        first (a slot lives as a lease does: until it expires, or its run ends or dies)."""
        ...

    def freshness_alert_states(self) -> dict[str, bool]:
        """Per asset whose freshness-alert state is recorded, whether it was violated."""
        ...

    def lease_reader_factory(self) -> Callable[[], LeaseReader]:
        """A picklable function that opens a :class:`LeaseReader` on this catalog.

        Called where the reader is used (a worker process, a thread pool), so
        a worker never needs the catalog object itself.
        """
        ...


@runtime_checkable
class CatalogWriter(Protocol):
    """What the runner (and ``partita plan`` / ``partita check``) record.

    Every method is one transaction: all of it is recorded, or nothing.
    Recording under a run id that was never started raises
    :class:`~partita.errors.CatalogError`.
    """

    def start_run(self, run: Run) -> None:
        """Record a new run (status ``running``) with its host, pid and time.

        Raises :class:`~partita.errors.CatalogError` when the id is taken.
        """
        ...

    def heartbeat(self, run_id: str, *, now: datetime) -> None:
        """Record that the run's coordinator is alive at ``now``."""
        ...

    def finish_run(
        self, run_id: str, status: RunStatus, *, now: datetime, error: str | None = None
    ) -> None:
        """Record the final status of a run; its unfinished attempts become ``abandoned``.

        Raises :class:`~partita.errors.CatalogError` for ``running`` or an unknown run.
        """
        ...

    def mark_dead_runs(self, *, now: datetime) -> list[str]:
        """Mark ``running`` runs whose coordinator is gone ``crashed``; return their ids.

        A run whose last heartbeat (its start, if it never beat) is older
        than the implementation's heartbeat timeout is dead; an
        implementation may also know sooner (SQLite: the run's process on
        this host is gone). Their unfinished attempts become ``abandoned``.
        """
        ...

    def record_attempt_start(self, attempt: StepAttempt) -> None:
        """Record that an attempt started (or is pending)."""
        ...

    def record_step_outcome(
        self,
        attempt: StepAttempt,
        materializations: Sequence[Materialization] = (),
        inputs: Sequence[Sequence[Input]] = (),
        checks: Sequence[CheckRecord] = (),
        *,
        upstream_assets: Sequence[str] = (),
    ) -> tuple[int, ...]:
        """Record a finished attempt with its materializations, inputs and checks.

        ``inputs[i]`` are the inputs of ``materializations[i]`` (missing
        entries mean none); an input without an upstream materialization id
        is linked to the upstream partition's latest one. ``upstream_assets``
        are the assets the step's asset depends on: each materialization gets
        an edge to each of them (and to every asset in its inputs), so an
        upstream it read nothing from is recorded with ``n_inputs = 0``. An
        attempt started before is updated (status, end, error, its logs
        appended); one never started is inserted. A materialization becomes
        its partition's latest. All or nothing; returns the ids given to the
        materializations, in order.
        """
        ...

    def record_batch(
        self, run_id: str, steps: Sequence[StepRecord], *, release: Sequence[LeaseItem] = ()
    ) -> list[tuple[int, ...]]:
        """Record many step rows of run ``run_id`` and release some of its leases, in one
        transaction (the runner's group commit).

        ``steps`` are applied in order (a start, then the outcome of the same
        attempt, may be in one batch), each as :meth:`record_attempt_start` or
        :meth:`record_step_outcome` records it; ``release`` are leases of the run
        to release in the same transaction. All or nothing; returns, per step, the
        ids given to its materializations (``()`` for a start).
        """
        ...

    def record_checks(self, checks: Sequence[CheckRecord]) -> None:
        """Record results of checks run on published data (each with its run id and time)."""
        ...

    def record_wipe(
        self, asset: str, partitions: Sequence[str | None] | None, *, now: datetime
    ) -> list[str | None]:
        """Record that the stored data of ``partitions`` of ``asset`` (``None``: every
        partition; ``None`` in the list: the unpartitioned asset) was deleted at ``now``.

        From then on those partitions have no latest materialization (the
        planner sees them ``missing``) and an earlier failure of them no longer
        counts; their history stays. Returns the partitions that had a
        materialization.
        """
        ...

    def record_observation(self, observation: Observation) -> None:
        """Record the observed data version of a source asset's partition."""
        ...

    def acquire_leases(
        self, run_id: str, items: Sequence[LeaseItem], *, now: datetime, ttl_s: float
    ) -> list[LeaseItem]:
        """Lease ``items`` to a run until ``now + ttl_s``.

        Returns the items acquired, in order and once each: free ones, ones
        this run holds (renewed), and ones whose lease expired or whose run
        is finished or dead. The others are held by another live run: wait
        and ask again, or skip them. Two runs asking at once split the items,
        never share one.
        """
        ...

    def renew_leases(self, run_id: str, *, now: datetime, ttl_s: float) -> int:
        """Extend every lease and pool slot of a run to ``now + ttl_s``; returns how many
        leases it holds."""
        ...

    def release_leases(self, run_id: str, items: Sequence[LeaseItem] | None = None) -> int:
        """Release some (default: all) leases of a run; returns how many were released."""
        ...

    def acquire_pool_slot(
        self, run_id: str, pool: str, size: int, item: LeaseItem, *, now: datetime, ttl_s: float
    ) -> bool:
        """Take one of the ``size`` slots of concurrency pool ``pool`` for one step
        (``item``: its asset and partition label) of a run, until ``now + ttl_s``.

        ``False`` when live steps hold every slot (wait and ask again). Counting
        and taking are one transaction: two runs asking at once never both take
        the last slot. A slot the step already holds is kept (``True``).
        """
        ...

    def release_pool_slots(self, run_id: str, items: Sequence[LeaseItem] | None = None) -> int:
        """Release some (default: all) pool slots of a run; returns how many."""
        ...

    def change_freshness_alert_state(
        self, asset: str, violated: bool, *, status: str, now: datetime
    ) -> bool:
        """Record whether an asset's freshness policy is violated (``status``: the
        freshness status in words); ``True`` when that changed (an asset never
        recorded counts as not violated). A compare-and-set in one transaction: of
        two callers at once, only one gets ``True`` and alerts."""
        ...


@runtime_checkable
class Catalog(CatalogReader, CatalogWriter, Protocol):
    """A catalog opened by :func:`partita.catalog.open_catalog`: read, write, close.

    A context manager: ``with open_catalog(path) as catalog: ...`` closes it.
    """

    def close(self) -> None:
        """Release this process's connection (a later call opens a new one)."""
        ...

    @property
    def automation(self) -> AutomationRecords:
        """The daemon's records: ticks, cursors, the daemon lock."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
