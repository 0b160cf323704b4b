"""The data a check reads: a staged Parquet file or an Arrow table, seen from DuckDB."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from partita.checks.sqltext import quote
from partita.errors import StorageError

if TYPE_CHECKING:  # duckdb (~0.1 s) is imported by the code that runs a check
    import duckdb

__all__ = ["NO_COLUMNS", "CheckData", "Relation", "attach"]

CheckData = str | os.PathLike[str] | pa.Table | pa.RecordBatchReader
"""A Parquet file path, an Arrow table, or a RecordBatchReader (read into memory)."""

NO_COLUMNS = "__partita_no_columns"
"""The one column DuckDB sees in data that has none (DuckDB cannot read zero columns).

It is not in :attr:`Relation.schema`, so no check can name it; sample rows drop it.
"""


@dataclass(frozen=True, slots=True)
class Relation:
    """How SQL refers to one input: a quoted view or table name and the Arrow schema."""

    source: str
    schema: pa.Schema


def _rows_without_columns(connection: duckdb.DuckDBPyConnection, name: str, rows: int) -> None:
    """A view of ``rows`` rows for data with no columns (one hidden all-NULL column)."""
    connection.execute(
        f"CREATE TEMP VIEW {quote(name)} AS "
        f"SELECT NULL AS {quote(NO_COLUMNS)} FROM range({int(rows)})"
    )


def attach(connection: duckdb.DuckDBPyConnection, data: object, name: str) -> Relation:
    """Make ``data`` readable by ``connection``.

    A path is read by DuckDB's Parquet reader where it lies (out of core, only
    the columns a query uses); a table is registered under ``name``; a reader
    is read into a table first (checks scan the data more than once). Either
    way SQL reads it as the view or table ``name``. Data with no columns (a
    function returned ``pd.DataFrame([])``) is its rows and no columns: the
    row count holds and every column a check names is missing.

    Raises:
        StorageError: the file is missing or is not Parquet, or ``data`` is of another type.
    """
    if isinstance(data, pa.RecordBatchReader):
        data = data.read_all()
    if isinstance(data, pa.Table):
        if data.num_columns == 0:
            _rows_without_columns(connection, name, data.num_rows)
        else:
            connection.register(name, data)
        return Relation(quote(name), data.schema)
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        try:
            schema = pq.read_schema(path)
            rows = pq.read_metadata(path).num_rows if len(schema) == 0 else 0
        except (OSError, pa.ArrowInvalid) as exc:
            raise StorageError(f"cannot read the Parquet file {str(path)!r}: {exc}") from exc
        if len(schema) == 0:
            _rows_without_columns(connection, name, rows)
            return Relation(quote(name), schema)
        literal = "'" + str(path).replace("'", "''") + "'"  # a SQL string literal
        connection.execute(
            f"CREATE TEMP VIEW {quote(name)} AS SELECT * FROM read_parquet({literal})"
        )
        return Relation(quote(name), schema)
    raise StorageError(
        f"checks read a Parquet path, a pyarrow Table or RecordBatchReader, "
        f"not a {type(data).__name__}"
    )
