"""The embedded catalog: one SQLite file in WAL mode (``.partita/catalog.db``).

The catalog's logic is :mod:`partita.catalog.common`, shared with PostgreSQL;
this package keeps what only SQLite has: the file (created atomically,
refused or moved aside when it is not a usable catalog, checked after an
unclean shutdown), the schema and its migrations (with the
``partita_partition_hash`` SQL functions they register), the per-process
connection and its ``BEGIN IMMEDIATE`` writes, dead runs found by pid on
this host, and the state blocks (the planner's state as Arrow columns inside
the file) that make loading a million partitions fast. Callers outside
:mod:`partita.catalog` never import it: they open a catalog with
:func:`partita.catalog.open_catalog` and use the protocols of
:mod:`partita.records`.
"""

from __future__ import annotations

from partita.catalog.common.dynamic import SqlDynamicPartitions as SQLiteDynamicPartitions
from partita.catalog.sqlite.catalog import DEFAULT_CATALOG_PATH, SQLiteCatalog
from partita.catalog.sqlite.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLiteCatalog",
    "SQLiteDynamicPartitions",
]
