"""Query rows as Arrow tables, for the planner's state."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from partita.catalog.common.db import SqlConnection
from partita.records import INPUTS_SCHEMA

__all__ = ["load_inputs", "table_of"]

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
