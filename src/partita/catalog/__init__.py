"""The lineage catalog: runs, materializations, their exact inputs, checks, logs.

:class:`SQLiteCatalog` is the embedded implementation (one file in WAL mode,
``.partita/catalog.db`` in a project); it implements the
:class:`~partita.records.CatalogReader` and
:class:`~partita.records.CatalogWriter` protocols. Lineage queries return a
frozen :class:`LineageGraph`.
"""

from __future__ import annotations

from partita.catalog.lineage import LineageEdge, LineageGraph, LineageNode
from partita.catalog.migrations import MIGRATIONS, SCHEMA_VERSION
from partita.catalog.sqlite import DEFAULT_CATALOG_PATH, SQLiteCatalog

__all__ = [
    "DEFAULT_CATALOG_PATH",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "SQLiteCatalog",
]
