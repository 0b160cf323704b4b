"""SQLite and file-system failures of the catalog, said as the user's problem they are.

A full disk and a damaged file are not bugs of Partita: the message names
the catalog file and what to do, instead of SQLite's bare error text.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from partita.errors import CatalogError

__all__ = [
    "RESTORE_HINT",
    "UnusableCatalogError",
    "catalog_error",
    "disk_full_error",
    "is_damage",
    "is_disk_full",
]


def _primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of ``exc`` (extended codes keep it in the low byte)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


RESTORE_HINT = (
    "restore the catalog file from a backup, or run `partita catalog init` "
    "(partita.api.init_catalog in Python) to move it aside and start a new empty catalog "
    "(it has no history: everything is rebuilt)"
)
"""What to do about a catalog file that cannot be used."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's ``SQLITE_FULL`` or an ``ENOSPC`` / ``EDQUOT`` OS error."""
    if isinstance(exc, sqlite3.Error):
        return _primary_code(exc) == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite finding the file corrupt or not a database."""
    return _primary_code(exc) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def disk_full_error(path: Path, exc: BaseException) -> CatalogError:
    """The error for a catalog write that found no space left."""
    return CatalogError(
        f"the disk holding the catalog ({path}) is full: {exc}",
        hint="free some space on that disk (or move the project's home to a larger one) "
        "and run the command again; nothing of the failed write was recorded",
    )


def catalog_error(
    path: Path, doing: str, exc: BaseException, *, hint: str | None = None
) -> CatalogError:
    """A :class:`~partita.errors.CatalogError` for ``exc`` raised while ``doing`` on ``path``.

    A full disk and a damaged file get their own message and hint; anything
    else says what failed, with ``hint``.
    """
    if is_disk_full(exc):
        return disk_full_error(path, exc)
    if is_damage(exc):
        return CatalogError(f"the catalog {path} is damaged ({exc})", hint=RESTORE_HINT)
    return CatalogError(f"cannot {doing} the catalog {path}: {exc}", hint=hint)


class UnusableCatalogError(CatalogError):
    """The file at the catalog's path is not a usable Partita catalog (``reason`` says why).

    ``init=True`` moves such a file aside and starts a new catalog.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the catalog {path} cannot be used: {reason}", hint=RESTORE_HINT)
        self.path = path
        self.reason = reason
