"""Query rows as Arrow tables, for the planner's state."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from partita.catalog.common.db import SqlConnection
from partita.records import FAILED_SCHEMA, INPUTS_SCHEMA, OBSERVATIONS_SCHEMA

__all__ = ["failed_and_observations", "load_inputs", "table_of"]

_ASSETS = "SELECT value FROM json_each(?)"

# The last finished attempt of a partition did not succeed (failed, timed out,
# cancelled, or abandoned by a run that died), after its latest materialization.
# Cancelled and abandoned count: the worker may have published before the
# coordinator could record it, so the partition is rebuilt to make data and
# catalog agree again. A source partition's failed attempt is a failed
# observation; a later observation of it ends the failure. A later wipe of the
# partition's data ends it too: the partition is then missing.
_FAILED = f"""
SELECT f.asset, f.partition, f.status, COALESCE(f.error, '')
FROM step_attempts f
LEFT JOIN latest_materialization l ON l.asset = f.asset AND l.partition = f.partition
WHERE f.status IN ('failed', 'timed_out', 'abandoned', 'cancelled')
  AND f.asset IN ({_ASSETS})
  AND f.id = (
      SELECT MAX(a.id) FROM step_attempts a
      WHERE a.asset = f.asset AND a.partition = f.partition
        AND a.status IN ('succeeded', 'failed', 'timed_out', 'abandoned', 'cancelled'))
  AND (l.created_at IS NULL OR COALESCE(f.finished_at, f.started_at) >= l.created_at)
  AND NOT EXISTS (
      SELECT 1 FROM observations o
      WHERE o.asset = f.asset AND o.partition = f.partition
        AND o.observed_at >= COALESCE(f.finished_at, f.started_at))
  AND NOT EXISTS (
      SELECT 1 FROM wipes w
      WHERE w.asset = f.asset AND (w.partition = f.partition OR w.partition IS NULL)
        AND w.wiped_at >= COALESCE(f.finished_at, f.started_at))
"""

_OBSERVATIONS = f"""
SELECT o.asset, o.partition, o.data_version, o.output_hash, o.observed_at
FROM observations o
JOIN (SELECT MAX(id) AS id FROM observations
      WHERE asset IN ({_ASSETS}) GROUP BY asset, partition) newest
  ON newest.id = o.id
"""

_INPUTS = """
SELECT materialization_id, upstream_asset, upstream_partition, upstream_materialization_id,
       upstream_data_version
FROM inputs WHERE materialization_id IN (SELECT value FROM json_each(?))
ORDER BY materialization_id, upstream_asset, upstream_partition
"""


def table_of(
    rows: list[tuple[object, ...]], schema: pa.Schema, timestamp_column: int | None
) -> pa.Table:
    """Cursor rows as a table; ``timestamp_column`` holds epoch seconds (``REAL``).

    The rows are converted in one pass as a struct array (much faster than
    transposing them in Python), then split into columns.
    """
    if not rows:
        return schema.empty_table()
    fields = [
        f.with_type(pa.float64()) if i == timestamp_column else f for i, f in enumerate(schema)
    ]
    table = pa.Table.from_struct_array(pa.array(rows, type=pa.struct(fields)))
    if timestamp_column is not None:
        seconds = table.column(timestamp_column).to_numpy()
        micros = np.rint(seconds * 1e6).astype(np.int64)
        table = table.set_column(
            timestamp_column,
            schema.field(timestamp_column),
            pa.array(micros, type=schema.field(timestamp_column).type),
        )
    return table


def load_inputs(conn: SqlConnection, materialization_ids: Sequence[int]) -> pa.Table:
    """The recorded inputs of some materializations (:data:`~partita.records.INPUTS_SCHEMA`)."""
    ids = json.dumps(sorted({int(mid) for mid in materialization_ids}))
    return table_of(conn.execute(_INPUTS, (ids,)).fetchall(), INPUTS_SCHEMA, None)


def failed_and_observations(conn: SqlConnection, names: Sequence[str]) -> tuple[pa.Table, pa.Table]:
    """The ``failed`` and ``observations`` tables of a planner state for assets ``names``."""
    params = (json.dumps(names),)
    failed = table_of(conn.execute(_FAILED, params).fetchall(), FAILED_SCHEMA, None)
    if failed.num_rows:  # (pa.array of a list imports pandas: not when there is nothing)
        errors = [text.splitlines()[0] if text else "" for text in failed["error"].to_pylist()]
        failed = failed.set_column(3, "error", pa.array(errors, type=pa.string()))
    observations = table_of(conn.execute(_OBSERVATIONS, params).fetchall(), OBSERVATIONS_SCHEMA, 4)
    return failed, observations
