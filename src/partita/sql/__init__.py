"""SQL assets: models written in SQL, parsed with sqlglot, run on DuckDB.

Declaring: :func:`sql_asset` in Python, or a folder of ``.sql`` files with a
``MODEL (...)`` header each (``Definitions(sql=["models/"])``). A model's
upstream assets are the tables it reads; its partitions read exactly what
their mappings select; ``$partition_start``, ``$partition_end`` and
``$partition_key`` are bound parameters. A model written in another dialect
is transpiled to DuckDB. The asset definition's ``sql_model``
(:class:`SqlModel`) holds the normalized query, its dialect and the column
lineage. See ``docs/sql.md``.
"""

from __future__ import annotations

from partita.sql.cache import SqlCache
from partita.sql.declare import sql_asset
from partita.sql.errors import SqlModelError
from partita.sql.files import LoadedModels, load_folders
from partita.sql.header import HEADER_KEYS
from partita.sql.model import (
    PARTITION_PARAMETERS,
    ColumnLineage,
    ColumnSource,
    SqlModel,
    TableRef,
)
from partita.sql.resolve import resolve_models
from partita.sql.run import SqlRunner

__all__ = [
    "HEADER_KEYS",
    "PARTITION_PARAMETERS",
    "ColumnLineage",
    "ColumnSource",
    "LoadedModels",
    "SqlCache",
    "SqlModel",
    "SqlModelError",
    "SqlRunner",
    "TableRef",
    "load_folders",
    "resolve_models",
    "sql_asset",
]
