"""Recording step outcomes: attempts, materializations, their inputs and edges, checks.

Every function runs inside the caller's write transaction. A materialization
is recorded with its ``output_hash`` (:attr:`~partita.records.Materialization.output_hash`:
its own, or the one it inherits), its exact inputs (``inputs``, one row
per upstream partition read) and its edges (``input_edges``, one row per
upstream asset: how many distinct partitions it read and
:func:`~partita.records.combine_hashes` of their output hashes as read
(:attr:`~partita.records.Input.output_hash`)), and the partition's
``latest_materialization`` pointer moves to it. The components of its code
version are kept once per version (``code_components``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import islice

from partita.catalog.common.db import SqlConnection, to_epoch
from partita.catalog.common.sql_models import insert_sql_models
from partita.errors import CatalogError
from partita.records import (
    CheckRecord,
    Input,
    Materialization,
    StepAttempt,
    StepRecord,
    combine_hashes,
    partition_column,
)

__all__ = [
    "BULK_CHUNK",
    "insert_attempt",
    "insert_checks",
    "insert_materializations",
    "record_steps",
    "upsert_attempt",
]

BULK_CHUNK = 20_000
"""Materializations inserted per ``executemany`` batch."""

_INSERT_MATERIALIZATION = """
INSERT INTO materializations (id, asset, partition, run_id, code_version, config_hash,
    data_version, output_hash, rows, bytes, schema, location, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_UPSERT_LATEST = """
INSERT INTO latest_materialization (asset, partition, materialization_id, data_version,
    code_version, config_hash, output_hash, run_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (asset, partition) DO UPDATE SET
    materialization_id = excluded.materialization_id,
    data_version = excluded.data_version,
    code_version = excluded.code_version,
    config_hash = excluded.config_hash,
    output_hash = excluded.output_hash,
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

_INSERT_EDGE = """
INSERT INTO input_edges (materialization_id, upstream_asset, n_inputs, fingerprint)
VALUES (?, ?, ?, ?)
"""

# Content-addressed: a code version's components never change, so the first
# record of a version is kept.
_INSERT_CODE_COMPONENTS = """
INSERT INTO code_components (code_version, components) VALUES (?, ?)
ON CONFLICT (code_version) DO NOTHING
"""


def _input_and_edge_rows(
    mid: int, inputs: Sequence[Input], upstream_assets: Sequence[str]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Rows of ``inputs`` (one per distinct upstream partition) and of ``input_edges``."""
    by_asset: dict[str, dict[str, Input]] = {asset: {} for asset in upstream_assets}
    for item in inputs:
        partitions = by_asset.setdefault(item.upstream_asset, {})
        partitions.setdefault(partition_column(item.upstream_partition), item)
    input_rows: list[tuple[object, ...]] = []
    edge_rows: list[tuple[object, ...]] = []
    for asset, partitions in by_asset.items():
        hashes = []
        for partition, item in partitions.items():
            hashes.append(item.output_hash)
            input_rows.append(
                (
                    mid,
                    asset,
                    partition,
                    item.upstream_materialization_id,
                    asset,
                    partition,
                    item.upstream_data_version,
                )
            )
        edge_rows.append((mid, asset, len(partitions), combine_hashes(hashes)))
    return input_rows, edge_rows


def insert_materializations(
    conn: SqlConnection,
    items: Iterable[tuple[Materialization, Sequence[Input]]],
    upstream_assets: Mapping[str, Sequence[str]],
    *,
    chunk_size: int = BULK_CHUNK,
) -> list[int]:
    """Insert materializations with their inputs and edges; return their new ids.

    ``upstream_assets[asset]`` are the assets ``asset`` depends on: each of
    its materializations gets an edge to each (``n_inputs = 0`` when it read
    nothing from one). Inputs repeating an upstream partition count once.
    Ids are consecutive after the largest one so far, so ids grow in commit
    order (state snapshots rely on it).
    """
    row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM materializations").fetchone()
    next_id = int(row[0]) + 1
    ids: list[int] = []
    iterator = iter(items)
    while True:
        chunk = list(islice(iterator, chunk_size))
        if not chunk:
            return ids
        m_rows: list[tuple[object, ...]] = []
        l_rows: list[tuple[object, ...]] = []
        i_rows: list[tuple[object, ...]] = []
        e_rows: list[tuple[object, ...]] = []
        code_rows: dict[str, str] = {}
        sql_rows: list[tuple[int, str]] = []
        for mat, mat_inputs in chunk:
            mid = next_id
            next_id += 1
            ids.append(mid)
            partition = partition_column(mat.partition)
            output_hash = mat.output_hash
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
                    output_hash,
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
                    output_hash,
                    mat.run_id,
                    created,
                )
            )
            mat_input_rows, mat_edge_rows = _input_and_edge_rows(
                mid, mat_inputs, upstream_assets.get(mat.asset, ())
            )
            i_rows.extend(mat_input_rows)
            e_rows.extend(mat_edge_rows)
            if mat.code_components:
                code_rows.setdefault(mat.code_version, mat.code_components)
            if mat.sql_model:
                sql_rows.append((mid, mat.sql_model))
        # pointers before inputs, so an input may link an upstream recorded
        # earlier in the same call
        conn.executemany(_INSERT_MATERIALIZATION, m_rows)
        conn.executemany(_UPSERT_LATEST, l_rows)
        conn.executemany(_INSERT_INPUT, i_rows)
        conn.executemany(_INSERT_EDGE, e_rows)
        conn.executemany(_INSERT_CODE_COMPONENTS, code_rows.items())
        insert_sql_models(conn, sql_rows)


def upsert_attempt(conn: SqlConnection, attempt: StepAttempt) -> None:
    """Update a started attempt (status, end, error, logs appended), or insert it."""
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
        insert_attempt(conn, attempt)


def insert_attempt(conn: SqlConnection, attempt: StepAttempt) -> None:
    """Insert an attempt row."""
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


def insert_checks(
    conn: SqlConnection,
    attempt: StepAttempt | None,
    checks: Sequence[CheckRecord],
    by_partition: Mapping[tuple[str, str], int],
) -> None:
    """Insert check results, linked to the materialization of their partition when known.

    Without ``attempt`` (checks of published data) each record carries its
    run id and time.
    """
    rows: list[tuple[object, ...]] = []
    for check in checks:
        key = (check.asset, partition_column(check.partition))
        if attempt is None:
            created = check.created_at
            run_id = check.run_id
            number = check.attempt
        else:
            created = check.created_at or attempt.finished_at or attempt.started_at
            run_id = check.run_id or attempt.run_id
            number = attempt.attempt if check.attempt is None else check.attempt
        if created is None:
            raise CatalogError(f"check result {check.check_name!r} has no created_at")
        rows.append(
            (
                run_id,
                check.materialization_id or by_partition.get(key),
                check.asset,
                key[1],
                check.check_name,
                int(check.passed),
                check.severity,
                check.message,
                to_epoch(created),
                check.kind,
                number,
                check.failing_rows,
                check.total_rows,
                check.failing_fraction,
                check.sample,
                check.metadata,
            )
        )
    conn.executemany(
        "INSERT INTO check_results (run_id, materialization_id, asset, partition, "
        "check_name, passed, severity, message, created_at, kind, attempt, failing_rows, "
        "total_rows, failing_fraction, sample, metadata) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def record_steps(conn: SqlConnection, steps: Sequence[StepRecord]) -> list[tuple[int, ...]]:
    """Record step rows in order (starts inserted, outcomes upserted with their
    materializations, inputs, edges and checks); return each step's materialization ids.

    The materializations of consecutive outcomes are inserted together, so a
    batch costs a few statements, not a few per step.
    """
    ids: list[tuple[int, ...]] = [() for _ in steps]
    group: list[int] = []

    def flush() -> None:
        items: list[tuple[Materialization, Sequence[Input]]] = []
        depends: dict[str, Sequence[str]] = {}
        for index in group:
            step = steps[index]
            if len(step.inputs) > len(step.materializations):
                raise CatalogError("more input lists than materializations in one step outcome")
            padded = [*step.inputs, *([()] * (len(step.materializations) - len(step.inputs)))]
            items.extend(zip(step.materializations, padded, strict=True))
            for mat in step.materializations:
                depends.setdefault(mat.asset, step.upstream_assets)
        new_ids = iter(insert_materializations(conn, items, depends)) if items else iter(())
        for index in group:
            step = steps[index]
            mids = tuple(next(new_ids) for _ in step.materializations)
            ids[index] = mids
            by_partition = {
                (m.asset, partition_column(m.partition)): mid
                for m, mid in zip(step.materializations, mids, strict=True)
            }
            insert_checks(conn, step.attempt, step.checks, by_partition)
        group.clear()

    for index, step in enumerate(steps):
        if step.start:
            flush()
            insert_attempt(conn, step.attempt)
            continue
        upsert_attempt(conn, step.attempt)
        group.append(index)
    flush()
    return ids
