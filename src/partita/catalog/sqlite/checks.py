"""Reading check results: the latest per check and partition, and per materialization."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from partita.catalog.sqlite.connection import from_epoch
from partita.records import CheckRecord, partition_column, partition_value

__all__ = ["check_results", "checks_of_materializations"]

_COLUMNS = (
    "id, run_id, materialization_id, asset, partition, check_name, passed, severity, message, "
    "created_at, kind, attempt, failing_rows, total_rows, failing_fraction, sample, metadata"
)
_CHUNK = 500


def _record(row: Sequence[object]) -> CheckRecord:
    (cid, run_id, mid, asset, partition, name, passed, severity, message, created) = row[:10]
    kind, attempt, failing, total, fraction, sample, metadata = row[10:]
    return CheckRecord(
        check_id=int(cid),  # type: ignore[call-overload]
        run_id=None if run_id is None else str(run_id),
        materialization_id=None if mid is None else int(mid),  # type: ignore[call-overload]
        asset=str(asset),
        partition=partition_value(str(partition)),
        check_name=str(name),
        passed=bool(passed),
        severity=str(severity),
        message=str(message),
        created_at=from_epoch(float(created)),  # type: ignore[arg-type]
        kind=str(kind),
        attempt=None if attempt is None else int(attempt),  # type: ignore[call-overload]
        failing_rows=None if failing is None else int(failing),  # type: ignore[call-overload]
        total_rows=None if total is None else int(total),  # type: ignore[call-overload]
        failing_fraction=None if fraction is None else float(fraction),  # type: ignore[arg-type]
        sample=str(sample),
        metadata=str(metadata),
    )


def check_results(
    conn: sqlite3.Connection,
    *,
    assets: Sequence[str] | None = None,
    partition: str | None = None,
    failed_only: bool = False,
    latest_only: bool = True,
    limit: int = 1000,
) -> list[CheckRecord]:
    """Check results, newest first.

    Args:
        assets: only these assets (``None``: every asset).
        partition: only this partition key (``None``: every partition).
        failed_only: only results that failed (after ``latest_only``: checks
            whose latest result failed).
        latest_only: only the latest result of each (asset, check, partition).
        limit: at most this many results.
    """
    where: list[str] = []
    params: list[object] = []
    if assets is not None:
        if not assets:
            return []
        where.append(f"asset IN ({', '.join('?' for _ in assets)})")
        params.extend(assets)
    if partition is not None:
        where.append("partition = ?")
        params.append(partition_column(partition))
    condition = " AND ".join(where) or "1 = 1"
    if latest_only:
        sql = (
            f"SELECT {_COLUMNS} FROM check_results WHERE id IN (SELECT MAX(id) FROM "
            f"check_results WHERE {condition} GROUP BY asset, check_name, partition)"
        )
    else:
        sql = f"SELECT {_COLUMNS} FROM check_results WHERE {condition}"
    if failed_only:
        sql += " AND passed = 0"
    sql += " ORDER BY id DESC LIMIT ?"
    rows = conn.execute(sql, [*params, limit]).fetchall()
    return [_record(row) for row in rows]


def checks_of_materializations(
    conn: sqlite3.Connection, materialization_ids: Sequence[int]
) -> dict[int, list[CheckRecord]]:
    """The check results linked to each materialization (in the order recorded)."""
    found: dict[int, list[CheckRecord]] = {}
    ids = sorted(set(materialization_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM check_results WHERE materialization_id IN "
            f"({', '.join('?' for _ in chunk)}) ORDER BY id",
            chunk,
        ).fetchall()
        for row in rows:
            record = _record(row)
            assert record.materialization_id is not None
            found.setdefault(record.materialization_id, []).append(record)
    return found
