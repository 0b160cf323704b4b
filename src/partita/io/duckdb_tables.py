"""The tables a :class:`~partita.io.DuckDBStore` keeps in its database, and reading them.

Each asset's table is named from its validated key segments, quoted
(:func:`quote_identifier`); the store's own records live in schema
:data:`META_SCHEMA`: ``assets`` (each asset's partition dimensions) and
``partitions`` (each published partition, as :func:`partition_key` text). The
functions here look these up on an open connection; values are always bound
parameters, never SQL text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from partita.errors import StorageError
from partita.io.paths import PartitionPath
from partita.keys import AssetKey

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "META_DDL",
    "META_SCHEMA",
    "current_catalog",
    "partition_filter",
    "partition_key",
    "quote_identifier",
    "stored_partition_keys",
    "table_columns",
]

META_SCHEMA = "_partita"
"""The schema of the store's own records."""

META_DDL = (
    f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA};"
    f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.assets"
    " (asset VARCHAR PRIMARY KEY, dimensions VARCHAR NOT NULL);"
    f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.partitions"
    " (asset VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, PRIMARY KEY (asset, partition_key));"
)
"""Creates the store's records if missing (run in each writing transaction)."""


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (quotes doubled; NUL refused)."""
    if "\x00" in name:
        raise StorageError(f"invalid column name {name!r}: it contains NUL")
    return '"' + name.replace('"', '""') + '"'


def partition_key(partition: PartitionPath) -> str:
    """A partition as its row of ``partitions`` names it (compact JSON of its pairs)."""
    return json.dumps([list(pair) for pair in partition], separators=(",", ":"))


def current_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    """The name of the database's catalog on this connection."""
    rows = connection.execute("SELECT current_database()").fetchall()
    return str(rows[0][0])


def table_columns(connection: duckdb.DuckDBPyConnection, asset: AssetKey) -> dict[str, str]:
    """The asset's table's columns and types (empty when there is no table).

    ``duckdb_tables()`` then ``pragma_table_info``: a quarter of the time of
    ``information_schema.columns`` (which builds every table's columns), and
    the same type names. The name is a bound parameter, never SQL text.
    """
    schema = "/".join(asset.prefix) or "main"
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?",
        [schema, asset.name],
    ).fetchall()
    if not exists or not exists[0][0]:
        return {}
    rows = connection.execute(
        "SELECT name, type FROM pragma_table_info(?)",
        [f"{quote_identifier(schema)}.{quote_identifier(asset.name)}"],
    ).fetchall()
    return {str(name): str(data_type) for name, data_type in rows}


def stored_partition_keys(connection: duckdb.DuckDBPyConnection, asset: AssetKey) -> list[str]:
    """The :func:`partition_key` of every published partition of ``asset`` (none when
    the store has written nothing to this database yet)."""
    found = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ?",
        [META_SCHEMA],
    ).fetchall()
    if not found or not found[0][0]:
        return []
    rows = connection.execute(
        f"SELECT partition_key FROM {META_SCHEMA}.partitions WHERE asset = ?", [str(asset)]
    ).fetchall()
    return [str(r[0]) for r in rows]


def partition_filter(columns: dict[str, str], part: PartitionPath) -> tuple[str, list[str]]:
    """`` WHERE "d" = ? AND ...`` (values bound), comparing non-text columns as text."""
    if not part:
        return "", []
    terms = []
    for dim, _ in part:
        column = quote_identifier(dim)
        text = columns.get(dim) == "VARCHAR"
        terms.append(f"{column} = ?" if text else f"CAST({column} AS VARCHAR) = ?")
    return " WHERE " + " AND ".join(terms), [value for _, value in part]
