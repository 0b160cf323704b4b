"""Whole-table scans as Arrow columns, one ``group_concat`` per column and asset.

Fetching a million rows through ``sqlite3`` builds a Python object per value,
which costs seconds. Here SQLite concatenates each column of each asset's
rows into one value (``GROUP BY asset``): integers as comma-separated text,
strings as their bytes back to back with their byte lengths beside them.
Arrow splits and parses those in C, so Python sees a few values per asset.
Within one group every aggregate sees the rows in the same order (the scan's),
so the columns line up. Timestamps (epoch seconds, ``REAL``) are rounded to
whole microseconds in SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from partita.catalog.common.db import MICROS

__all__ = ["Column", "MICROS", "scan_by_asset"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column to scan: its SQL expression and its Arrow type (integer, timestamp or string)."""

    sql: str
    type: pa.DataType


def _aggregates(column: Column) -> str:
    if pa.types.is_string(column.type):
        return (
            f"group_concat(length(CAST({column.sql} AS BLOB))), "
            f"CAST(group_concat({column.sql}, '') AS BLOB)"
        )
    return f"group_concat({column.sql})"


def _integers(texts: list[str]) -> np.ndarray:
    parts = [text for text in texts if text]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    values = pc.split_pattern(pa.array(parts, type=pa.large_string()), ",").flatten()
    integers: np.ndarray = values.cast(pa.int64()).to_numpy()
    return integers


def _strings(lengths: list[str], data: list[bytes]) -> pa.Array:
    sizes = _integers(lengths)
    offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    joined = b"".join(data)
    if offsets[-1] != len(joined):
        raise ValueError("the concatenated strings do not match their lengths")
    array = pa.LargeStringArray.from_buffers(
        len(sizes), pa.py_buffer(offsets), pa.py_buffer(joined)
    )
    array.validate(full=True)
    return array.cast(pa.string())


def scan_by_asset(
    conn: sqlite3.Connection, source: str, asset: str, columns: Sequence[Column]
) -> tuple[list[str], list[int], list[pa.Array]]:
    """Scan ``source`` (a table or join) grouped by the expression ``asset``.

    Returns the assets in order, each one's row count, and the columns (each
    asset's rows together, in the scan's order within an asset).
    """
    sql = (
        f"SELECT {asset}, COUNT(*), {', '.join(_aggregates(c) for c in columns)} "
        f"FROM {source} GROUP BY {asset} ORDER BY {asset}"
    )
    rows = conn.execute(sql).fetchall()
    names = [str(row[0]) for row in rows]
    counts = [int(row[1]) for row in rows]
    arrays: list[pa.Array] = []
    position = 2
    for column in columns:
        if pa.types.is_string(column.type):
            lengths = [row[position] or "" for row in rows]
            data = [bytes(row[position + 1] or b"") for row in rows]
            arrays.append(_strings(lengths, data))
            position += 2
        else:
            values = _integers([row[position] or "" for row in rows])
            arrays.append(pa.array(values, type=column.type))
            position += 1
        if len(arrays[-1]) != sum(counts):
            raise ValueError("a scanned column does not have one value per row")
    return names, counts, arrays
