"""Arrow at the edge: converting returned values in, and typed loading out.

Data crosses the :class:`~partita.io.protocol.Store` protocol as Arrow. An
asset's returned value is turned into a ``pyarrow.RecordBatchReader`` by
:func:`to_arrow_reader` (zero-copy where Arrow allows, lazily for readers,
generators and DuckDB relations), and stored data is handed to a consuming
function as the type its parameter annotation asks for by :func:`load_as`.
pandas and duckdb are imported only when a value of theirs is involved.
"""

from __future__ import annotations

import inspect
import itertools
import sys
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from partita.datatypes import data_kind
from partita.errors import StorageError
from partita.io.paths import PartitionPath

__all__ = [
    "BATCH_ROWS",
    "THREADED_ROWS",
    "load_as",
    "resolve_type",
    "to_arrow_reader",
    "with_partition_columns",
]

BATCH_ROWS = 1 << 17
"""Rows per batch when a store pulls batches from a DuckDB relation."""

THREADED_ROWS = 500_000
"""From this many rows, conversions between pandas and Arrow use threads.

pyarrow's own rule threads a DataFrame over ``100 * cpu_count`` values and
starts a new thread pool for each conversion, which costs a small frame
several times its conversion (a 1,000-row frame: about 1.1 ms instead of
0.25 ms); ``to_pandas`` of a small table is also faster in one thread.
"""


def _is_dataframe(value: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _is_relation(value: object) -> bool:
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(value, duckdb.DuckDBPyRelation)


def _from_pandas(frame: Any) -> pa.Table:
    """``pa.Table.from_pandas``, threaded only for a large frame."""
    threads = None if len(frame) >= THREADED_ROWS else 1
    return pa.Table.from_pandas(frame, nthreads=threads)


def _from_batches(items: Iterator[object]) -> pa.RecordBatchReader:
    """A lazy reader over an iterator of RecordBatches (or Tables); peeks one item."""

    def as_batches(item: object) -> list[pa.RecordBatch]:
        if isinstance(item, pa.RecordBatch):
            return [item]
        if isinstance(item, pa.Table):
            return list(item.to_batches())
        raise StorageError(
            f"an asset's batch iterator yielded a {type(item).__name__}, "
            "expected pyarrow.RecordBatch or pyarrow.Table"
        )

    try:
        first = next(items)
    except StopIteration:
        raise StorageError(
            "the asset yielded no batches, so its schema is unknown",
            hint="yield at least one (possibly empty) pyarrow.RecordBatch",
        ) from None
    schema = first.schema if isinstance(first, pa.RecordBatch | pa.Table) else None
    head = as_batches(first)
    if schema is None:
        raise AssertionError("unreachable: as_batches validated the item")
    rest = itertools.chain.from_iterable(as_batches(item) for item in items)
    return pa.RecordBatchReader.from_batches(schema, itertools.chain(head, rest))


def to_arrow_reader(value: object) -> pa.RecordBatchReader | None:
    """Return ``value`` as a RecordBatchReader; ``None`` stays ``None``.

    Accepts a pandas DataFrame (a named or non-default index becomes a column,
    as ``pyarrow.Table.from_pandas`` does), a ``pyarrow.Table`` or
    ``RecordBatch``, a ``RecordBatchReader``, a ``pyarrow.dataset.Dataset``, an
    iterator or generator of RecordBatches (consumed lazily), or a DuckDB
    relation (streamed in batches).

    Raises:
        StorageError: the value is of another type.
    """
    if value is None:
        return None
    if isinstance(value, pa.RecordBatchReader):
        return value
    if isinstance(value, pa.Table):
        return value.to_reader()
    if isinstance(value, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(value.schema, [value])
    if isinstance(value, ds.Dataset):
        return value.scanner().to_reader()
    if _is_dataframe(value):
        return _from_pandas(value).to_reader()
    if _is_relation(value):
        reader: pa.RecordBatchReader = value.to_arrow_reader(BATCH_ROWS)  # type: ignore[attr-defined]
        return reader
    if isinstance(value, Iterator) or inspect.isgenerator(value):
        return _from_batches(iter(value))
    raise StorageError(
        f"cannot store a value of type {type(value).__name__}",
        hint="return a pandas DataFrame, a pyarrow Table or RecordBatchReader, "
        "a generator of RecordBatches, a DuckDB relation, or None",
    )


def resolve_type(annotation: Any) -> str:
    """``"pandas"``, ``"table"``, ``"reader"`` or ``"relation"`` for an annotation.

    No annotation (``None``, ``inspect.Parameter.empty``, ``Any``) means pandas.
    ``X | None`` and ``Optional[X]`` mean ``X``; string annotations such as
    ``"pd.DataFrame"`` are understood.

    Raises:
        StorageError: the annotation names another type.
    """
    kind = data_kind(annotation)
    if kind is not None:
        return kind
    raise StorageError(
        f"cannot load data as {annotation!r}",
        hint="annotate the input as pd.DataFrame, pa.Table, pa.RecordBatchReader "
        "or duckdb.DuckDBPyRelation",
    )


def load_as(data: object, annotation: Any = None) -> Any:
    """Convert stored data to the type ``annotation`` asks for (pandas by default).

    ``data`` is a ``pa.Table``, ``RecordBatchReader``, ``pyarrow.dataset.Dataset``
    or DuckDB relation. A relation is lazy (DuckDB scans the data when queried,
    out of core); the other types are materialized in memory.
    """
    kind = resolve_type(annotation)
    if kind == "relation":
        if _is_relation(data):
            return data
        import duckdb  # noqa: PLC0415 - only needed for relation inputs

        connection = duckdb.connect()
        if isinstance(data, pa.RecordBatchReader):
            data = data.read_all()
        return connection.from_arrow(data)
    if kind == "reader":
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError("no data to load")
        return reader
    if isinstance(data, pa.Table):
        table = data
    elif isinstance(data, ds.Dataset):
        table = data.to_table()
    elif isinstance(data, pa.RecordBatchReader):
        table = data.read_all()
    elif _is_relation(data):
        table = data.to_arrow_table()  # type: ignore[attr-defined]
    elif _is_dataframe(data):
        return data if kind == "pandas" else _from_pandas(data)
    else:
        raise StorageError(f"cannot load a value of type {type(data).__name__}")
    if kind == "pandas":
        return table.to_pandas(use_threads=table.num_rows >= THREADED_ROWS)
    return table


def with_partition_columns(table: pa.Table, partition: PartitionPath) -> pa.Table:
    """Append each dimension as a string column, unless the data has one of that name
    (what a store's read of one partition adds; the output cache shapes kept tables alike)."""
    for dim, value in partition:
        if dim not in table.schema.names:
            column = pa.repeat(pa.scalar(value, pa.string()), table.num_rows)
            table = table.append_column(pa.field(dim, pa.string()), column)
    return table
