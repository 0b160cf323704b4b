"""The data a check reads: a staged Parquet file or an Arrow table, seen from DuckDB."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from partita.checks.sqltext import quote
from partita.errors import StorageError

__all__ = ["CheckData", "Relation", "attach"]

CheckData = str | os.PathLike[str] | pa.Table | pa.RecordBatchReader
"""A Parquet file path, an Arrow table, or a RecordBatchReader (read into memory)."""


@dataclass(frozen=True, slots=True)
class Relation:
    """How SQL refers to one input: a quoted view or table name and the Arrow schema."""

    source: str
    schema: pa.Schema


def attach(connection: duckdb.DuckDBPyConnection, data: object, name: str) -> Relation:
    """Make ``data`` readable by ``connection``.

    A path is read by DuckDB's Parquet reader where it lies (out of core, only
    the columns a query uses); a table is registered under ``name``; a reader
    is read into a table first (checks scan the data more than once). Either
    way SQL reads it as the view or table ``name``.

    Raises:
        StorageError: the file is missing or is not Parquet, or ``data`` is of another type.
    """
    if isinstance(data, pa.RecordBatchReader):
        data = data.read_all()
    if isinstance(data, pa.Table):
        connection.register(name, data)
        return Relation(quote(name), data.schema)
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise StorageError(f"cannot read the Parquet file {str(path)!r}: {exc}") from exc
        literal = "'" + str(path).replace("'", "''") + "'"  # a SQL string literal
        connection.execute(
            f"CREATE TEMP VIEW {quote(name)} AS SELECT * FROM read_parquet({literal})"
        )
        return Relation(quote(name), schema)
    raise StorageError(
        f"checks read a Parquet path, a pyarrow Table or RecordBatchReader, "
        f"not a {type(data).__name__}"
    )
