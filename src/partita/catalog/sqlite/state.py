"""The planner's bulk state: latest materializations and their edges as Arrow columns.

The state of every asset (its ``latest`` rows and their ``edges``) comes from
its state block (:mod:`~partita.catalog.sqlite.snapshot`) when the blocks
apply, plus the rows recorded since (``materialization_id`` above the blocks'
mark, read through an index); without them, from two full queries
(:func:`load_planner_state`, the reference). Rows recorded since replace the
block's rows of the same ``(asset, partition)``, asset by asset with
vectorized ``is_in`` masks, so the cost grows with what changed. When the
rows read from SQLite reach ``refresh_rows``, :func:`load_state` also
returns the blocks that bring the catalog's up to date, which the caller
writes in a write transaction of its own. ``failed`` and ``observations``
are small and are queried each time. Everything is read inside the caller's
read transaction, so the state is one consistent point in the catalog's
history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partita.catalog.common.db import MICROS
from partita.catalog.common.tables import failed_and_observations, load_inputs, table_of
from partita.catalog.sqlite.scan import Column, scan_by_asset
from partita.catalog.sqlite.snapshot import (
    AssetRows,
    BlockMark,
    StateBlocks,
    read_blocks,
    read_mark,
    repeated,
)
from partita.records import (
    EDGES_SCHEMA,
    LATEST_SCHEMA,
    PlannerState,
)

__all__ = [
    "DEFAULT_REFRESH_ROWS",
    "catalog_generation",
    "load_inputs",
    "load_planner_state",
    "load_state",
    "table_of",
]

DEFAULT_REFRESH_ROWS = 20_000
"""Write new state blocks once this many latest rows had to be read from SQLite."""

_ASSETS = "SELECT value FROM json_each(?)"
# created_at in whole microseconds, rounded as the columnar scan rounds them
_LATEST_COLUMNS = f"""asset, partition, materialization_id, data_version, code_version,
       config_hash, output_hash, run_id, {MICROS.format("created_at")}"""
# no ORDER BY: SQLite would scan the whole table in key order rather than sort
_NEW_LATEST = f"SELECT {_LATEST_COLUMNS} FROM latest_materialization WHERE materialization_id > ?"
# a range of the primary key; the rows of superseded materializations are
# dropped against the new latest rows in Arrow
_NEW_EDGES = """
SELECT materialization_id, upstream_asset, n_inputs, fingerprint
FROM input_edges WHERE materialization_id > ?
"""


_LATEST_WITHOUT_ASSET = pa.schema([f for f in LATEST_SCHEMA if f.name != "asset"])


def _by_asset(table: pa.Table) -> dict[str, pa.Table]:
    """Slices of a table sorted by ``asset``, per asset (zero-copy)."""
    if table.num_rows == 0:
        return {}
    encoded = pc.dictionary_encode(table["asset"]).combine_chunks()
    codes = encoded.indices.to_numpy()
    starts = np.flatnonzero(np.diff(codes)) + 1
    bounds = [0, *starts.tolist(), table.num_rows]
    names = encoded.dictionary.to_pylist()
    return {
        str(names[codes[begin]]): table.slice(begin, end - begin) for begin, end in pairwise(bounds)
    }


def _asset_rows(latest: pa.Table, edges: pa.Table) -> dict[str, tuple[pa.Table, pa.Table]]:
    """Per-asset latest rows and edges from asset-sorted query results."""
    edges_by_asset = _by_asset(edges)
    empty = EDGES_SCHEMA.empty_table()
    return {
        asset: (
            rows,
            edges_by_asset[asset].drop_columns(["asset"]) if asset in edges_by_asset else empty,
        )
        for asset, rows in _by_asset(latest).items()
    }


def _not_in(column: pa.ChunkedArray, values: pa.ChunkedArray) -> pa.Array:
    return pc.invert(pc.is_in(column, value_set=values.combine_chunks()))


def _merge(base: AssetRows, newer: AssetRows) -> dict[str, tuple[pa.Table, pa.Table]]:
    """``base`` with each ``(asset, partition)`` in ``newer`` replaced by its newer row."""
    merged = dict(base)
    for asset, (new_latest, new_edges) in newer.items():
        if asset not in base:
            merged[asset] = (new_latest, new_edges)
            continue
        old_latest, old_edges = base[asset]
        keep = _not_in(old_latest["partition"], new_latest["partition"])
        dropped = old_latest["materialization_id"].filter(pc.invert(keep))
        if len(dropped):
            old_latest = old_latest.filter(keep)
            old_edges = old_edges.filter(_not_in(old_edges["materialization_id"], dropped))
        merged[asset] = (
            pa.concat_tables([old_latest, new_latest]),
            pa.concat_tables([old_edges, new_edges]),
        )
    return merged


def catalog_generation(conn: sqlite3.Connection) -> int:
    """The catalog's generation (bumped by every non-append change, such as a wipe)."""
    row = conn.execute("SELECT value FROM catalog_meta WHERE key = 'generation'").fetchone()
    return int(row[0])


def _scanned(
    conn: sqlite3.Connection, source: str, asset: str, columns: list[Column], schema: pa.Schema
) -> dict[str, pa.Table]:
    """Per asset, the rows of a whole-table scan (see :mod:`.scan`)."""
    names, counts, arrays = scan_by_asset(conn, source, asset, columns)
    table = pa.Table.from_arrays(arrays, schema=schema)
    starts = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return {
        name: table.slice(begin, end - begin)
        for name, begin, end in zip(names, starts[:-1], starts[1:], strict=True)
    }


def _all_rows(conn: sqlite3.Connection) -> dict[str, tuple[pa.Table, pa.Table]]:
    """Every asset's latest rows and their edges, in two columnar scans."""
    latest_columns = [
        Column(MICROS.format(f.name) if f.name == "created_at" else f.name, f.type)
        for f in LATEST_SCHEMA
        if f.name != "asset"
    ]
    latest = _scanned(
        conn, "latest_materialization", "asset", latest_columns, _LATEST_WITHOUT_ASSET
    )
    edges = _scanned(
        conn,
        "latest_materialization l JOIN input_edges e "
        "ON e.materialization_id = l.materialization_id",
        "l.asset",
        [Column(f"e.{f.name}", f.type) for f in EDGES_SCHEMA],
        EDGES_SCHEMA,
    )
    empty = EDGES_SCHEMA.empty_table()
    return {
        name: (rows.add_column(0, "asset", repeated(name, rows.num_rows)), edges.get(name, empty))
        for name, rows in latest.items()
    }


def _rows_after(conn: sqlite3.Connection, after: int) -> dict[str, tuple[pa.Table, pa.Table]]:
    """Latest rows (and their edges) of materializations after id ``after``, per asset."""
    if after == 0:
        return _all_rows(conn)
    latest = table_of(conn.execute(_NEW_LATEST, (after,)).fetchall(), LATEST_SCHEMA, None)
    latest = latest.take(pc.sort_indices(latest, [("asset", "ascending")]))
    edges = table_of(conn.execute(_NEW_EDGES, (after,)).fetchall(), EDGES_SCHEMA, None)
    ids = latest["materialization_id"].combine_chunks()
    position = pc.index_in(edges["materialization_id"], value_set=ids)
    edges = edges.filter(pc.is_valid(position))
    position = position.filter(pc.is_valid(position))
    assets = pc.take(latest["asset"], position)
    edges = edges.add_column(0, "asset", assets)
    edges = edges.take(pc.sort_indices(edges, [("asset", "ascending")]))
    return _asset_rows(latest, edges)


def _state(conn: sqlite3.Connection, names: list[str], rows: AssetRows) -> PlannerState:
    """The planner state of ``names`` from their latest rows and edges."""
    chosen = [rows[name] for name in names if name in rows]
    latest = pa.concat_tables([LATEST_SCHEMA.empty_table()] + [lat for lat, _ in chosen])
    edges = pa.concat_tables([EDGES_SCHEMA.empty_table()] + [edg for _, edg in chosen])
    failed, observations = failed_and_observations(conn, names)
    return PlannerState(latest=latest, edges=edges, failed=failed, observations=observations)


def load_planner_state(conn: sqlite3.Connection, assets: Sequence[str]) -> PlannerState:
    """The planner state of ``assets`` straight from the rows, without the state blocks.

    The reference the block path must always equal; inside the caller's
    read transaction.
    """
    return _state(conn, sorted(set(assets)), _rows_after(conn, 0))


def _fetched(rows: AssetRows) -> int:
    return sum(latest.num_rows for latest, _ in rows.values())


def load_state(
    conn: sqlite3.Connection, assets: Sequence[str], *, refresh_rows: int = DEFAULT_REFRESH_ROWS
) -> tuple[PlannerState, StateBlocks | None]:
    """The planner state of ``assets`` through the state blocks, and new blocks to write.

    Inside the caller's read transaction: the blocks of ``assets`` when they
    apply (see :mod:`~partita.catalog.sqlite.snapshot`) plus the latest rows
    recorded after them, else every row. When ``refresh_rows`` or more rows
    had to be read, also returns the blocks that bring the catalog's blocks
    up to date (the caller writes them with
    :func:`~partita.catalog.sqlite.snapshot.write_blocks` in a write
    transaction); ``None`` otherwise. With no ``assets``, only checks
    whether new blocks are due.
    """
    names = sorted(set(assets))
    (max_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM materializations").fetchone()
    current = BlockMark(int(max_id), catalog_generation(conn))
    mark = read_mark(conn)
    if mark is not None and mark.generation == current.generation and mark.max_id <= current.max_id:
        newer = _rows_after(conn, mark.max_id) if mark.max_id < current.max_id else {}
        due = bool(newer) and _fetched(newer) >= refresh_rows
        base = read_blocks(conn, [*names, *newer] if due else names)
        if base is not None:
            merged = _merge(base, newer)
            blocks = (
                StateBlocks(current, mark, {a: merged[a] for a in newer}, False) if due else None
            )
            return _state(conn, names, merged), blocks
    rows = _rows_after(conn, 0)
    due = current.max_id > 0 and _fetched(rows) >= refresh_rows
    blocks = StateBlocks(current, mark, rows, True) if due else None
    return _state(conn, names, rows), blocks
