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
from partita.catalog import CatalogInit
from partita.catalog import init_catalog as _init_catalog

__all__ = ["CatalogInit", "catalog_init_json", "init_catalog"]


def init_catalog(project: Project) -> CatalogInit:
    """Make sure the project has a usable catalog, keeping a healthy one.

    A missing catalog is created; a healthy one (it passes SQLite's ``PRAGMA
    quick_check``) is kept with its history; anything else is moved aside to
    ``catalog.db.broken-<time>`` (an empty file is removed) and a new empty
    catalog takes its place.
    """
    return _init_catalog(project.catalog_path)


def catalog_init_json(result: CatalogInit) -> dict[str, Any]:
    """``partita catalog init --json``: stable field names."""
    return {
        "catalog": str(result.path),
        "created": result.created,
        "refused": result.refused,
        "moved_aside": None if result.moved_aside is None else str(result.moved_aside),
    }
