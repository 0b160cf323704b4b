"""The catalog's logic shared by every SQL backend: :class:`SqlCatalog`.

Each method is one transaction on the backend's :class:`~.db.Database`
(``write()`` or ``read()``) running the shared modules of this package. A
backend subclasses it with how it opens its database, its lease reader for
workers, and how it loads the planner's bulk state fast.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Self

import pyarrow as pa

from partita.catalog.common import leases
from partita.catalog.common.automation import SqlAutomation
from partita.catalog.common.checks import (
    check_results,
    checks_of_materializations,
    current_check_results,
)
from partita.catalog.common.db import Database, to_epoch
from partita.catalog.common.dynamic import SqlDynamicPartitions
from partita.catalog.common.lineage import query_lineage
from partita.catalog.common.pools import PoolsAndAlertStates, renew_slots
from partita.catalog.common.reads import (
    attempts_of_run,
    latest_of_partition,
    materialization_history,
    run_summaries,
)
from partita.catalog.common.runs import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    RUN_COLUMNS,
    finish_run,
    insert_run,
    mark_dead_runs,
    run_from_row,
)
from partita.catalog.common.sql_models import sql_model_of
from partita.catalog.common.tables import load_inputs
from partita.catalog.common.wipes import record_wipe
from partita.catalog.common.writes import (
    insert_attempt,
    insert_checks,
    insert_materializations,
    record_steps,
)
from partita.errors import CatalogError
from partita.records import (
    CheckRecord,
    Direction,
    Input,
    LeaseReader,
    LineageGraph,
    Materialization,
    Observation,
    PlannerState,
    Run,
    RunStatus,
    RunSummary,
    StepAttempt,
    StepRecord,
    partition_column,
)

__all__ = ["SqlCatalog"]


class SqlCatalog(PoolsAndAlertStates, ABC):
    """A :class:`~partita.records.Catalog` on a :class:`~.db.Database` (see the module).

    Subclasses set ``_db`` and ``heartbeat_timeout`` and implement
    :meth:`planner_state` and :meth:`lease_reader_factory`.
    """

    _db: Database
    heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT

    def _setup_records(self) -> None:
        """Create the dynamic-partition and automation views on ``_db``."""
        self._dynamic = SqlDynamicPartitions(self._db)
        self._automation = SqlAutomation(self._db)

    @property
    def dynamic_partitions(self) -> SqlDynamicPartitions:
        """The keys of dynamic partitions definitions, in this catalog."""
        return self._dynamic

    @property
    def automation(self) -> SqlAutomation:
        """The daemon's records (ticks, cursors, the daemon lock), in this catalog."""
        return self._automation

    @abstractmethod
    def close(self) -> None:
        """Release this process's connection (a later call opens a new one)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _after_bulk_record(self) -> None:
        """Called after :meth:`record_materializations_bulk` (nothing by default)."""

    @abstractmethod
    def planner_state(
        self, assets: Sequence[str], *, as_of: datetime | None = None
    ) -> PlannerState:
        """The bulk state of ``assets`` (see
        :meth:`~partita.records.CatalogReader.planner_state`)."""

    @abstractmethod
    def lease_reader_factory(self) -> Callable[[], LeaseReader]:
        """A picklable function opening a :class:`~partita.records.LeaseReader` on this catalog."""

    # ----------------------------------------------------------------- runs

    def start_run(self, run: Run) -> None:
        """Record a new run (status ``running``) with its host, pid and time."""
        with self._db.write() as conn:
            insert_run(conn, run)

    def heartbeat(self, run_id: str, *, now: datetime) -> None:
        """Record that the run's coordinator is alive at ``now``."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (to_epoch(now), run_id)
            )

    def finish_run(
        self, run_id: str, status: RunStatus, *, now: datetime, error: str | None = None
    ) -> None:
        """Record the final status of a run; its unfinished attempts become ``abandoned``."""
        with self._db.write() as conn:
            finish_run(conn, run_id, status, now=now, error=error)

    def mark_dead_runs(self, *, now: datetime) -> list[str]:
        """Mark runs whose process is gone (or silent too long) ``crashed``; return their ids."""
        with self._db.read() as conn:
            running = conn.execute("SELECT 1 FROM runs WHERE status = 'running' LIMIT 1")
            if running.fetchone() is None:
                return []
        with self._db.write() as conn:
            return mark_dead_runs(
                conn,
                now=now,
                heartbeat_timeout=self.heartbeat_timeout,
                by_pid=self._db.pid_checks,
            )

    def get_run(self, run_id: str, *, now: datetime) -> Run | None:
        """One run (a dead run shows as ``crashed``), or ``None``."""
        self.mark_dead_runs(now=now)
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        return None if row is None else run_from_row(row)

    def runs(self, *, now: datetime, limit: int = 20) -> list[RunSummary]:
        """The latest runs, newest first, with durations and step counts by status."""
        self.mark_dead_runs(now=now)
        with self._db.read() as conn:
            return run_summaries(conn, limit=limit, now=now)

    # ------------------------------------------------------------- attempts

    def record_attempt_start(self, attempt: StepAttempt) -> None:
        """Record that an attempt started (or is pending)."""
        with self._db.write() as conn:
            insert_attempt(conn, attempt)

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
        entries mean no inputs). ``upstream_assets`` are the assets the step's
        asset depends on: every materialization gets an edge to each, with
        ``n_inputs = 0`` and fingerprint 0 when it read nothing from one
        (assets named in its inputs get edges anyway). All of it is one
        transaction; returns the ids given to the materializations. An
        attempt not started before is inserted; one started is updated
        (status, end, error, logs appended).
        """
        step = StepRecord(
            attempt,
            materializations=tuple(materializations),
            inputs=tuple(tuple(i) for i in inputs),
            checks=tuple(checks),
            upstream_assets=tuple(upstream_assets),
        )
        with self._db.write() as conn:
            return record_steps(conn, [step])[0]

    def record_batch(
        self,
        run_id: str,
        steps: Sequence[StepRecord],
        *,
        release: Sequence[tuple[str, str | None]] = (),
    ) -> list[tuple[int, ...]]:
        """Record step rows of a run and release some of its leases in one transaction
        (starts inserted, outcomes as :meth:`record_step_outcome`); returns each step's
        materialization ids."""
        with self._db.write() as conn:
            ids = record_steps(conn, steps)
            if release:
                leases.release(conn, run_id, release)
            return ids

    def record_materializations_bulk(
        self,
        items: Iterable[tuple[Materialization, Sequence[Input]]],
        *,
        upstream_assets: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """Record many materializations with their inputs in one transaction.

        For imports and benchmarks: rows are inserted with ``executemany`` in
        chunks, the latest pointers kept up to date, all or nothing. Items are
        consumed lazily. ``upstream_assets[asset]`` are the assets ``asset``
        depends on (see :meth:`record_step_outcome`). Returns how many were
        recorded. Afterwards a backend may bring derived state up to date
        (SQLite: its state blocks).
        """
        with self._db.write() as conn:
            count = len(insert_materializations(conn, items, upstream_assets or {}))
        self._after_bulk_record()
        return count

    def record_checks(self, checks: Sequence[CheckRecord]) -> None:
        """Record check results of published data (``partita check``, source checks).

        Each record carries its run id, time and, when known, the
        materialization it checked; all of them in one transaction.
        """
        with self._db.write() as conn:
            insert_checks(conn, None, checks, {})

    def check_results(
        self,
        *,
        assets: Sequence[str] | None = None,
        partition: str | None = None,
        failed_only: bool = False,
        latest_only: bool = True,
        limit: int = 1000,
    ) -> list[CheckRecord]:
        """Check results, newest first: by default the latest per check and partition."""
        with self._db.read() as conn:
            return check_results(
                conn,
                assets=assets,
                partition=partition,
                failed_only=failed_only,
                latest_only=latest_only,
                limit=limit,
            )

    def current_check_results(
        self, *, assets: Sequence[str] | None = None, partition: str | None = None
    ) -> list[CheckRecord]:
        """The check results of each partition's current state (builds and re-checks)."""
        with self._db.read() as conn:
            return current_check_results(conn, assets=assets, partition=partition)

    def checks_of_materializations(
        self, materialization_ids: Sequence[int]
    ) -> dict[int, list[CheckRecord]]:
        """The check results of some materializations (for lineage and history)."""
        with self._db.read() as conn:
            return checks_of_materializations(conn, materialization_ids)

    def record_wipe(
        self, asset: str, partitions: Sequence[str | None] | None, *, now: datetime
    ) -> list[str | None]:
        """Record that the stored data of ``partitions`` (``None``: every partition)
        of ``asset`` was deleted; return the partitions that had a materialization.

        Each partition gets a ``wipes`` row (with the materialization it
        cleared) and loses its ``latest_materialization`` row, in one
        transaction; a whole-asset wipe adds a row without a partition, which
        also ends the failures of partitions never built. The catalog's
        generation moves on, so state blocks written before are not used again.
        """
        with self._db.write() as conn:
            return record_wipe(conn, asset, partitions, now=now)

    def record_observation(self, observation: Observation) -> None:
        """Record the observed data version of a source asset's partition."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO observations (asset, partition, data_version, output_hash, "
                "observed_at, run_id) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    observation.asset,
                    partition_column(observation.partition),
                    observation.data_version,
                    observation.output_hash,
                    to_epoch(observation.observed_at),
                    observation.run_id,
                ),
            )

    # ---------------------------------------------------------------- leases

    def acquire_leases(
        self,
        run_id: str,
        items: Sequence[tuple[str, str | None]],
        *,
        now: datetime,
        ttl_s: float,
    ) -> list[tuple[str, str | None]]:
        """Lease ``(asset, partition)`` items to a run until ``now + ttl_s``, in one transaction.

        Returns the items acquired: free ones, ones the run already holds
        (renewed), and ones whose lease expired or whose run is finished or
        dead (its process gone on this host). Items held by another live run
        are left out: wait and ask again, or skip them.
        """
        with self._db.write() as conn:
            return leases.acquire(
                conn, run_id, items, now=now, ttl_s=ttl_s, by_pid=self._db.pid_checks
            )

    def renew_leases(self, run_id: str, *, now: datetime, ttl_s: float) -> int:
        """Extend every lease (and pool slot) of a run to ``now + ttl_s``; returns how
        many leases it holds."""
        with self._db.write() as conn:
            renew_slots(conn, run_id, now=now, ttl_s=ttl_s)
            return leases.renew(conn, run_id, now=now, ttl_s=ttl_s)

    def release_leases(
        self, run_id: str, items: Sequence[tuple[str, str | None]] | None = None
    ) -> int:
        """Release some (default: all) leases of a run; returns how many were released."""
        with self._db.write() as conn:
            return leases.release(conn, run_id, items)

    def lease_holders(
        self, items: Sequence[tuple[str, str | None]], *, now: datetime
    ) -> dict[tuple[str, str | None], str]:
        """Which live run holds each of ``items`` (items nobody holds are left out)."""
        with self._db.read() as conn:
            return leases.holders(conn, items, now=now, by_pid=self._db.pid_checks)

    # ---------------------------------------------------------------- reads

    def inputs_of(self, materialization_ids: Sequence[int]) -> pa.Table:
        """The recorded inputs of some materializations (to explain a few stale partitions)."""
        with self._db.read() as conn:
            return load_inputs(conn, materialization_ids)

    def code_components(self, code_version: str) -> dict[str, str] | None:
        """The component digests recorded with a code version, or ``None`` (to explain it)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT components FROM code_components WHERE code_version = ?", (code_version,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def sql_model(self, materialization_id: int) -> dict[str, object] | None:
        """The SQL model a materialization was built with, or ``None`` (see the protocol)."""
        with self._db.read() as conn:
            return sql_model_of(conn, materialization_id)

    def latest_materialization(
        self, asset: str, partition: str | None = None
    ) -> Materialization | None:
        """The latest successful materialization of one partition, or ``None``."""
        with self._db.read() as conn:
            return latest_of_partition(conn, asset, partition)

    def history(
        self, asset: str, partition: str | None = None, *, limit: int = 100
    ) -> list[Materialization]:
        """Materializations of ``asset`` (one partition, or all), newest first."""
        with self._db.read() as conn:
            return materialization_history(conn, asset, partition, limit=limit)

    def attempts(
        self, run_id: str, *, asset: str | None = None, partition: str | None = None
    ) -> list[StepAttempt]:
        """The step attempts of a run with their logs, in the order they started."""
        with self._db.read() as conn:
            return attempts_of_run(conn, run_id, asset=asset, partition=partition)

    def lineage(
        self, materialization_id: int, *, direction: Direction = "up", depth: int = 10
    ) -> LineageGraph:
        """The lineage of one materialization, to ``depth`` levels.

        ``direction="up"`` answers "what exactly was this built from?",
        ``"down"`` "what did this exact version feed?".
        """
        if direction not in ("up", "down"):
            raise CatalogError(f"lineage direction must be 'up' or 'down', not {direction!r}")
        with self._db.read() as conn:
            return query_lineage(conn, materialization_id, direction, depth)
