"""The daemon's records in the catalog: ticks, cursors, handled files, the lock.

Implements :class:`~partita.records.AutomationRecords`. The daemon lock is one
row (``name = 'daemon'``); taking it, renewing it and releasing it are each
one ``BEGIN IMMEDIATE`` transaction, so two daemons starting at once cannot
both win. A holder is live while its heartbeat is younger than the lock's
time to live and, on this host, its process exists: after ``kill -9`` the
next daemon on the same host takes over at once, on another host once the
heartbeat is stale (the same rule as partition leases).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from partita.catalog.common.db import Database, from_epoch, to_epoch
from partita.catalog.common.liveness import gone_by_pid
from partita.records import DaemonHolder, TickKind, TickRecord, TickStatus

__all__ = ["SqlAutomation"]

_LOCK = "daemon"

_TICK_COLUMNS = "id, kind, name, tick_at, evaluated_at, status, run_ids, covered, detail"


def _holder(row: Sequence[object]) -> DaemonHolder:
    token, host, pid, since, heartbeat = row
    return DaemonHolder(
        token=str(token),
        host=str(host),
        pid=int(str(pid)),
        since=from_epoch(float(str(since))),
        heartbeat_at=from_epoch(float(str(heartbeat))),
    )


def _tick(row: Sequence[object]) -> TickRecord:
    id_, kind, name, tick_at, evaluated_at, status, run_ids, covered, detail = row
    return TickRecord(
        id=int(str(id_)),
        kind=TickKind(str(kind)),
        name=str(name),
        tick_at=from_epoch(float(str(tick_at))),
        evaluated_at=from_epoch(float(str(evaluated_at))),
        status=TickStatus(str(status)),
        run_ids=tuple(json.loads(str(run_ids))),
        covered=tuple(json.loads(str(covered))),
        detail=str(detail),
    )


class SqlAutomation:
    """:class:`~partita.records.AutomationRecords` in a catalog (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ lock

    def acquire_daemon_lock(
        self, holder: DaemonHolder, *, now: datetime, ttl_s: float
    ) -> DaemonHolder | None:
        """Take the lock for ``holder``, or return the live holder (see the module)."""
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT token, host, pid, since, heartbeat_at FROM daemon_lock WHERE name = ?",
                (_LOCK,),
            ).fetchone()
            if row is not None:
                current = _holder(row)
                fresh = to_epoch(current.heartbeat_at) + ttl_s > to_epoch(now)
                gone = gone_by_pid(current.host, current.pid, by_pid=self._db.pid_checks)
                if current.token != holder.token and fresh and not gone:
                    return current
            conn.execute(
                "INSERT INTO daemon_lock (name, token, host, pid, since, heartbeat_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "token = excluded.token, host = excluded.host, pid = excluded.pid, "
                "since = excluded.since, heartbeat_at = excluded.heartbeat_at",
                (
                    _LOCK,
                    holder.token,
                    holder.host,
                    holder.pid,
                    to_epoch(holder.since),
                    to_epoch(now),
                ),
            )
        return None

    def renew_daemon_lock(self, token: str, *, now: datetime) -> bool:
        """Heartbeat; ``False`` when ``token`` no longer holds the lock."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE daemon_lock SET heartbeat_at = ? WHERE name = ? AND token = ?",
                (to_epoch(now), _LOCK, token),
            )
            return int(cursor.rowcount) == 1

    def release_daemon_lock(self, token: str) -> None:
        """Delete the lock row if ``token`` holds it."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM daemon_lock WHERE name = ? AND token = ?", (_LOCK, token))

    def daemon_holder(self) -> DaemonHolder | None:
        """The lock's row, live or not."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT token, host, pid, since, heartbeat_at FROM daemon_lock WHERE name = ?",
                (_LOCK,),
            ).fetchone()
        return None if row is None else _holder(row)

    # --------------------------------------------------------- ticks, cursors

    def cursor(self, kind: TickKind, name: str) -> str | None:
        """The stored cursor, or ``None``."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT cursor FROM automation_cursors WHERE kind = ? AND name = ?",
                (kind.value, name),
            ).fetchone()
        return None if row is None else str(row[0])

    def record_tick(
        self, tick: TickRecord, *, cursor: str | None = None, files: Sequence[str] = ()
    ) -> int:
        """Record ``tick``, its cursor and its handled files in one transaction."""
        with self._db.write() as conn:
            tick_id = conn.execute(
                "INSERT INTO automation_ticks (kind, name, tick_at, evaluated_at, status, "
                "run_ids, covered, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    tick.kind.value,
                    tick.name,
                    to_epoch(tick.tick_at),
                    to_epoch(tick.evaluated_at),
                    tick.status.value,
                    json.dumps(list(tick.run_ids)),
                    json.dumps(list(tick.covered)),
                    tick.detail,
                ),
            ).fetchone()[0]
            if cursor is not None:
                conn.execute(
                    "INSERT INTO automation_cursors (kind, name, cursor, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
                    "cursor = excluded.cursor, updated_at = excluded.updated_at",
                    (tick.kind.value, tick.name, cursor, to_epoch(tick.evaluated_at)),
                )
            conn.executemany(
                "INSERT INTO sensor_files (sensor, path, tick_id) VALUES (?, ?, ?) "
                "ON CONFLICT (sensor, path) DO NOTHING",
                [(tick.name, path, tick_id) for path in dict.fromkeys(files)],
            )
        return int(tick_id)

    def handled_files(self, sensor: str, paths: Sequence[str]) -> set[str]:
        """The members of ``paths`` already handled by ``sensor``."""
        if not paths:
            return set()
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT path FROM sensor_files WHERE sensor = ? AND path IN "
                "(SELECT value FROM json_each(?))",
                (sensor, json.dumps(list(paths))),
            ).fetchall()
        return {str(path) for (path,) in rows}

    def ticks(
        self, *, kind: TickKind | None = None, name: str | None = None, limit: int = 50
    ) -> list[TickRecord]:
        """The latest evaluations, newest first (optionally of one kind / name)."""
        where: list[str] = []
        args: list[object] = []
        if kind is not None:
            where.append("kind = ?")
            args.append(kind.value)
        if name is not None:
            where.append("name = ?")
            args.append(name)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._db.read() as conn:
            rows = conn.execute(
                f"SELECT {_TICK_COLUMNS} FROM automation_ticks {clause} ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_tick(row) for row in rows]

    def prune_ticks(self, *, before: datetime, batch: int = 5000) -> int:
        """Delete quiet evaluations older than ``before`` (see
        :meth:`~partita.records.AutomationRecords.prune_ticks`), ``batch`` per transaction
        so the daemon never holds the write lock for long."""
        quiet = (TickStatus.NOTHING_TO_DO.value, TickStatus.SKIPPED.value)
        deleted = 0
        while True:
            with self._db.write() as conn:
                cursor = conn.execute(
                    "DELETE FROM automation_ticks WHERE id IN ("
                    "SELECT t.id FROM automation_ticks t "
                    "WHERE t.status IN (?, ?) AND t.evaluated_at < ? "
                    "AND t.id < (SELECT MAX(n.id) FROM automation_ticks n "
                    "WHERE n.kind = t.kind AND n.name = t.name) "
                    "AND NOT EXISTS (SELECT 1 FROM sensor_files f WHERE f.tick_id = t.id) "
                    "ORDER BY t.id LIMIT ?)",
                    (*quiet, to_epoch(before), batch),
                )
                count = int(cursor.rowcount)
            deleted += count
            if count < batch:
                return deleted

    def change_marker(self) -> tuple[int, ...]:
        """The newest materialization, observation, attempt, wipe and dynamic key ids,
        the number of dynamic keys, and the catalog generation (primary-key lookups)."""
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM materializations), "
                "(SELECT COALESCE(MAX(id), 0) FROM observations), "
                "(SELECT COALESCE(MAX(id), 0) FROM step_attempts), "
                "(SELECT COALESCE(MAX(id), 0) FROM wipes), "
                "(SELECT COALESCE(MAX(id), 0) FROM dynamic_partitions), "
                "(SELECT COUNT(*) FROM dynamic_partitions), "
                "(SELECT value FROM catalog_meta WHERE key = 'generation')"
            ).fetchone()
        return tuple(int(str(value)) for value in row)
