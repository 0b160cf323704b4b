"""The planner's bulk state from PostgreSQL, packed by the server into Arrow columns.

The latest rows of the asked assets and their edges come from two grouped
scans (:mod:`.scan`), run at once on two connections sharing one snapshot
(``pg_export_snapshot``): a few binary values per asset, unpacked by NumPy and
Arrow into :data:`~partita.records.LATEST_SCHEMA` and
:data:`~partita.records.EDGES_SCHEMA`, rather than a Python step per row.
``failed`` and ``observations`` are small: the shared queries of
:mod:`partita.catalog.common.tables`. All of it inside the caller's read
transaction (one snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import numpy as np
import pyarrow as pa

from partita.catalog.common.db import MICROS
from partita.catalog.common.tables import failed_and_observations
from partita.catalog.postgres.connection import PgConnection
from partita.catalog.postgres.scan import Column, scan_by_asset
from partita.records import EDGES_SCHEMA, LATEST_SCHEMA, PlannerState

__all__ = ["Reader", "load_planner_state"]

Reader = Callable[[], AbstractContextManager[PgConnection]]
"""Opens a read transaction (on a given snapshot)."""

_LATEST_COLUMNS = [
    Column(MICROS.format(f.name) if f.name == "created_at" else f.name, f.type)
    for f in LATEST_SCHEMA
    if f.name != "asset"
]
_LATEST_WIRE = pa.schema(
    [f.with_type(pa.int64()) if f.name == "created_at" else f for f in LATEST_SCHEMA]
)
"""The latest rows as scanned: ``created_at`` in microseconds, cast to a timestamp after."""
_EDGE_COLUMNS = [Column(f"e.{f.name}", f.type) for f in EDGES_SCHEMA]
_EDGES_SOURCE = (
    "latest_materialization l JOIN input_edges e ON e.materialization_id = l.materialization_id"
)


def _latest(conn: PgConnection, names: list[str]) -> pa.Table:
    found, counts, arrays = scan_by_asset(
        conn, "latest_materialization", "asset", _LATEST_COLUMNS, names
    )
    assets = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(len(found), dtype=np.int32), counts)),
        pa.array(found, type=pa.string()),
    ).cast(pa.string())
    table = pa.Table.from_arrays([assets, *arrays], schema=_LATEST_WIRE)
    return table.cast(LATEST_SCHEMA)


def _edges(conn: PgConnection, names: list[str]) -> pa.Table:
    _, _, arrays = scan_by_asset(conn, _EDGES_SOURCE, "l.asset", _EDGE_COLUMNS, names)
    return pa.Table.from_arrays(arrays, schema=EDGES_SCHEMA)


def load_planner_state(
    conn: PgConnection, assets: Sequence[str], *, other: Reader | None = None
) -> PlannerState:
    """The planner state of ``assets`` (see
    :meth:`~partita.records.CatalogReader.planner_state`).

    ``other``: opens a second connection on the same snapshot as ``conn``, to
    scan the edges there at the same time as the latest rows here (the server
    works on both at once); without it, one after the other on ``conn``.
    """
    names = sorted(set(assets))
    if other is None:
        latest = _latest(conn, names)
        edges = _edges(conn, names)
    else:
        opener = other

        def scan_edges() -> pa.Table:
            with opener() as second:
                return _edges(second, names)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(scan_edges)
            latest = _latest(conn, names)
            edges = pending.result()
    failed, observations = failed_and_observations(conn, names)
    return PlannerState(latest=latest, edges=edges, failed=failed, observations=observations)
