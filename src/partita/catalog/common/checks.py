"""Reading check results: the current ones, the latest per check, and per materialization.

Whether a result is a build's or a re-check's is not stored: it is the kind of
the run that recorded it (``check`` runs re-check published data).
"""

from __future__ import annotations

from collections.abc import Sequence

from partita.catalog.common.db import SqlConnection, from_epoch
from partita.records import CheckRecord, partition_column, partition_value

__all__ = ["check_results", "checks_of_materializations", "current_check_results"]

_COLUMNS = (
    "c.id, c.run_id, c.materialization_id, c.asset, c.partition, c.check_name, c.passed, "
    "c.severity, c.message, c.created_at, c.kind, c.attempt, c.failing_rows, c.total_rows, "
    "c.failing_fraction, c.sample, c.metadata, "
    "CASE WHEN r.kind = 'check' THEN 'recheck' ELSE 'build' END"
)
_FROM = "check_results c LEFT JOIN runs r ON r.run_id = c.run_id"
_CHUNK = 500


def _record(row: Sequence[object]) -> CheckRecord:
    (cid, run_id, mid, asset, partition, name, passed, severity, message, created) = row[:10]
    kind, attempt, failing, total, fraction, sample, metadata, source = row[10:]
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
        source=str(source),
    )


def _scope(
    assets: Sequence[str] | None, partition: str | None, alias: str
) -> tuple[str, list[object]]:
    """A ``WHERE`` condition (columns of table ``alias``) and its parameters."""
    where: list[str] = []
    params: list[object] = []
    if assets is not None:
        where.append(f"{alias}.asset IN ({', '.join('?' for _ in assets)})")
        params.extend(assets)
    if partition is not None:
        where.append(f"{alias}.partition = ?")
        params.append(partition_column(partition))
    return " AND ".join(where) or "1 = 1", params


def check_results(
    conn: SqlConnection,
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
    if assets is not None and not assets:
        return []
    if latest_only:
        condition, params = _scope(assets, partition, "l")
        sql = (
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE c.id IN (SELECT MAX(l.id) FROM "
            f"check_results l WHERE {condition} GROUP BY l.asset, l.check_name, l.partition)"
        )
    else:
        condition, params = _scope(assets, partition, "c")
        sql = f"SELECT {_COLUMNS} FROM {_FROM} WHERE {condition}"
    if failed_only:
        sql += " AND c.passed = 0"
    sql += " ORDER BY c.id DESC LIMIT ?"
    rows = conn.execute(sql, [*params, limit]).fetchall()
    return [_record(row) for row in rows]


# The results of each partition's current state (see current_check_results).
# A build's results are grouped by the attempt that recorded them (run, attempt).
_CURRENT = """
WITH scoped AS (
    SELECT c.id, c.asset, c.partition, c.check_name, c.run_id, c.attempt,
           c.materialization_id, c.created_at, COALESCE(r.kind, '') = 'check' AS recheck
    FROM check_results c LEFT JOIN runs r ON r.run_id = c.run_id
    WHERE {condition}
),
last_build AS (
    SELECT s.* FROM scoped s
    JOIN (SELECT MAX(id) AS id FROM scoped WHERE NOT recheck GROUP BY asset, partition) n
      ON n.id = s.id
),
current_build AS (
    SELECT s.id FROM scoped s
    JOIN last_build g ON g.asset = s.asset AND g.partition = s.partition
     AND s.run_id IS g.run_id AND s.attempt IS g.attempt
    LEFT JOIN latest_materialization l ON l.asset = g.asset AND l.partition = g.partition
    WHERE NOT s.recheck
      AND (g.materialization_id = l.materialization_id
           OR (g.materialization_id IS NULL
               AND (l.created_at IS NULL OR g.created_at >= l.created_at)))
),
current_recheck AS (
    SELECT MAX(s.id) AS id FROM scoped s
    LEFT JOIN latest_materialization l ON l.asset = s.asset AND l.partition = s.partition
    WHERE s.recheck AND s.materialization_id IS l.materialization_id
    GROUP BY s.asset, s.partition, s.check_name
)
SELECT {columns} FROM {source}
WHERE c.id IN (SELECT id FROM current_build UNION ALL SELECT id FROM current_recheck)
ORDER BY c.id DESC
"""


def current_check_results(
    conn: SqlConnection,
    *,
    assets: Sequence[str] | None = None,
    partition: str | None = None,
) -> list[CheckRecord]:
    """The check results of each partition's current state, newest first.

    Per partition: the results of its latest build attempt that recorded any,
    when that attempt produced the latest materialization or failed after it
    (a blocking check discarded the data); and, per check, the latest
    re-check (a run of kind ``check``) of the latest materialization.
    """
    if assets is not None and not assets:
        return []
    condition, params = _scope(assets, partition, "c")
    sql = _CURRENT.format(condition=condition, columns=_COLUMNS, source=_FROM)
    return [_record(row) for row in conn.execute(sql, params).fetchall()]


def checks_of_materializations(
    conn: SqlConnection, materialization_ids: Sequence[int]
) -> dict[int, list[CheckRecord]]:
    """The check results linked to each materialization (in the order recorded)."""
    found: dict[int, list[CheckRecord]] = {}
    ids = sorted(set(materialization_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE c.materialization_id IN "
            f"({', '.join('?' for _ in chunk)}) ORDER BY c.id",
            chunk,
        ).fetchall()
        for row in rows:
            record = _record(row)
            assert record.materialization_id is not None
            found.setdefault(record.materialization_id, []).append(record)
    return found
