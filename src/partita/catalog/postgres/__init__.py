"""The shared catalog: a PostgreSQL database (``catalog = "postgresql://..."``).

Everything PostgreSQL-specific lives here: the connection pool and its
transactions (:mod:`.connection`), the translation of the shared SQL
(:mod:`.dialect`), the schema (:mod:`.migrations`), the bulk state load by
``COPY`` (:mod:`.state`), and copying a SQLite catalog in (:mod:`.copying`).
The logic itself is :mod:`partita.catalog.common`, the same as SQLite's.
Needs the ``postgres`` extra (``pip install 'partita[postgres]'``).
"""

from __future__ import annotations

from partita.catalog.postgres.catalog import PostgresCatalog
from partita.catalog.postgres.migrations import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "PostgresCatalog"]
