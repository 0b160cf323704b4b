"""The project's catalog file: starting a new one when the one there cannot be used.

Behind ``partita catalog init``. Partita creates the catalog by itself only
where there is no file; a file that is there but is not a usable catalog
(empty, not SQLite, truncated, another program's database, damaged) is
refused by every command, because treating it as a new empty catalog would
silently throw away the history and rebuild everything. Starting over is
this explicit step.
"""

from __future__ import annotations

from typing import Any

from partita.api.project import Project
from partita.catalog import CatalogCopy, CatalogInit, describe_location
from partita.catalog import copy_catalog as _copy_catalog
from partita.catalog import init_catalog as _init_catalog
from partita.errors import CatalogError

__all__ = [
    "CatalogCopy",
    "CatalogInit",
    "catalog_copy_json",
    "catalog_init_json",
    "copy_catalog",
    "init_catalog",
]


def init_catalog(project: Project) -> CatalogInit:
    """Make sure the project has a usable catalog, keeping a healthy one.

    A missing catalog is created; a healthy one (it passes SQLite's ``PRAGMA
    quick_check``) is kept with its history; anything else is moved aside to
    ``catalog.db.broken-<time>`` (an empty file is removed) and a new empty
    catalog takes its place.
    """
    return _init_catalog(project.catalog_location)


def catalog_init_json(result: CatalogInit) -> dict[str, Any]:
    """``partita catalog init --json``: stable field names."""
    return {
        "catalog": str(result.path),
        "created": result.created,
        "refused": result.refused,
        "moved_aside": None if result.moved_aside is None else str(result.moved_aside),
    }


def same_database(one: str, other: str) -> bool:
    """Whether two catalog URLs name the same database (user, host, port, name)."""
    return describe_location(one) == describe_location(other)


def copy_catalog(project: Project, target: str, *, replace: bool = False) -> CatalogCopy:
    """Copy the project's SQLite catalog file into the PostgreSQL database ``target``
    with all its history (``partita catalog copy --to postgresql://...``).

    The project's catalog is its SQLite file (:attr:`Project.catalog_path`, or
    ``[tool.partita] catalog`` when that names a file). The target must hold no
    catalog history unless ``replace``.
    """
    location = project.catalog_location
    source = project.catalog_path if isinstance(location, str) else location
    if replace and isinstance(location, str) and same_database(location, target):
        raise CatalogError(
            f"the project's catalog is already {describe_location(target)}: --replace "
            f"would replace its history with that of {source}, the file it used before",
            hint="to copy that file over it anyway, run the copy with neither "
            "PARTITA_CATALOG_URL nor [tool.partita] catalog naming the database",
        )
    return _copy_catalog(source, target, replace=replace)


def catalog_copy_json(result: CatalogCopy) -> dict[str, Any]:
    """``partita catalog copy --json``: stable field names."""
    return {
        "source": result.source,
        "target": result.target,
        "rows": dict(result.rows),
        "replaced": result.replaced,
    }
