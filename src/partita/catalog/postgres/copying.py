"""Copying a SQLite catalog into PostgreSQL with all its history (``partita catalog copy``).

Every table is streamed from one read snapshot of the SQLite file into the
database with ``COPY ... FROM STDIN``, in one PostgreSQL transaction under
the catalog's write lock: a copy that fails or is killed leaves the target as
it was. Ids are kept (lineage points at them), and the identity sequences
move past them. The target must hold no catalog history unless
``replace=True``, which empties it first in the same transaction. SQLite's
own state blocks are not copied (PostgreSQL loads the planner's state
without them).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from partita.catalog.locations import describe_location
from partita.catalog.postgres.connection import WRITE_LOCK, PostgresDatabase
from partita.catalog.postgres.migrations import IDENTITY_TABLES
from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import CatalogError

__all__ = ["COPIED_TABLES", "copy_catalog"]

COPIED_TABLES = (
    "runs",
    "materializations",
    "step_attempts",
    "inputs",
    "check_results",
    "observations",
    "dynamic_partitions",
    "latest_materialization",
    "input_edges",
    "catalog_meta",
    "partition_leases",
    "code_components",
    "wipes",
    "sql_models",
    "materialization_sql_models",
    "pool_slots",
    "freshness_alert_states",
    "automation_ticks",
    "automation_cursors",
    "sensor_files",
    "daemon_lock",
)
"""The catalog's tables, parents before the tables that refer to them."""

_HISTORY = ("runs", "materializations", "observations", "dynamic_partitions", "automation_ticks")


def _columns(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def _converter(kind: str) -> Any:
    if kind == "bigint":
        return lambda v: None if v is None else int(v)
    if kind == "double precision":
        return lambda v: None if v is None else float(v)
    return lambda v: None if v is None else str(v)


def _has_history(conn: psycopg.Connection[Any]) -> bool:
    return any(
        conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})".encode()).fetchone() == (True,)
        for table in _HISTORY
    )


def copy_catalog(
    source: str | Path, target_url: str, *, replace: bool = False
) -> tuple[str, str, dict[str, int]]:
    """Copy the SQLite catalog file ``source`` into the PostgreSQL database ``target_url``;
    returns the source, the target (without its password) and the rows copied per table.

    Raises:
        CatalogError: no catalog file at ``source``; the database cannot be
            reached; or it already holds catalog history and ``replace`` is false.
    """
    path = Path(source)
    if not path.is_file():
        raise CatalogError(
            f"no SQLite catalog at {path} to copy",
            hint="run the command in the project whose catalog you want to copy",
        )
    with SQLiteCatalog(path):  # refuses a damaged file; brings it to the current schema
        pass
    database = PostgresDatabase(target_url)
    where = describe_location(target_url)
    database.pool()  # connects and migrates, or one clear error
    database.close()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    copied: dict[str, int] = {}
    try:
        reader.execute("BEGIN")  # one snapshot of the file
        with database.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            if _has_history(conn) and not replace:
                raise CatalogError(
                    f"the catalog database {where} already holds runs or materializations",
                    hint="copy into an empty database, or pass --replace to empty it first "
                    "(its history is lost)",
                )
            conn.execute(("TRUNCATE " + ", ".join(COPIED_TABLES) + " RESTART IDENTITY").encode())
            for table in COPIED_TABLES:
                copied[table] = _copy_table(reader, conn, table)
            for table in IDENTITY_TABLES:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)".encode()
                )
    except psycopg.Error as exc:
        raise CatalogError(
            f"copying the catalog into {where} failed: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    finally:
        reader.close()
    return str(path), where, copied


def _copy_table(reader: sqlite3.Connection, conn: psycopg.Connection[Any], table: str) -> int:
    """Stream one table's rows from SQLite into PostgreSQL; returns how many."""
    columns = _columns(conn, table)
    names = [name for name, _ in columns]
    convert = [_converter(kind) for _, kind in columns]
    quoted = ", ".join(f'"{name}"' for name in names)
    count = 0
    cursor = reader.execute(f"SELECT {quoted} FROM {table}")
    with conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN".encode()) as copy:
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                copy.write_row([c(v) for c, v in zip(convert, row, strict=True)])
            count += len(rows)
    return count
