"""Catalog locations: a SQLite file, or a ``postgresql://`` URL (shown without its password)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["describe_location", "is_postgres_url"]


def is_postgres_url(location: str | Path) -> bool:
    """Whether ``location`` names a PostgreSQL catalog rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def describe_location(location: str | Path) -> str:
    """A catalog location for messages: a file's path, or ``user@host:port/database``
    (a URL's password is never shown)."""
    if not is_postgres_url(location):
        return str(location)
    parts = urlsplit(str(location))
    user = f"{parts.username}@" if parts.username else ""
    database = parts.path.lstrip("/") or (parts.username or "")
    return f"{user}{parts.hostname or 'localhost'}:{parts.port or 5432}/{database}"
