"""Opening a project's catalog: the one place that chooses an implementation.

Every caller outside :mod:`partita.catalog` gets its catalog from here, typed
as the :class:`~partita.records.Catalog` protocol; adding a backend (for
example PostgreSQL for a ``postgresql://`` location) changes these functions
and nothing that calls them.
"""

from __future__ import annotations

from pathlib import Path

from partita.catalog.sqlite import SQLiteCatalog
from partita.records import Catalog

__all__ = ["open_catalog", "open_existing_catalog"]


def open_catalog(location: str | Path) -> Catalog:
    """The catalog at ``location`` (a SQLite file), created with its folders if missing.

    Close it, or use it as a context manager.
    """
    return SQLiteCatalog(location)


def open_existing_catalog(location: str | Path) -> Catalog | None:
    """The catalog at ``location`` if there is one, else ``None``; never creates it.

    For read-only questions: a project that never ran has no catalog to read.
    """
    if not Path(location).is_file():
        return None
    return SQLiteCatalog(location)
