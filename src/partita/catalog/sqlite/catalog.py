"""The SQLite catalog: one file in WAL mode, safe for several processes at once.

:class:`SQLiteCatalog` implements :class:`~partita.records.Catalog` (the
reader and writer protocols); its ``dynamic_partitions`` implement
:class:`~partita.partitions.DynamicPartitionsStore`. Every write is one
``BEGIN IMMEDIATE`` transaction, so a process killed at any point leaves
either all of a step's outcome or none of it. History is append-only; the
``latest_materialization`` pointer table is a derived index maintained in the
same transaction as each insert.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa

from partita.catalog.sqlite import leases
from partita.catalog.sqlite.automation import SQLiteAutomation
from partita.catalog.sqlite.checks import (
    check_results,
    checks_of_materializations,
    current_check_results,
)
from partita.catalog.sqlite.connection import DEFAULT_BUSY_TIMEOUT_S, ConnectionHolder, to_epoch
from partita.catalog.sqlite.dynamic import SQLiteDynamicPartitions
from partita.catalog.sqlite.leases import SQLiteLeaseReader
from partita.catalog.sqlite.lineage import query_lineage
from partita.catalog.sqlite.pools import PoolsAndAlertStates, renew_slots
from partita.catalog.sqlite.reads import (
    attempts_of_run,
    latest_of_partition,
    materialization_history,
    run_summaries,
)
from partita.catalog.sqlite.runs import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    RUN_COLUMNS,
    finish_run,
    insert_run,
    mark_dead_runs,
    run_from_row,
)
from partita.catalog.sqlite.snapshot import StateBlocks, write_blocks
from partita.catalog.sqlite.sql_models import sql_model_of
from partita.catalog.sqlite.state import (
    DEFAULT_REFRESH_ROWS,
    catalog_generation,
    load_inputs,
    load_state,
)
from partita.catalog.sqlite.state_as_of import load_planner_state_as_of, recorded_after
from partita.catalog.sqlite.wipes import record_wipe
from partita.catalog.sqlite.writes import (
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

__all__ = ["DEFAULT_CATALOG_PATH", "SQLiteCatalog"]

DEFAULT_CATALOG_PATH = Path(".partita") / "catalog.db"
"""Where a project keeps its catalog, relative to the project folder."""


class SQLiteCatalog(PoolsAndAlertStates):
    """The lineage catalog in one SQLite file (created with its folders if missing).

    Args:
        path: the catalog file, usually ``<project>/.partita/catalog.db``.
        busy_timeout_s: how long a write waits for another process's write.
        heartbeat_timeout: a running run silent for this long is ``crashed``.
        snapshot_refresh_rows: write new state blocks (the planner's state
            as Arrow columns inside the catalog, see
            :mod:`~partita.catalog.sqlite.snapshot`) once a state load or a
            bulk record had to read this many latest rows from SQLite.
        init: start a new empty catalog when the file at ``path`` is not a
            usable one (it is moved aside, see :attr:`moved_aside`) instead of
            refusing it with :class:`~partita.errors.CatalogError`; also run
            the integrity check. A missing file is always created.

    One object may be shared by the threads of a process; after ``fork`` the
    child opens its own connection on first use.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_CATALOG_PATH,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
        snapshot_refresh_rows: int = DEFAULT_REFRESH_ROWS,
        init: bool = False,
    ) -> None:
        self.path = Path(path)
        self.heartbeat_timeout = heartbeat_timeout
        self.refresh_rows = snapshot_refresh_rows
        self._db = ConnectionHolder(self.path, busy_timeout_s=busy_timeout_s, init=init)
        self._db.connection()
        self._dynamic = SQLiteDynamicPartitions(self._db)
        self._automation = SQLiteAutomation(self._db)

    @property
    def created(self) -> bool:
        """Whether opening this object created the catalog file."""
        return self._db.created

    @property
    def integrity_checked(self) -> bool:
        """Whether opening ran ``PRAGMA quick_check`` (after an unclean shutdown, or ``init``)."""
        return self._db.integrity_checked

    @property
    def moved_aside(self) -> Path | None:
        """Where ``init=True`` moved a refused file (``None``: none, or an empty one removed)."""
        return self._db.moved_aside

    @property
    def refused(self) -> str | None:
        """Why ``init=True`` replaced the file that was there, if it did."""
        return self._db.refused

    @property
    def dynamic_partitions(self) -> SQLiteDynamicPartitions:
        """The keys of dynamic partitions definitions, in this file."""
        return self._dynamic

    @property
    def automation(self) -> SQLiteAutomation:
        """The daemon's records (ticks, cursors, the daemon lock), in this file."""
        return self._automation

    def close(self) -> None:
        """Close this process's connection."""
        self._db.close()

    def __enter__(self) -> SQLiteCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            return mark_dead_runs(conn, now=now, heartbeat_timeout=self.heartbeat_timeout)

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
        recorded. Afterwards the state blocks are brought up to date (in a
        transaction of their own), so the next state load reads columns.
        """
        with self._db.write() as conn:
            count = len(insert_materializations(conn, items, upstream_assets or {}))
        self._refresh_blocks()
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
            return leases.acquire(conn, run_id, items, now=now, ttl_s=ttl_s)

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
            return leases.holders(conn, items, now=now)

    def lease_reader_factory(self) -> Callable[[], SQLiteLeaseReader]:
        """A picklable function opening a :class:`~partita.records.LeaseReader` on this file
        (its connection opens on the first question, in the process that asks)."""
        return functools.partial(
            SQLiteLeaseReader, self.path, busy_timeout_s=self._db.busy_timeout_s
        )

    # ---------------------------------------------------------------- reads

    def planner_state(
        self, assets: Sequence[str], *, as_of: datetime | None = None
    ) -> PlannerState:
        """The bulk state of ``assets`` as Arrow tables, from one consistent point in time.

        Served from the state blocks inside the catalog plus what was
        recorded since (see :mod:`partita.catalog.sqlite.state`); the result
        is always exactly what the catalog holds. With ``as_of``, the state as
        it was then (see :mod:`partita.catalog.sqlite.state_as_of`), through
        the blocks too when nothing was recorded after ``as_of``.
        """
        with self._db.read() as conn:
            if as_of is not None and recorded_after(conn, as_of):
                return load_planner_state_as_of(conn, assets, as_of)
            state, blocks = load_state(conn, assets, refresh_rows=self.refresh_rows)
        if blocks is not None:
            self._write_blocks(blocks)
        return state

    def _write_blocks(self, blocks: StateBlocks) -> None:
        """Write new state blocks; a catalog that cannot be written now (another process
        holds its write lock, a read-only file) keeps its old ones: never waited for."""
        with suppress(CatalogError), self._db.write(wait=False) as conn:
            write_blocks(conn, blocks, catalog_generation(conn))

    def _refresh_blocks(self) -> None:
        """Bring the state blocks up to date when enough rows were recorded since."""
        with self._db.read() as conn:
            _, blocks = load_state(conn, [], refresh_rows=self.refresh_rows)
        if blocks is not None:
            self._write_blocks(blocks)

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

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        with self._db.read() as conn:
            return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
