"""The planner's bulk state as the catalog held it at an earlier time (``--at``).

``partita freshness --at T`` and ``partita status --at T`` judge the project as
it was at ``T``: only materializations created, attempts finished and
observations made at or before ``T`` count, a partition rebuilt after ``T``
counts with the materialization it had then, and one wiped (``partita wipe``)
at or before ``T`` counts as missing. The same few set-oriented
queries as :mod:`~partita.catalog.sqlite.state`, each bounded by ``T``, over
the history tables (the snapshot and ``latest_materialization`` only know the
present); never one query per partition.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa

from partita.catalog.common.db import MICROS, SqlConnection, to_epoch
from partita.catalog.common.tables import table_of
from partita.records import (
    EDGES_SCHEMA,
    FAILED_SCHEMA,
    LATEST_SCHEMA,
    OBSERVATIONS_SCHEMA,
    PlannerState,
)

__all__ = ["load_planner_state_as_of", "recorded_after"]

_LATEST_COLUMNS = f"""l.asset, l.partition, l.materialization_id, l.data_version,
       l.code_version, l.config_hash, l.output_hash, l.run_id, {MICROS.format("l.created_at")}"""
# the latest materialization of every (asset, partition) created at or before ?2
_AS_OF = """
WITH latest AS (
    SELECT m.asset, m.partition, m.id AS materialization_id, m.data_version, m.code_version,
           m.config_hash, m.output_hash, m.run_id, m.created_at
    FROM materializations m
    JOIN (SELECT MAX(id) AS id FROM materializations
          WHERE asset IN (SELECT value FROM json_each(?1)) AND created_at <= ?2
          GROUP BY asset, partition) newest
      ON newest.id = m.id
    WHERE NOT EXISTS (  -- wiped at or before ?2, after it was built
        SELECT 1 FROM wipes w
        WHERE w.asset = m.asset AND (w.partition = m.partition OR w.partition IS NULL)
          AND w.wiped_at >= m.created_at AND w.wiped_at <= ?2)
)
"""
_LATEST = _AS_OF + f"SELECT {_LATEST_COLUMNS} FROM latest l ORDER BY l.asset, l.partition"
_EDGES = (
    _AS_OF
    + """
SELECT e.materialization_id, e.upstream_asset, e.n_inputs, e.fingerprint
FROM latest l JOIN input_edges e ON e.materialization_id = l.materialization_id
"""
)
# as in state._FAILED, with every attempt, materialization and observation bounded by ?2
_FAILED = (
    _AS_OF
    + """
SELECT f.asset, f.partition, f.status, COALESCE(f.error, '')
FROM step_attempts f
LEFT JOIN latest l ON l.asset = f.asset AND l.partition = f.partition
WHERE f.status IN ('failed', 'timed_out', 'abandoned', 'cancelled')
  AND f.asset IN (SELECT value FROM json_each(?1))
  AND COALESCE(f.finished_at, f.started_at) <= ?2
  AND f.id = (
      SELECT MAX(a.id) FROM step_attempts a
      WHERE a.asset = f.asset AND a.partition = f.partition
        AND a.status IN ('succeeded', 'failed', 'timed_out', 'abandoned', 'cancelled')
        AND COALESCE(a.finished_at, a.started_at) <= ?2)
  AND (l.created_at IS NULL OR COALESCE(f.finished_at, f.started_at) >= l.created_at)
  AND NOT EXISTS (
      SELECT 1 FROM observations o
      WHERE o.asset = f.asset AND o.partition = f.partition
        AND o.observed_at >= COALESCE(f.finished_at, f.started_at) AND o.observed_at <= ?2)
  AND NOT EXISTS (
      SELECT 1 FROM wipes w
      WHERE w.asset = f.asset AND (w.partition = f.partition OR w.partition IS NULL)
        AND w.wiped_at >= COALESCE(f.finished_at, f.started_at) AND w.wiped_at <= ?2)
"""
)
_OBSERVATIONS = """
SELECT o.asset, o.partition, o.data_version, o.output_hash, o.observed_at
FROM observations o
JOIN (SELECT MAX(id) AS id FROM observations
      WHERE asset IN (SELECT value FROM json_each(?1)) AND observed_at <= ?2
      GROUP BY asset, partition) newest
  ON newest.id = o.id
"""


_RECORDED_AFTER = """
SELECT EXISTS (SELECT 1 FROM materializations WHERE created_at > ?1)
    OR EXISTS (SELECT 1 FROM step_attempts WHERE COALESCE(finished_at, started_at) > ?1)
    OR EXISTS (SELECT 1 FROM observations WHERE observed_at > ?1)
    OR EXISTS (SELECT 1 FROM wipes WHERE wiped_at > ?1)
"""


def recorded_after(conn: SqlConnection, moment: datetime) -> bool:
    """Whether anything the planner state is made of was recorded after ``moment`` (if
    not, the state as of ``moment`` is the current one, served from the snapshot)."""
    (found,) = conn.execute(_RECORDED_AFTER, (to_epoch(moment),)).fetchone()
    return bool(found)


def load_planner_state_as_of(
    conn: SqlConnection, assets: Sequence[str], as_of: datetime
) -> PlannerState:
    """The planner state of ``assets`` as recorded at or before ``as_of``, inside the
    caller's read transaction."""
    params = (json.dumps(sorted(set(assets))), to_epoch(as_of))
    latest = table_of(conn.execute(_LATEST, params).fetchall(), LATEST_SCHEMA, None)
    edges = table_of(conn.execute(_EDGES, params).fetchall(), EDGES_SCHEMA, None)
    failed = table_of(conn.execute(_FAILED, params).fetchall(), FAILED_SCHEMA, None)
    errors = [text.splitlines()[0] if text else "" for text in failed["error"].to_pylist()]
    failed = failed.set_column(3, "error", pa.array(errors, type=pa.string()))
    observations = table_of(conn.execute(_OBSERVATIONS, params).fetchall(), OBSERVATIONS_SCHEMA, 4)
    return PlannerState(latest=latest, edges=edges, failed=failed, observations=observations)
