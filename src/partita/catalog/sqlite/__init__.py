"""The embedded catalog: one SQLite file in WAL mode (``.partita/catalog.db``).

Everything SQLite-specific lives in this package and nowhere else: the
schema and its migrations (with the ``partita_partition_hash`` SQL functions
they register), the queries (``json_each`` parameters, recursive CTEs), the
per-process connections, dead-run detection by pid on this host, and the
state blocks (the planner's state as Arrow columns inside the file) that make
loading a million partitions fast. Callers outside :mod:`partita.catalog`
never import it: they open a catalog with
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
