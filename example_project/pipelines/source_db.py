"""A read-only client of an upstream database named by a URL: the retail pipeline's source.

``sqlite:///data/retail_source.sqlite`` (relative to the example project's folder)
or ``sqlite:////absolute/path.sqlite`` opens a SQLite file with the standard
library; ``postgresql://user:password@host:port/database`` opens PostgreSQL with
psycopg (``pip install 'partita[postgres]'``). Queries are written once, with
``:name`` parameters, and bound as values by the driver, never pasted into the
SQL text.

The object is a resource (docs/resources.md): cheap to build when the module is
imported, it connects only inside :meth:`SourceDatabase.query`, one short-lived
connection per call, so it is safe in worker processes and observe threads alike.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from partita import DefinitionError

from .common import EXAMPLE

_PARAM = re.compile(r":([A-Za-z_]\w*)")


@dataclass(frozen=True, repr=False)
class SourceDatabase:
    """The database at ``url`` (``sqlite:///...`` or ``postgresql://...``)."""

    url: str

    def __post_init__(self) -> None:
        if self.dialect not in ("sqlite", "postgresql"):
            raise DefinitionError(
                f"RETAIL_SOURCE_URL: unsupported source database {self!r}",
                hint="use sqlite:///path/to/file.sqlite or "
                "postgresql://user:password@host:port/database",
            )

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (from the URL's scheme)."""
        scheme = self.url.split(":", 1)[0]
        return "postgresql" if scheme in ("postgresql", "postgres") else scheme

    @property
    def path(self) -> Path:
        """The SQLite file (relative paths are relative to the example project)."""
        path = Path(self.url.removeprefix("sqlite:///"))
        return path if path.is_absolute() else EXAMPLE / path

    def __repr__(self) -> str:
        """The URL without its password, so a log or an error never shows it."""
        parts = urlsplit(self.url)
        if not parts.password:
            return f"SourceDatabase({self.url!r})"
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"SourceDatabase('{parts.scheme}://{parts.username}:***@{host}{parts.path}')"

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run one SELECT with ``:name`` parameters and return its rows."""
        values = params or {}
        if self.dialect == "sqlite":
            if not self.path.exists():
                raise FileNotFoundError(
                    f"{self.path} does not exist: run `python services/retail_source.py` first"
                )
            with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
                cursor = conn.execute(sql, values)
                return _frame(cursor.description, cursor.fetchall())
        import psycopg  # noqa: PLC0415 (an extra: needed only for a PostgreSQL source)

        with psycopg.connect(self.url) as conn, conn.cursor() as cursor:
            cursor.execute(_PARAM.sub(r"%(\1)s", sql).encode(), values)
            return _frame(cursor.description, cursor.fetchall())


def _frame(description: Any, rows: list[Any]) -> pd.DataFrame:
    columns = [column[0] for column in description]
    return pd.DataFrame.from_records(rows, columns=columns)
