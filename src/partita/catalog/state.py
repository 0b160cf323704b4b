"""The planner's bulk state: a few set-oriented queries returned as Arrow columns.

Every query is filtered by the set of assets (passed as one JSON parameter),
reads a covering index or the ``latest_materialization`` pointer table, and
is turned into columns in one pass: never one query or one Python object per
partition beyond the cursor's row tuples.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from partita.records import (
    FAILED_SCHEMA,
    INPUTS_SCHEMA,
    LATEST_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PlannerState,
)

__all__ = ["load_planner_state"]

_ASSETS = "SELECT value FROM json_each(?)"

_LATEST = f"""
SELECT asset, partition, materialization_id, data_version, code_version, config_hash,
       input_fingerprint, run_id, created_at
FROM latest_materialization WHERE asset IN ({_ASSETS})
"""

_INPUTS = f"""
SELECT i.materialization_id, i.upstream_asset, i.upstream_partition,
       i.upstream_materialization_id, i.upstream_data_version
FROM latest_materialization l
JOIN inputs i ON i.materialization_id = l.materialization_id
WHERE l.asset IN ({_ASSETS})
"""

# The last finished attempt (succeeded, failed or timed out) of a partition
# failed, and it finished after the partition's latest materialization.
_FAILED = f"""
SELECT f.asset, f.partition, f.status, COALESCE(f.error, '')
FROM step_attempts f
LEFT JOIN latest_materialization l ON l.asset = f.asset AND l.partition = f.partition
WHERE f.status IN ('failed', 'timed_out')
  AND f.asset IN ({_ASSETS})
  AND f.id = (
      SELECT MAX(a.id) FROM step_attempts a
      WHERE a.asset = f.asset AND a.partition = f.partition
        AND a.status IN ('succeeded', 'failed', 'timed_out'))
  AND (l.created_at IS NULL OR COALESCE(f.finished_at, f.started_at) >= l.created_at)
"""

_OBSERVATIONS = f"""
SELECT o.asset, o.partition, o.data_version, o.observed_at
FROM observations o
JOIN (SELECT MAX(id) AS id FROM observations
      WHERE asset IN ({_ASSETS}) GROUP BY asset, partition) newest
  ON newest.id = o.id
"""


def _timestamps(values: Sequence[float]) -> pa.Array:
    micros = np.rint(np.asarray(values, dtype=np.float64) * 1e6).astype(np.int64)
    return pa.array(micros, type=pa.timestamp("us", tz="UTC"))


def _table(
    rows: list[tuple[object, ...]], schema: pa.Schema, timestamp_column: int | None
) -> pa.Table:
    if not rows:
        return schema.empty_table()
    columns = list(zip(*rows, strict=True))
    arrays = []
    for index, pa_field in enumerate(schema):
        if index == timestamp_column:
            arrays.append(_timestamps(columns[index]))
        else:
            arrays.append(pa.array(columns[index], type=pa_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _first_lines(table: pa.Table) -> pa.Table:
    errors = [(text or "").splitlines()[0] if text else "" for text in table["error"].to_pylist()]
    return table.set_column(3, "error", pa.array(errors, type=pa.string()))


def load_planner_state(conn: sqlite3.Connection, assets: Sequence[str]) -> PlannerState:
    """Run the four bulk queries inside the caller's read transaction."""
    names = json.dumps(sorted(set(assets)))
    latest = _table(conn.execute(_LATEST, (names,)).fetchall(), LATEST_SCHEMA, 8)
    inputs = _table(conn.execute(_INPUTS, (names,)).fetchall(), INPUTS_SCHEMA, None)
    failed = _first_lines(_table(conn.execute(_FAILED, (names,)).fetchall(), FAILED_SCHEMA, None))
    observations = _table(conn.execute(_OBSERVATIONS, (names,)).fetchall(), OBSERVATIONS_SCHEMA, 3)
    return PlannerState(latest=latest, inputs=inputs, failed=failed, observations=observations)
