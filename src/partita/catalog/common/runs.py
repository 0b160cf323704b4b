"""Runs: rows to records, and finding runs whose coordinator died.

A run records its host, pid and a heartbeat. A ``running`` run is dead when
it ran on this host and its process is gone (or a zombie), or when its last
heartbeat (its start, if it never beat) is older than the threshold. Dead runs
are marked ``crashed`` and their unfinished attempts ``abandoned``, so nothing
shows as running forever.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from partita.catalog.common.db import SqlConnection, from_epoch, to_epoch
from partita.catalog.common.liveness import gone_by_pid
from partita.errors import CatalogError
from partita.records import Run, RunStatus

__all__ = [
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "RUN_COLUMNS",
    "finish_run",
    "insert_run",
    "mark_dead_runs",
    "run_from_row",
]

DEFAULT_HEARTBEAT_TIMEOUT = timedelta(minutes=5)
"""A running run without a heartbeat for this long is taken as crashed."""

RUN_COLUMNS = (
    "run_id, status, started_at, finished_at, heartbeat_at, selection, partitions, "
    "config, host, pid, partita_version, error, kind"
)


def run_from_row(row: tuple[object, ...]) -> Run:
    """A :class:`Run` from a row of ``SELECT {RUN_COLUMNS} FROM runs``."""
    (run_id, status, started, finished, heartbeat, selection, partitions, config) = row[:8]
    host, pid, version, error, kind = row[8:]
    return Run(
        run_id=str(run_id),
        status=RunStatus(str(status)),
        started_at=from_epoch(float(started)),  # type: ignore[arg-type]
        finished_at=None if finished is None else from_epoch(float(finished)),  # type: ignore[arg-type]
        heartbeat_at=None if heartbeat is None else from_epoch(float(heartbeat)),  # type: ignore[arg-type]
        selection=tuple(json.loads(str(selection))),
        partitions=tuple(json.loads(str(partitions))),
        config=str(config),
        host=str(host),
        pid=int(pid),  # type: ignore[call-overload]
        partita_version=str(version),
        error=None if error is None else str(error),
        kind=str(kind),
    )


def mark_dead_runs(
    conn: SqlConnection, *, now: datetime, heartbeat_timeout: timedelta, by_pid: bool = True
) -> list[str]:
    """Mark dead ``running`` runs ``crashed`` (inside the caller's write transaction).

    Returns the ids of the runs marked.
    """
    deadline = to_epoch(now) - heartbeat_timeout.total_seconds()
    dead: list[str] = []
    for run_id, run_host, pid, started, heartbeat in conn.execute(
        "SELECT run_id, host, pid, started_at, heartbeat_at FROM runs WHERE status = 'running'"
    ).fetchall():
        last_sign = heartbeat if heartbeat is not None else started
        gone = gone_by_pid(run_host, pid, by_pid=by_pid)
        if gone or float(last_sign) < deadline:
            dead.append(str(run_id))
    stamp = to_epoch(now)
    for run_id in dead:
        conn.execute(
            "UPDATE runs SET status = 'crashed', finished_at = ?, error = ? "
            "WHERE run_id = ? AND status = 'running'",
            (stamp, "the run's process is gone (crashed or killed)", run_id),
        )
        conn.execute(
            "UPDATE step_attempts SET status = 'abandoned', finished_at = ? "
            "WHERE run_id = ? AND status IN ('pending', 'running')",
            (stamp, run_id),
        )
    return dead


def insert_run(conn: SqlConnection, run: Run) -> None:
    """Insert a new run's row (in the caller's write transaction).

    Raises:
        CatalogError: a run with that id exists.
    """
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
        raise CatalogError(f"a run with id {run.run_id!r} already exists")
    conn.execute(
        f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({', '.join('?' * 13)})",
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
            run.kind,
        ),
    )


def finish_run(
    conn: SqlConnection,
    run_id: str,
    status: RunStatus,
    *,
    now: datetime,
    error: str | None = None,
) -> None:
    """Set a run's final status (in the caller's write transaction); its unfinished
    attempts become ``abandoned``.

    Raises:
        CatalogError: ``status`` is ``running``, or no run has that id.
    """
    if status is RunStatus.RUNNING:
        raise CatalogError("finish_run needs a final status, not 'running'")
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
