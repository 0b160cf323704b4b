"""Partition leases: two runs never build the same partition at once.

A run leases the ``(asset, partition)`` items it is about to build, for a
time-to-live it renews while it works. A lease is *live* while it has not
expired and its run is still ``running`` with its process alive (on this
host; a run on another host counts as alive until its lease expires). An
item whose lease is not live is free: the next run to ask takes it over, so
a crashed run never blocks the partitions it held. Every function runs
inside the caller's transaction; acquiring is all in one write transaction,
so two runs asking for overlapping items at once split them, never share.

:class:`SQLiteLeaseReader` answers a worker's publish fence ("does my run still
hold this lease?") on a read-only connection of its own, one primary-key read
per question.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from partita.catalog.sqlite.connection import to_epoch
from partita.errors import CatalogError
from partita.processes import pid_alive, this_host
from partita.records import partition_column, partition_value

__all__ = ["LeaseItem", "SQLiteLeaseReader", "acquire", "holders", "release", "renew"]

LeaseItem = tuple[str, str | None]
"""``(asset, partition)``; ``None`` for an unpartitioned asset."""

_HELD = """
SELECT l.asset, l.partition, l.run_id, l.expires_at, r.status, r.host, r.pid
FROM partition_leases l JOIN runs r ON r.run_id = l.run_id
WHERE (l.asset, l.partition) IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
"""

_TAKE = """
INSERT INTO partition_leases (asset, partition, run_id, acquired_at, expires_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (asset, partition) DO UPDATE SET
    run_id = excluded.run_id,
    acquired_at = CASE WHEN partition_leases.run_id = excluded.run_id
                       THEN partition_leases.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
"""


def _stored(items: Sequence[LeaseItem]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((asset, partition_column(p)) for asset, p in items))


def _live_holders(
    conn: sqlite3.Connection, stored: Sequence[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], str]:
    """The live holder of each stored item that has one."""
    if not stored:
        return {}
    stamp = to_epoch(now)
    host = this_host()
    alive: dict[str, bool] = {}
    result: dict[tuple[str, str], str] = {}
    for asset, partition, run_id, expires, status, run_host, pid in conn.execute(
        _HELD, (json.dumps(stored),)
    ).fetchall():
        if float(expires) <= stamp or status != "running":
            continue
        if run_id not in alive:
            alive[run_id] = run_host != host or pid_alive(int(pid))
        if alive[run_id]:
            result[(str(asset), str(partition))] = str(run_id)
    return result


def acquire(
    conn: sqlite3.Connection,
    run_id: str,
    items: Sequence[LeaseItem],
    *,
    now: datetime,
    ttl_s: float,
) -> list[LeaseItem]:
    """Lease the free items (and renew those ``run_id`` holds); return them in order."""
    if ttl_s <= 0:
        raise CatalogError(f"a lease needs a positive time to live, not {ttl_s}")
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
        raise CatalogError(f"no run with id {run_id!r}", hint="start the run before leasing")
    stored = _stored(items)
    held = _live_holders(conn, stored, now)
    taken = [item for item in stored if held.get(item, run_id) == run_id]
    stamp = to_epoch(now)
    conn.executemany(
        _TAKE, [(asset, partition, run_id, stamp, stamp + ttl_s) for asset, partition in taken]
    )
    return [(asset, partition_value(partition)) for asset, partition in taken]


def renew(conn: sqlite3.Connection, run_id: str, *, now: datetime, ttl_s: float) -> int:
    """Extend every lease of ``run_id`` to ``now + ttl_s``; return how many."""
    if ttl_s <= 0:
        raise CatalogError(f"a lease needs a positive time to live, not {ttl_s}")
    cursor = conn.execute(
        "UPDATE partition_leases SET expires_at = ? WHERE run_id = ?",
        (to_epoch(now) + ttl_s, run_id),
    )
    return int(cursor.rowcount)


def release(conn: sqlite3.Connection, run_id: str, items: Sequence[LeaseItem] | None) -> int:
    """Delete the leases of ``run_id`` (only ``items`` when given); return how many."""
    if items is None:
        cursor = conn.execute("DELETE FROM partition_leases WHERE run_id = ?", (run_id,))
        return int(cursor.rowcount)
    cursor = conn.executemany(
        "DELETE FROM partition_leases WHERE run_id = ? AND asset = ? AND partition = ?",
        [(run_id, asset, partition) for asset, partition in _stored(items)],
    )
    return int(cursor.rowcount)


def holders(
    conn: sqlite3.Connection, items: Sequence[LeaseItem], *, now: datetime
) -> dict[LeaseItem, str]:
    """The live holder of each item that has one."""
    held = _live_holders(conn, _stored(items), now)
    return {(asset, partition_value(partition)): run for (asset, partition), run in held.items()}


_HOLDER = """
SELECT l.run_id, r.status, r.host, r.pid
FROM partition_leases l JOIN runs r ON r.run_id = l.run_id
WHERE l.asset = ? AND l.partition = ?
"""


def held_by(conn: sqlite3.Connection, run_id: str, item: LeaseItem) -> str | None:
    """``None`` when ``run_id`` holds the lease of ``item`` and is running, alive; else why not."""
    asset, partition = item
    row = conn.execute(_HOLDER, (asset, partition_column(partition))).fetchone()
    if row is None:
        return "no run holds its lease any more (released, or taken over and released)"
    holder, status, host, pid = row
    if holder != run_id:
        return f"run {holder} holds its lease now"
    if status != "running":
        return f"run {run_id} is {status}"
    if host == this_host() and not pid_alive(int(pid)):
        return f"the coordinator of run {run_id} (pid {pid}) is gone"
    return None


class SQLiteLeaseReader:
    """A read-only connection to a catalog file that answers publish fences.

    Opened lazily on the first question; safe to share by the threads of a process.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise CatalogError(f"no catalog at {self.path} to check leases in")
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA query_only = 1")
            self._conn = conn
        return self._conn

    def lease_held(self, run_id: str, item: LeaseItem) -> str | None:
        """``None`` when run ``run_id`` still holds the lease of ``item``; else why not."""
        with self._lock:
            try:
                return held_by(self._connection(), run_id, item)
            except sqlite3.Error as exc:
                raise CatalogError(f"cannot read the leases in {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (a later question opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
