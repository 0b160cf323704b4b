"""Recording that stored data was deleted (``partita wipe``): the ``wipes`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from partita.catalog.common.db import SqlConnection, to_epoch
from partita.records import partition_column, partition_value

__all__ = ["record_wipe"]


def record_wipe(
    conn: SqlConnection,
    asset: str,
    partitions: Sequence[str | None] | None,
    *,
    now: datetime,
) -> list[str | None]:
    """Record in ``conn``'s open transaction that the stored data of ``partitions``
    (``None``: every partition) of ``asset`` was deleted; return the partitions
    that had a materialization (see :meth:`SQLiteCatalog.record_wipe`)."""
    wiped_at = to_epoch(now)
    latest = dict(
        conn.execute(
            "SELECT partition, materialization_id FROM latest_materialization WHERE asset = ?",
            (asset,),
        ).fetchall()
    )
    wanted = (
        sorted(latest) if partitions is None else sorted({partition_column(p) for p in partitions})
    )
    conn.executemany(
        "INSERT INTO wipes (asset, partition, materialization_id, wiped_at) VALUES (?, ?, ?, ?)",
        [(asset, p, latest.get(p), wiped_at) for p in wanted],
    )
    if partitions is None:
        conn.execute(
            "INSERT INTO wipes (asset, partition, materialization_id, wiped_at) "
            "VALUES (?, NULL, NULL, ?)",
            (asset, wiped_at),
        )
    conn.executemany(
        "DELETE FROM latest_materialization WHERE asset = ? AND partition = ?",
        [(asset, p) for p in wanted if p in latest],
    )
    conn.execute(
        "UPDATE catalog_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
        "WHERE key = 'generation'"
    )
    return [partition_value(p) for p in wanted if p in latest]
