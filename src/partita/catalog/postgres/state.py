"""The planner's bulk state from PostgreSQL, through ``COPY`` and Arrow's CSV reader.

Fetching a million rows through a driver builds a Python object per value;
here the server streams the latest rows (and their edges) of the asked
assets as CSV (``COPY ... TO STDOUT``) and Arrow parses them in C, straight
into :data:`~partita.records.LATEST_SCHEMA` and
:data:`~partita.records.EDGES_SCHEMA`. ``failed`` and ``observations`` are
small: the shared queries of :mod:`partita.catalog.common.tables`. All of it
inside the caller's read transaction (one snapshot).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.csv as pacsv

from partita.catalog.common.db import MICROS
from partita.catalog.common.tables import failed_and_observations
from partita.catalog.postgres.connection import PgConnection
from partita.records import EDGES_SCHEMA, LATEST_SCHEMA, PlannerState

__all__ = ["load_planner_state"]

_LATEST = (
    "COPY (SELECT asset, partition, materialization_id, data_version, code_version, "
    f"config_hash, output_hash, run_id, {MICROS.format('created_at')} "
    "FROM latest_materialization WHERE asset = ANY(%s::text[])) TO STDOUT (FORMAT csv)"
)
_EDGES = (
    "COPY (SELECT e.materialization_id, e.upstream_asset, e.n_inputs, e.fingerprint "
    "FROM latest_materialization l JOIN input_edges e "
    "ON e.materialization_id = l.materialization_id "
    "WHERE l.asset = ANY(%s::text[])) TO STDOUT (FORMAT csv)"
)


def _copied(conn: PgConnection, query: str, names: list[str], schema: pa.Schema) -> pa.Table:
    """The rows of one ``COPY ... TO STDOUT (FORMAT csv)`` as a table of ``schema``."""
    buffer = io.BytesIO()
    with conn.raw.cursor().copy(query.encode(), (names,)) as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return schema.empty_table()
    buffer.seek(0)
    wire = pa.schema(
        [f.with_type(pa.int64()) if pa.types.is_timestamp(f.type) else f for f in schema]
    )
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=wire, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )
    return table.cast(schema)


def load_planner_state(conn: PgConnection, assets: Sequence[str]) -> PlannerState:
    """The planner state of ``assets`` (see
    :meth:`~partita.records.CatalogReader.planner_state`)."""
    names = sorted(set(assets))
    latest = _copied(conn, _LATEST, names, LATEST_SCHEMA)
    edges = _copied(conn, _EDGES, names, EDGES_SCHEMA)
    failed, observations = failed_and_observations(conn, names)
    return PlannerState(latest=latest, edges=edges, failed=failed, observations=observations)
