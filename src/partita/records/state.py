"""The planner's bulk state: the catalog's latest materializations as Arrow tables.

:class:`PlannerState` is what every catalog hands the pure planner and
freshness (``CatalogReader.planner_state``); the ``*_SCHEMA`` constants are
its column tables' schemas, the same for every catalog implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "EDGES_SCHEMA",
    "FAILED_SCHEMA",
    "INPUTS_SCHEMA",
    "LATEST_SCHEMA",
    "OBSERVATIONS_SCHEMA",
    "PlannerState",
]

LATEST_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("materialization_id", pa.int64()),
        ("data_version", pa.string()),
        ("code_version", pa.string()),
        ("config_hash", pa.string()),
        ("output_hash", pa.int64()),
        ("run_id", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
EDGES_SCHEMA = pa.schema(
    [
        ("materialization_id", pa.int64()),
        ("upstream_asset", pa.string()),
        ("n_inputs", pa.int64()),
        ("fingerprint", pa.int64()),
    ]
)
INPUTS_SCHEMA = pa.schema(
    [
        ("materialization_id", pa.int64()),
        ("upstream_asset", pa.string()),
        ("upstream_partition", pa.string()),
        ("upstream_materialization_id", pa.int64()),
        ("upstream_data_version", pa.string()),
    ]
)
FAILED_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
)
OBSERVATIONS_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("data_version", pa.string()),
        ("output_hash", pa.int64()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class PlannerState:
    """The catalog's bulk state for a set of assets, as Arrow tables.

    - ``latest``: the latest successful materialization of every partition
      (columns of :data:`LATEST_SCHEMA`), one row per ``(asset, partition)``;
      ``output_hash`` is :func:`~partita.records.partition_hash` of the row;
    - ``edges``: one row per (latest materialization, upstream asset it
      depends on) (:data:`EDGES_SCHEMA`): how many distinct upstream
      partitions it read (``n_inputs``) and
      :func:`~partita.records.combine_hashes` of their
      :func:`~partita.records.partition_hash` (``fingerprint``, 0 when it
      read nothing);
    - ``failed``: partitions whose last finished attempt failed, timed out,
      was cancelled or abandoned after their last success
      (:data:`FAILED_SCHEMA`, ``error`` is the error's first line);
    - ``observations``: the latest observation of every partition of the
      source assets among them (:data:`OBSERVATIONS_SCHEMA`).

    A partition is up to date with an upstream asset when the fingerprint of
    the upstream partitions it maps to *now* (the sum of their current
    ``output_hash``) equals the recorded one; the exact inputs behind a
    fingerprint are in ``CatalogReader.inputs_of``. Rows come in no
    particular order. Unpartitioned assets have partition
    :data:`~partita.records.UNPARTITIONED`. The tables are immutable Arrow
    values.
    """

    latest: pa.Table
    edges: pa.Table
    failed: pa.Table
    observations: pa.Table

    @classmethod
    def empty(cls) -> PlannerState:
        """A state with no materializations (a fresh catalog)."""
        return cls(
            latest=LATEST_SCHEMA.empty_table(),
            edges=EDGES_SCHEMA.empty_table(),
            failed=FAILED_SCHEMA.empty_table(),
            observations=OBSERVATIONS_SCHEMA.empty_table(),
        )

    def latest_of(self, asset: str) -> pa.Table:
        """The rows of ``latest`` for one asset."""
        return self.latest.filter(pc.equal(self.latest["asset"], asset))
