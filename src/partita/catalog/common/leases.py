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
from collections.abc import Sequence
from datetime import datetime

from partita.catalog.common.db import SqlConnection, to_epoch
from partita.catalog.common.liveness import gone_by_pid
from partita.errors import CatalogError
from partita.records import partition_column, partition_value

__all__ = ["LeaseItem", "acquire", "held_by", "holders", "release", "renew"]

LeaseItem = tuple[str, str | None]
"""``(asset, partition)``; ``None`` for an unpartitioned asset."""

_HELD = """
SELECT l.asset, l.partition, l.run_id, l.expires_at, r.status, r.host, r.pid
FROM partition_leases l JOIN runs r ON r.run_id = l.run_id
WHERE l.asset = ? AND l.partition IN (SELECT value FROM json_each(?))
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
    conn: SqlConnection, stored: Sequence[tuple[str, str]], now: datetime, *, by_pid: bool
) -> dict[tuple[str, str], str]:
    """The live holder of each stored item that has one."""
    if not stored:
        return {}
    stamp = to_epoch(now)
    by_asset: dict[str, list[str]] = {}
    for asset, partition in stored:
        by_asset.setdefault(asset, []).append(partition)
    rows = [
        row
        for asset, partitions in by_asset.items()
        for row in conn.execute(_HELD, (asset, json.dumps(partitions))).fetchall()
    ]
    alive: dict[str, bool] = {}
    result: dict[tuple[str, str], str] = {}
    for asset, partition, run_id, expires, status, run_host, pid in rows:
        if float(expires) <= stamp or status != "running":
            continue
        if run_id not in alive:
            alive[run_id] = not gone_by_pid(run_host, pid, by_pid=by_pid)
        if alive[run_id]:
            result[(str(asset), str(partition))] = str(run_id)
    return result


def acquire(
    conn: SqlConnection,
    run_id: str,
    items: Sequence[LeaseItem],
    *,
    now: datetime,
    ttl_s: float,
    by_pid: bool = True,
) -> list[LeaseItem]:
    """Lease the free items (and renew those ``run_id`` holds); return them in order."""
    if ttl_s <= 0:
        raise CatalogError(f"a lease needs a positive time to live, not {ttl_s}")
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
        raise CatalogError(f"no run with id {run_id!r}", hint="start the run before leasing")
    stored = _stored(items)
    held = _live_holders(conn, stored, now, by_pid=by_pid)
    taken = [item for item in stored if held.get(item, run_id) == run_id]
    stamp = to_epoch(now)
    conn.executemany(
        _TAKE, [(asset, partition, run_id, stamp, stamp + ttl_s) for asset, partition in taken]
    )
    return [(asset, partition_value(partition)) for asset, partition in taken]


def renew(conn: SqlConnection, run_id: str, *, now: datetime, ttl_s: float) -> int:
    """Extend every lease of ``run_id`` to ``now + ttl_s``; return how many."""
    if ttl_s <= 0:
        raise CatalogError(f"a lease needs a positive time to live, not {ttl_s}")
    cursor = conn.execute(
        "UPDATE partition_leases SET expires_at = ? WHERE run_id = ?",
        (to_epoch(now) + ttl_s, run_id),
    )
    return int(cursor.rowcount)


def release(conn: SqlConnection, run_id: str, items: Sequence[LeaseItem] | None) -> int:
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
    conn: SqlConnection, items: Sequence[LeaseItem], *, now: datetime, by_pid: bool = True
) -> dict[LeaseItem, str]:
    """The live holder of each item that has one."""
    held = _live_holders(conn, _stored(items), now, by_pid=by_pid)
    return {(asset, partition_value(partition)): run for (asset, partition), run in held.items()}


_HOLDER = """
SELECT l.run_id, r.status, r.host, r.pid
FROM partition_leases l JOIN runs r ON r.run_id = l.run_id
WHERE l.asset = ? AND l.partition = ?
"""


def held_by(
    conn: SqlConnection, run_id: str, item: LeaseItem, *, by_pid: bool = True
) -> str | None:
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
    if gone_by_pid(host, pid, by_pid=by_pid):
        return f"the coordinator of run {run_id} (pid {pid}) is gone"
    return None
