"""Concurrency pool slots and freshness-alert states in the catalog.

**Pool slots.** A step of an asset in a pool holds one of the pool's slots
while it runs: a row of ``pool_slots`` for its run, asset and partition. A
slot is *live* while it has not expired and its run is ``running`` with its
process alive (on this host, for SQLite; a run elsewhere counts as alive until the
slot expires), exactly as a partition lease is (:mod:`.leases`); the run's
heartbeat renews its slots with its leases. Taking a slot counts the pool's
live slots and inserts one in the same ``BEGIN IMMEDIATE`` transaction, so two
runs asking at once never both take the last slot; the slots of a killed run
stop counting as soon as its process is gone (or its slots expire).

**Freshness-alert states.** Per asset, whether the last evaluation found its
freshness policy violated. Changing it is a compare-and-set in one
transaction: of two evaluations at once, one sees the change and alerts.

:class:`PoolsAndAlertStates` adds these methods to
:class:`~partita.catalog.common.catalog.SqlCatalog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from partita.catalog.common.db import Database, SqlConnection, to_epoch
from partita.catalog.common.liveness import gone_by_pid
from partita.errors import CatalogError
from partita.records import partition_column

__all__ = ["PoolsAndAlertStates", "live_slots"]

SlotItem = tuple[str, str | None]

_SLOTS = """
SELECT s.run_id, s.asset, s.partition, s.expires_at, r.status, r.host, r.pid
FROM pool_slots s JOIN runs r ON r.run_id = s.run_id
WHERE s.pool = ?
ORDER BY s.acquired_at
"""


def live_slots(
    conn: SqlConnection, pool: str, now: datetime, *, by_pid: bool = True
) -> list[tuple[str, str, str]]:
    """The live slots of ``pool``: ``(run_id, asset, partition)``, oldest first."""
    stamp = to_epoch(now)
    alive: dict[str, bool] = {}
    found: list[tuple[str, str, str]] = []
    for run_id, asset, partition, expires, status, run_host, pid in conn.execute(
        _SLOTS, (pool,)
    ).fetchall():
        if float(expires) <= stamp or status != "running":
            continue
        if run_id not in alive:
            alive[run_id] = not gone_by_pid(run_host, pid, by_pid=by_pid)
        if alive[run_id]:
            found.append((str(run_id), str(asset), str(partition)))
    return found


def take_slot(
    conn: SqlConnection,
    run_id: str,
    pool: str,
    size: int,
    item: SlotItem,
    *,
    now: datetime,
    ttl_s: float,
    by_pid: bool = True,
) -> bool:
    """Take a slot of ``pool`` (``size`` slots) for ``item`` of ``run_id``, if one is free."""
    if ttl_s <= 0 or size <= 0:
        raise CatalogError(f"a pool slot needs a positive size and time to live ({size}, {ttl_s})")
    asset, partition = item
    stored = partition_column(partition)
    conn.execute(  # slots a finished or crashed run left behind (a kill skips releasing)
        "DELETE FROM pool_slots WHERE pool = ? AND run_id IN "
        "(SELECT run_id FROM runs WHERE status <> 'running')",
        (pool,),
    )
    live = live_slots(conn, pool, now, by_pid=by_pid)
    if (run_id, asset, stored) in live:
        return True
    if len(live) >= size:
        return False
    stamp = to_epoch(now)
    conn.execute(
        "DELETE FROM pool_slots WHERE run_id = ? AND asset = ? AND partition = ?",
        (run_id, asset, stored),
    )
    conn.execute(
        "INSERT INTO pool_slots (run_id, asset, partition, pool, acquired_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, asset, stored, pool, stamp, stamp + ttl_s),
    )
    return True


def renew_slots(conn: SqlConnection, run_id: str, *, now: datetime, ttl_s: float) -> int:
    """Extend every slot of ``run_id`` to ``now + ttl_s``; return how many."""
    cursor = conn.execute(
        "UPDATE pool_slots SET expires_at = ? WHERE run_id = ?", (to_epoch(now) + ttl_s, run_id)
    )
    return int(cursor.rowcount)


def release_slots(conn: SqlConnection, run_id: str, items: Sequence[SlotItem] | None) -> int:
    """Delete the slots of ``run_id`` (only ``items`` when given); return how many."""
    if items is None:
        return int(conn.execute("DELETE FROM pool_slots WHERE run_id = ?", (run_id,)).rowcount)
    cursor = conn.executemany(
        "DELETE FROM pool_slots WHERE run_id = ? AND asset = ? AND partition = ?",
        [(run_id, asset, partition_column(partition)) for asset, partition in items],
    )
    return int(cursor.rowcount)


class PoolsAndAlertStates:
    """The pool-slot and freshness-alert-state methods of the catalog."""

    _db: Database

    def acquire_pool_slot(
        self,
        run_id: str,
        pool: str,
        size: int,
        item: SlotItem,
        *,
        now: datetime,
        ttl_s: float,
    ) -> bool:
        """Take one of the ``size`` slots of ``pool`` for a step (``item``) of a run,
        until ``now + ttl_s`` (renewed by :meth:`renew_leases`); ``False`` when every
        slot is held by live steps (wait and ask again). A slot the step holds is kept."""
        with self._db.write() as conn:
            return take_slot(
                conn, run_id, pool, size, item, now=now, ttl_s=ttl_s, by_pid=self._db.pid_checks
            )

    def release_pool_slots(self, run_id: str, items: Sequence[SlotItem] | None = None) -> int:
        """Release some (default: all) pool slots of a run; returns how many."""
        with self._db.write() as conn:
            return release_slots(conn, run_id, items)

    def pool_holders(self, pool: str, *, now: datetime) -> list[tuple[str, str, str]]:
        """The live slots of ``pool``: ``(run_id, asset, partition)``, oldest first."""
        with self._db.read() as conn:
            return live_slots(conn, pool, now, by_pid=self._db.pid_checks)

    def freshness_alert_states(self) -> dict[str, bool]:
        """Per asset with a recorded state, whether its freshness policy was violated."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT asset, violated FROM freshness_alert_states").fetchall()
        return {str(asset): bool(violated) for asset, violated in rows}

    def change_freshness_alert_state(
        self, asset: str, violated: bool, *, status: str, now: datetime
    ) -> bool:
        """Record whether ``asset``'s freshness policy is violated; ``True`` when that
        changed (an asset never recorded counts as not violated): then, and only for
        this caller, an alert is due."""
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT violated FROM freshness_alert_states WHERE asset = ?", (asset,)
            ).fetchone()
            before = bool(row[0]) if row is not None else False
            if row is not None and before == violated:
                return False
            conn.execute(
                "INSERT INTO freshness_alert_states (asset, violated, status, changed_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (asset) DO UPDATE SET "
                "violated = excluded.violated, status = excluded.status, "
                "changed_at = excluded.changed_at",
                (asset, int(violated), status, to_epoch(now)),
            )
            return before != violated
