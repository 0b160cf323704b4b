"""Row-level reads: one partition's latest materialization, history, runs, attempts."""

from __future__ import annotations

from datetime import datetime

from partita.catalog.common.db import SqlConnection, from_epoch, to_epoch
from partita.catalog.common.runs import RUN_COLUMNS, run_from_row
from partita.records import (
    Materialization,
    RunSummary,
    StepAttempt,
    StepStatus,
    partition_column,
    partition_hash,
    partition_value,
)

__all__ = ["attempts_of_run", "latest_of_partition", "materialization_history", "run_summaries"]

_MAT_COLUMNS = (
    "id, asset, partition, run_id, code_version, config_hash, data_version, "
    "output_hash, rows, bytes, schema, location, created_at"
)


def _materialization(row: tuple[object, ...]) -> Materialization:
    mid, asset, partition, run_id, code, config, data, output_hash = row[:8]
    rows, size, schema, location, created = row[8:]
    own = partition_hash(str(asset), partition_value(str(partition)), str(data))
    return Materialization(
        materialization_id=int(mid),  # type: ignore[call-overload]
        asset=str(asset),
        partition=partition_value(str(partition)),
        run_id=str(run_id),
        code_version=str(code),
        config_hash=str(config),
        data_version=str(data),
        rows=None if rows is None else int(rows),  # type: ignore[call-overload]
        bytes=None if size is None else int(size),  # type: ignore[call-overload]
        schema=None if schema is None else str(schema),
        location=None if location is None else str(location),
        created_at=from_epoch(float(created)),  # type: ignore[arg-type]
        inherited_output_hash=None if int(output_hash) == own else int(output_hash),  # type: ignore[call-overload]
    )


def latest_of_partition(
    conn: SqlConnection, asset: str, partition: str | None
) -> Materialization | None:
    """The latest materialization of one partition, through the pointer table."""
    row = conn.execute(
        f"SELECT {_MAT_COLUMNS} FROM materializations WHERE id = ("
        "SELECT materialization_id FROM latest_materialization WHERE asset = ? AND partition = ?)",
        (asset, partition_column(partition)),
    ).fetchone()
    return None if row is None else _materialization(row)


def materialization_history(
    conn: SqlConnection, asset: str, partition: str | None, *, limit: int
) -> list[Materialization]:
    """Materializations of an asset (one partition, or every one), newest first."""
    if partition is None:
        rows = conn.execute(
            f"SELECT {_MAT_COLUMNS} FROM materializations WHERE asset = ? ORDER BY id DESC LIMIT ?",
            (asset, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_MAT_COLUMNS} FROM materializations WHERE asset = ? AND partition = ? "
            "ORDER BY id DESC LIMIT ?",
            (asset, partition, limit),
        ).fetchall()
    return [_materialization(r) for r in rows]


_LAST_ATTEMPT = (
    "NOT EXISTS (SELECT 1 FROM step_attempts AS later WHERE later.run_id = s.run_id "
    "AND later.asset = s.asset AND later.partition = s.partition AND later.attempt > s.attempt)"
)
_CHECK_OUTCOME = (
    "CASE WHEN passed <> 0 THEN 'passed' WHEN severity = 'warn' THEN 'warned' ELSE 'failed' END"
)


def _counts_by_run(
    conn: SqlConnection, query: str, run_ids: list[str]
) -> dict[str, list[tuple[str, int]]]:
    """``query`` (``run_id, key, count`` rows for the runs in ``(?)``) per run id."""
    counts: dict[str, list[tuple[str, int]]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        marks = ", ".join("?" * len(run_ids))
        for run_id, key, count in conn.execute(query.format(marks=marks), run_ids).fetchall():
            counts[str(run_id)].append((str(key), int(count)))
    return counts


def run_summaries(conn: SqlConnection, *, limit: int, now: datetime) -> list[RunSummary]:
    """The latest runs with durations (a running run's so far), attempt counts, partition
    counts (each partition's last attempt) and check result counts."""
    runs = [
        run_from_row(r)
        for r in conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC, run_id LIMIT ?", (limit,)
        ).fetchall()
    ]
    ids = [run.run_id for run in runs]
    attempts = _counts_by_run(
        conn,
        "SELECT run_id, status, COUNT(*) FROM step_attempts WHERE run_id IN ({marks}) "
        "GROUP BY run_id, status ORDER BY run_id, status",
        ids,
    )
    partitions = _counts_by_run(
        conn,
        "SELECT run_id, status, COUNT(*) FROM step_attempts AS s WHERE run_id IN ({marks}) "
        f"AND {_LAST_ATTEMPT} GROUP BY run_id, status ORDER BY run_id, status",
        ids,
    )
    checks = _counts_by_run(
        conn,
        f"SELECT run_id, {_CHECK_OUTCOME} AS outcome, COUNT(*) FROM check_results "
        "WHERE run_id IN ({marks}) GROUP BY run_id, outcome ORDER BY run_id, outcome",
        ids,
    )
    summaries = []
    for run in runs:
        end = run.finished_at or now
        duration = to_epoch(end) - to_epoch(run.started_at)
        summaries.append(
            RunSummary(
                run,
                max(duration, 0.0),
                tuple((StepStatus(s), n) for s, n in attempts[run.run_id]),
                partition_counts=tuple((StepStatus(s), n) for s, n in partitions[run.run_id]),
                check_counts=tuple(checks[run.run_id]),
            )
        )
    return summaries


def attempts_of_run(
    conn: SqlConnection, run_id: str, *, asset: str | None, partition: str | None
) -> list[StepAttempt]:
    """A run's attempts (optionally one asset / partition) in the order they started."""
    sql = (
        "SELECT run_id, asset, partition, attempt, status, started_at, finished_at, error, logs "
        "FROM step_attempts WHERE run_id = ?"
    )
    params: list[object] = [run_id]
    if asset is not None:
        sql += " AND asset = ?"
        params.append(asset)
    if partition is not None:
        sql += " AND partition = ?"
        params.append(partition)
    result = []
    for r_id, r_asset, r_part, attempt, status, started, finished, error, logs in conn.execute(
        sql + " ORDER BY id", params
    ).fetchall():
        result.append(
            StepAttempt(
                run_id=str(r_id),
                asset=str(r_asset),
                partition=partition_value(str(r_part)),
                attempt=int(attempt),
                status=StepStatus(str(status)),
                started_at=from_epoch(float(started)),
                finished_at=None if finished is None else from_epoch(float(finished)),
                error=None if error is None else str(error),
                logs=str(logs),
            )
        )
    return result
