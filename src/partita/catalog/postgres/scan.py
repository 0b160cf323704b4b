"""Whole-table scans as Arrow columns, a few binary values per asset.

Fetching a million rows through a driver (or a ``COPY``, one message per row)
costs a Python step per row, which is seconds. Here PostgreSQL packs each
asset's rows into three ``bytea`` values (``GROUP BY asset``): the integers
as 8-byte big-endian values (``int8send``), the strings' 4-byte lengths, and
the strings' bytes back to back. NumPy and Arrow unpack
them without a Python step per value. Within one group every aggregate sees
the rows in the same order (one pass of the same input), so the columns line
up; the values of one row are packed together, three aggregates in all. The
SQLite catalog does the same with ``group_concat`` (:mod:`partita.catalog.sqlite.scan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from partita.catalog.postgres.connection import PgConnection

__all__ = ["Column", "scan_by_asset"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column to scan: its SQL expression and its Arrow type (an integer or a string)."""

    sql: str
    type: pa.DataType


def _packed(columns: Sequence[Column]) -> tuple[list[Column], list[Column], str]:
    """The integer and string columns, and the three aggregates packing them: each row's
    integers, its strings' lengths and its strings, back to back."""
    integers = [c for c in columns if not pa.types.is_string(c.type)]
    strings = [c for c in columns if pa.types.is_string(c.type)]
    parts = [
        " || ".join(f"int8send(({c.sql})::bigint)" for c in integers) or "''::bytea",
        " || ".join(f"int4send(octet_length({c.sql}))" for c in strings) or "''::bytea",
        " || ".join(f"textsend({c.sql})" for c in strings) or "''::bytea",
    ]
    return integers, strings, ", ".join(f"string_agg({p}, ''::bytea)" for p in parts)


def scan_by_asset(
    conn: PgConnection,
    source: str,
    asset: str,
    columns: Sequence[Column],
    assets: Sequence[str],
) -> tuple[list[str], list[int], list[pa.Array]]:
    """Scan ``source`` (a table or join) for the rows of ``assets``, grouped by the
    expression ``asset``.

    Returns the assets found, in order, each one's row count, and the columns
    (each asset's rows together, in the scan's order within an asset).
    """
    integers, strings, aggregates = _packed(columns)
    # the groups' packed values are hashed in memory, not sorted on disk
    conn.raw.execute(b"SET LOCAL work_mem = '512MB'")
    sql = (
        f"SELECT {asset}, COUNT(*), {aggregates} "
        f"FROM {source} WHERE {asset} = ANY(%s::text[]) GROUP BY {asset} ORDER BY {asset}"
    )
    rows = conn.raw.cursor(binary=True).execute(sql.encode(), (list(assets),)).fetchall()
    names = [str(row[0]) for row in rows]
    counts = [int(row[1]) for row in rows]
    total = sum(counts)
    packed = [b"".join(bytes(row[i] or b"") for row in rows) for i in (2, 3, 4)]
    found: dict[str, pa.Array] = {}
    if integers:
        values = np.frombuffer(packed[0], dtype=">i8").astype(np.int64)
        matrix = values.reshape(total, len(integers))
        for i, column in enumerate(integers):
            found[column.sql] = pa.array(np.ascontiguousarray(matrix[:, i]), type=column.type)
    if strings:
        sizes = np.frombuffer(packed[1], dtype=">i4").astype(np.int64)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        if offsets[-1] != len(packed[2]):
            raise ValueError("the concatenated strings do not match their lengths")
        every = pa.LargeStringArray.from_buffers(
            len(sizes), pa.py_buffer(offsets), pa.py_buffer(packed[2])
        )
        every.validate(full=True)
        for i, column in enumerate(strings):
            taken = every.take(pa.array(np.arange(i, len(sizes), len(strings))))
            found[column.sql] = taken.cast(pa.string())
    arrays = [found[column.sql] for column in columns]
    if any(len(array) != total for array in arrays):
        raise ValueError("a scanned column does not have one value per row")
    return names, counts, arrays
