"""Opening a project's catalog: the one place that chooses an implementation.

Every caller outside :mod:`partita.catalog` gets its catalog from here, typed
as the :class:`~partita.records.Catalog` protocol; adding a backend (for
example PostgreSQL for a ``postgresql://`` location) changes these functions
and nothing that calls them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from partita.catalog.locations import describe_location, is_postgres_url
from partita.catalog.sqlite import SQLiteCatalog
from partita.errors import CatalogError
from partita.records import Catalog

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


def open_catalog(location: str | Path, *, init: bool = False) -> Catalog:
    """The catalog at ``location`` (a SQLite file, or a ``postgresql://`` URL), created
    with its folders (or its tables) if missing.

    A ``postgresql://user:password@host:port/database`` URL opens the shared
    catalog in that database (:class:`~partita.catalog.postgres.PostgresCatalog`,
    the ``postgres`` extra); a server that cannot be reached, or refuses the
    credentials, raises one :class:`~partita.errors.CatalogError` naming
    ``host:port/database`` (never the password).

    A file that is there but is not a usable catalog (empty, not SQLite,
    truncated, another program's database, or failing the integrity check
    run after an unclean shutdown) is refused with
    :class:`~partita.errors.CatalogError`, never replaced silently: a new
    catalog has no history, so everything would be rebuilt. ``init=True``
    moves such a file aside and starts a new empty catalog (see
    :func:`init_catalog`). Close the catalog, or use it as a context manager.
    """
    if is_postgres_url(location):
        return _postgres(str(location))
    return SQLiteCatalog(location, init=init)


@dataclass(frozen=True, slots=True)
class CatalogCopy:
    """What :func:`copy_catalog` copied: rows per table, from where to where (the
    target without its password); ``replaced``: the target's history was emptied first."""

    source: str
    target: str
    rows: dict[str, int]
    replaced: bool


def copy_catalog(source: str | Path, target: str, *, replace: bool = False) -> CatalogCopy:
    """Copy the SQLite catalog file ``source`` into the PostgreSQL database ``target``
    with all its history, in one transaction (see :mod:`partita.catalog.postgres.copying`).

    Raises :class:`~partita.errors.CatalogError` when ``target`` is not a
    ``postgresql://`` URL, cannot be reached, or already holds catalog history
    (unless ``replace``).
    """
    if not is_postgres_url(target):
        raise CatalogError(
            "a catalog is copied into a PostgreSQL database: --to takes a postgresql:// URL",
            hint="pass --to postgresql://user@host:5432/database",
        )
    _require_psycopg()
    from partita.catalog.postgres.copying import copy_catalog as _copy  # noqa: PLC0415 (extra)

    copied_from, copied_to, rows = _copy(source, target, replace=replace)
    return CatalogCopy(copied_from, copied_to, rows, replace)


def _require_psycopg() -> None:
    """Raise one clear error when the ``postgres`` extra is not installed."""
    if (
        importlib.util.find_spec("psycopg") is None
        or importlib.util.find_spec("psycopg_pool") is None
    ):
        raise CatalogError(
            "a PostgreSQL catalog needs psycopg and psycopg-pool, which are not installed",
            hint="pip install 'partita[postgres]'",
        )


def _postgres(url: str) -> Catalog:
    _require_psycopg()
    from partita.catalog.postgres import PostgresCatalog  # noqa: PLC0415 (psycopg: an extra)

    return PostgresCatalog(url)


@dataclass(frozen=True, slots=True)
class CatalogInit:
    """What :func:`init_catalog` did.

    ``path``: the file (or, for PostgreSQL, ``user@host:port/database``);
    ``created``: a new empty catalog was made; ``refused``: why the file that
    was there could not be used (``None`` when there was none, or it was
    healthy); ``moved_aside``: where that file went (``None`` when it was
    empty and removed, or nothing moved).
    """

    path: Path | str
    created: bool
    refused: str | None
    moved_aside: Path | None


def init_catalog(location: str | Path) -> CatalogInit:
    """Make sure a usable catalog is at ``location``: keep a healthy one, else start anew.

    A missing file is created; a healthy catalog (it passes ``PRAGMA
    quick_check``) is kept with its history; any other file is moved aside
    (an empty one removed) and a new empty catalog takes its place. A
    PostgreSQL database gets the catalog's tables when it has none (or is
    migrated); nothing in it is ever moved or dropped.
    """
    if is_postgres_url(location):
        with _postgres(str(location)) as opened:
            created = bool(getattr(opened, "created", False))
        return CatalogInit(
            path=describe_location(location), created=created, refused=None, moved_aside=None
        )
    with SQLiteCatalog(location, init=True) as catalog:
        return CatalogInit(
            path=catalog.path,
            created=catalog.created,
            refused=catalog.refused,
            moved_aside=catalog.moved_aside,
        )


def open_existing_catalog(location: str | Path) -> Catalog | None:
    """The catalog at ``location`` if there is one, else ``None``; never creates it.

    For read-only questions: a project that never ran has no catalog to read.
    """
    if is_postgres_url(location):
        return _postgres(str(location))
    if not Path(location).is_file():
        return None
    return SQLiteCatalog(location)
