"""The lineage catalog: runs, materializations, their exact inputs, checks, logs.

Callers open a catalog with :func:`open_catalog` (or, for read-only
questions, :func:`open_existing_catalog`) and use only the protocols of
:mod:`partita.records` (:class:`~partita.records.CatalogReader`,
:class:`~partita.records.CatalogWriter`, :class:`~partita.records.Catalog`).
The implementations live in subpackages: :mod:`partita.catalog.sqlite` is the
embedded one, one file in WAL mode in the project folder;
:mod:`partita.catalog.postgres` is the shared one, a PostgreSQL database
(``catalog = "postgresql://..."``). Both run the same logic,
:mod:`partita.catalog.common`.
"""

from __future__ import annotations

from partita.catalog.opening import (
    CatalogCopy,
    CatalogInit,
    copy_catalog,
    describe_location,
    init_catalog,
    is_postgres_url,
    open_catalog,
    open_existing_catalog,
)

__all__ = [
    "CatalogCopy",
    "CatalogInit",
    "copy_catalog",
    "describe_location",
    "init_catalog",
    "is_postgres_url",
    "open_catalog",
    "open_existing_catalog",
]
