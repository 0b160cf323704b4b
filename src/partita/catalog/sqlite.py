"""The SQLite catalog: one file in WAL mode, safe for several processes at once.

:class:`SQLiteCatalog` implements :class:`~partita.records.CatalogReader`,
:class:`~partita.records.CatalogWriter` and
:class:`~partita.records.DynamicPartitionsStore`. Every write is one
``BEGIN IMMEDIATE`` transaction, so a process killed at any point leaves
either all of a step's outcome or none of it. History is append-only; the
``latest_materialization`` pointer table is a derived index maintained in the
same transaction as each insert.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

from partita.catalog.connection import DEFAULT_BUSY_TIMEOUT_S, ConnectionHolder, to_epoch
from partita.catalog.lineage import Direction, LineageGraph, query_lineage
from partita.catalog.reads import (
    attempts_of_run,
    latest_of_partition,
    materialization_history,
    run_summaries,
)
from partita.catalog.runs import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    RUN_COLUMNS,
    mark_dead_runs,
    run_from_row,
)
from partita.catalog.state import load_planner_state
from partita.errors import CatalogError
from partita.records import (
    CheckRecord,
    Input,
    Materialization,
    Observation,
    PlannerState,
    Run,
    RunStatus,
    RunSummary,
    StepAttempt,
    input_fingerprint,
    partition_column,
)

__all__ = ["DEFAULT_CATALOG_PATH", "SQLiteCatalog"]

DEFAULT_CATALOG_PATH = Path(".partita") / "catalog.db"
"""Where a project keeps its catalog, relative to the project folder."""

_BULK_CHUNK = 20_000

_INSERT_MATERIALIZATION = """
INSERT INTO materializations (id, asset, partition, run_id, code_version, config_hash,
    data_version, input_fingerprint, rows, bytes, schema, location, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_LATEST = """
INSERT INTO latest_materialization (asset, partition, materialization_id, data_version,
    code_version, config_hash, input_fingerprint, run_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (asset, partition) DO UPDATE SET
    materialization_id = excluded.materialization_id,
    data_version = excluded.data_version,
    code_version = excluded.code_version,
    config_hash = excluded.config_hash,
    input_fingerprint = excluded.input_fingerprint,
    run_id = excluded.run_id,
    created_at = excluded.created_at
WHERE excluded.materialization_id > latest_materialization.materialization_id
"""

# An input without an explicit upstream materialization links the upstream
# partition's latest one, looked up in the same statement.
_INSERT_INPUT = """
INSERT INTO inputs (materialization_id, upstream_asset, upstream_partition,
    upstream_materialization_id, upstream_data_version)
SELECT ?, ?, ?, COALESCE(?, (SELECT materialization_id FROM latest_materialization
                             WHERE asset = ? AND partition = ?)), ?
"""


def _input_rows(mid: int, inputs: Sequence[Input]) -> Iterator[tuple[object, ...]]:
    for item in inputs:
        partition = partition_column(item.upstream_partition)
        yield (
            mid,
            item.upstream_asset,
            partition,
            item.upstream_materialization_id,
            item.upstream_asset,
            partition,
            item.upstream_data_version,
        )


class SQLiteCatalog:
    """The lineage catalog in one SQLite file (created with its folders if missing).

    Args:
        path: the catalog file, usually ``<project>/.partita/catalog.db``.
        busy_timeout_s: how long a write waits for another process's write.
        heartbeat_timeout: a running run silent for this long is ``crashed``.

    One object may be shared by the threads of a process; after ``fork`` the
    child opens its own connection on first use.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_CATALOG_PATH,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.heartbeat_timeout = heartbeat_timeout
        self._db = ConnectionHolder(self.path, busy_timeout_s=busy_timeout_s)
        self._db.connection()

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
            try:
                conn.execute(
                    f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.run_id,
                        str(run.status),
                        to_epoch(run.started_at),
                        None if run.finished_at is None else to_epoch(run.finished_at),
                        to_epoch(run.heartbeat_at or run.started_at),
                        json.dumps(list(run.selection)),
                        json.dumps(list(run.partitions)),
                        run.config,
                        run.host,
                        run.pid,
                        run.partita_version,
                        run.error,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise CatalogError(f"a run with id {run.run_id!r} already exists") from exc

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
        if status is RunStatus.RUNNING:
            raise CatalogError("finish_run needs a final status, not 'running'")
        with self._db.write() as conn:
            updated = conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE run_id = ?",
                (str(status), to_epoch(now), error, run_id),
            ).rowcount
            if updated == 0:
                raise CatalogError(f"no run with id {run_id!r}")
            conn.execute(
                "UPDATE step_attempts SET status = 'abandoned', finished_at = ? "
                "WHERE run_id = ? AND status IN ('pending', 'running')",
                (to_epoch(now), run_id),
            )

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
            conn.execute(
                "INSERT INTO step_attempts (run_id, asset, partition, attempt, status, "
                "started_at, finished_at, error, logs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.run_id,
                    attempt.asset,
                    partition_column(attempt.partition),
                    attempt.attempt,
                    str(attempt.status),
                    to_epoch(attempt.started_at),
                    None if attempt.finished_at is None else to_epoch(attempt.finished_at),
                    attempt.error,
                    attempt.logs,
                ),
            )

    def record_step_outcome(
        self,
        attempt: StepAttempt,
        materializations: Sequence[Materialization] = (),
        inputs: Sequence[Sequence[Input]] = (),
        checks: Sequence[CheckRecord] = (),
    ) -> tuple[int, ...]:
        """Record a finished attempt with its materializations, inputs and checks.

        ``inputs[i]`` are the inputs of ``materializations[i]`` (missing
        entries mean no inputs). All of it is one transaction; returns the ids
        given to the materializations. An attempt not started before is
        inserted; one started is updated (status, end, error, logs appended).
        """
        if len(inputs) > len(materializations):
            raise CatalogError("more input lists than materializations in one step outcome")
        with self._db.write() as conn:
            self._upsert_attempt(conn, attempt)
            ids = self._insert_materializations(
                conn,
                list(zip(materializations, self._pad(inputs, len(materializations)), strict=True)),
                None,
            )
            by_partition = {
                (m.asset, partition_column(m.partition)): mid
                for m, mid in zip(materializations, ids, strict=True)
            }
            for check in checks:
                key = (check.asset, partition_column(check.partition))
                conn.execute(
                    "INSERT INTO check_results (run_id, materialization_id, asset, partition, "
                    "check_name, passed, severity, message, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        check.run_id or attempt.run_id,
                        check.materialization_id or by_partition.get(key),
                        check.asset,
                        key[1],
                        check.check_name,
                        int(check.passed),
                        check.severity,
                        check.message,
                        to_epoch(check.created_at or attempt.finished_at or attempt.started_at),
                    ),
                )
        return tuple(ids)

    @staticmethod
    def _pad(inputs: Sequence[Sequence[Input]], count: int) -> list[Sequence[Input]]:
        return [*inputs, *([()] * (count - len(inputs)))]

    @staticmethod
    def _upsert_attempt(conn: sqlite3.Connection, attempt: StepAttempt) -> None:
        partition = partition_column(attempt.partition)
        finished = None if attempt.finished_at is None else to_epoch(attempt.finished_at)
        updated = conn.execute(
            "UPDATE step_attempts SET status = ?, finished_at = ?, error = ?, "
            "logs = logs || ? WHERE run_id = ? AND asset = ? AND partition = ? AND attempt = ?",
            (
                str(attempt.status),
                finished,
                attempt.error,
                attempt.logs,
                attempt.run_id,
                attempt.asset,
                partition,
                attempt.attempt,
            ),
        ).rowcount
        if updated == 0:
            conn.execute(
                "INSERT INTO step_attempts (run_id, asset, partition, attempt, status, "
                "started_at, finished_at, error, logs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.run_id,
                    attempt.asset,
                    partition,
                    attempt.attempt,
                    str(attempt.status),
                    to_epoch(attempt.started_at),
                    finished,
                    attempt.error,
                    attempt.logs,
                ),
            )

    @staticmethod
    def _insert_materializations(
        conn: sqlite3.Connection,
        items: Iterable[tuple[Materialization, Sequence[Input]]],
        chunk_size: int | None,
    ) -> list[int]:
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM materializations").fetchone()
        next_id = int(row[0]) + 1
        ids: list[int] = []
        iterator = iter(items)
        while True:
            chunk = list(islice(iterator, chunk_size or _BULK_CHUNK))
            if not chunk:
                return ids
            m_rows: list[tuple[object, ...]] = []
            l_rows: list[tuple[object, ...]] = []
            i_rows: list[tuple[object, ...]] = []
            for mat, mat_inputs in chunk:
                mid = next_id
                next_id += 1
                ids.append(mid)
                partition = partition_column(mat.partition)
                fingerprint = mat.input_fingerprint or input_fingerprint(mat_inputs)
                created = to_epoch(mat.created_at)
                m_rows.append(
                    (
                        mid,
                        mat.asset,
                        partition,
                        mat.run_id,
                        mat.code_version,
                        mat.config_hash,
                        mat.data_version,
                        fingerprint,
                        mat.rows,
                        mat.bytes,
                        mat.schema,
                        mat.location,
                        created,
                    )
                )
                l_rows.append(
                    (
                        mat.asset,
                        partition,
                        mid,
                        mat.data_version,
                        mat.code_version,
                        mat.config_hash,
                        fingerprint,
                        mat.run_id,
                        created,
                    )
                )
                i_rows.extend(_input_rows(mid, mat_inputs))
            # pointers before inputs, so an input may link an upstream recorded
            # earlier in the same call
            conn.executemany(_INSERT_MATERIALIZATION, m_rows)
            conn.executemany(_UPSERT_LATEST, l_rows)
            conn.executemany(_INSERT_INPUT, i_rows)

    def record_materializations_bulk(
        self, items: Iterable[tuple[Materialization, Sequence[Input]]]
    ) -> int:
        """Record many materializations with their inputs in one transaction.

        For imports and benchmarks: rows are inserted with ``executemany`` in
        chunks, the latest pointers kept up to date, all or nothing. Items are
        consumed lazily. Returns how many were recorded.
        """
        with self._db.write() as conn:
            return len(self._insert_materializations(conn, items, _BULK_CHUNK))

    def append_logs(
        self, run_id: str, asset: str, partition: str | None, attempt: int, text: str
    ) -> None:
        """Append log text to an attempt (which must have been recorded)."""
        with self._db.write() as conn:
            updated = conn.execute(
                "UPDATE step_attempts SET logs = logs || ? "
                "WHERE run_id = ? AND asset = ? AND partition = ? AND attempt = ?",
                (text, run_id, asset, partition_column(partition), attempt),
            ).rowcount
            if updated == 0:
                raise CatalogError(
                    f"no attempt {attempt} of {asset} [{partition}] in run {run_id!r}"
                )

    def record_observation(self, observation: Observation) -> None:
        """Record the observed data version of a source asset's partition."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO observations (asset, partition, data_version, observed_at, run_id) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    observation.asset,
                    partition_column(observation.partition),
                    observation.data_version,
                    to_epoch(observation.observed_at),
                    observation.run_id,
                ),
            )

    # ------------------------------------------------------ dynamic partitions

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        """Add keys to a dynamic partitions definition (keys already there are kept once)."""
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO dynamic_partitions (name, partition_key) VALUES (?, ?) "
                "ON CONFLICT (name, partition_key) DO NOTHING",
                [(name, key) for key in keys],
            )

    def get_dynamic_partitions(self, name: str) -> tuple[str, ...]:
        """The keys of a dynamic partitions definition, in the order they were added."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT partition_key FROM dynamic_partitions WHERE name = ? ORDER BY id", (name,)
            ).fetchall()
        return tuple(str(key) for (key,) in rows)

    def delete_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        """Delete keys of a dynamic partitions definition (absent keys are ignored)."""
        with self._db.write() as conn:
            conn.executemany(
                "DELETE FROM dynamic_partitions WHERE name = ? AND partition_key = ?",
                [(name, key) for key in keys],
            )

    def get(self, name: str) -> tuple[str, ...]:
        """:class:`~partita.records.DynamicPartitionsStore`: the keys of ``name``."""
        return self.get_dynamic_partitions(name)

    def add(self, name: str, keys: Sequence[str]) -> None:
        """:class:`~partita.records.DynamicPartitionsStore`: add keys to ``name``."""
        self.add_dynamic_partitions(name, keys)

    def delete(self, name: str, keys: Sequence[str]) -> None:
        """:class:`~partita.records.DynamicPartitionsStore`: delete keys of ``name``."""
        self.delete_dynamic_partitions(name, keys)

    # ---------------------------------------------------------------- reads

    def planner_state(self, assets: Sequence[str]) -> PlannerState:
        """The bulk state of ``assets`` as Arrow tables, from one consistent snapshot."""
        with self._db.read() as conn:
            return load_planner_state(conn, assets)

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

    def logs(self, run_id: str, *, asset: str | None = None, partition: str | None = None) -> str:
        """The log text of a run's attempts (optionally one asset / partition), headed per step."""
        parts = []
        for att in self.attempts(run_id, asset=asset, partition=partition):
            where = att.asset if att.partition is None else f"{att.asset} [{att.partition}]"
            parts.append(f"=== {where} attempt {att.attempt}: {att.status}\n{att.logs}")
        return "\n".join(parts)

    def lineage(
        self,
        asset: str,
        partition: str | None = None,
        *,
        direction: Direction = "up",
        depth: int = 10,
        materialization_id: int | None = None,
    ) -> LineageGraph:
        """The lineage of a partition's latest materialization (or of one materialization).

        ``direction="up"`` answers "what exactly was this built from?",
        ``"down"`` "what did this exact version feed?", to ``depth`` levels.
        """
        if direction not in ("up", "down"):
            raise CatalogError(f"lineage direction must be 'up' or 'down', not {direction!r}")
        with self._db.read() as conn:
            root = materialization_id
            if root is None:
                latest = latest_of_partition(conn, asset, partition)
                if latest is None or latest.materialization_id is None:
                    where = asset if partition is None else f"{asset} [{partition}]"
                    raise CatalogError(
                        f"{where} has never been materialized",
                        hint="`partita history ASSET` lists what the catalog holds",
                    )
                root = latest.materialization_id
            return query_lineage(conn, root, direction, depth)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        with self._db.read() as conn:
            return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
