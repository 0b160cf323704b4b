"""Noticing that the catalog was not closed cleanly, and checking its integrity then.

**The signal: a leftover WAL file, seen by the only process that has the catalog
open.** In WAL mode SQLite keeps ``<catalog>-wal`` while the database is in use
and, when the last connection closes cleanly, checkpoints it into the catalog
and deletes it. So a non-empty ``-wal`` file found when no other process has
the catalog open means the last process that wrote it died without closing it
(SIGKILL, a crash, a power cut, a full disk): that is when ``PRAGMA
quick_check`` runs. Whether another process has it open is told by a lock
file beside the catalog (``<catalog>.lock``): every process holds a shared
``flock`` on it while its connection is open (the kernel drops it when the
process dies, however it dies), and an exclusive try that succeeds means
nobody else has the catalog open. The cost of an open is one ``open`` +
``flock`` + ``stat``: no query and no write, so the hot path of every command
stays as fast as before.

Rejected: a marker row written when a writer opens and cleared when it closes
costs a write transaction on every command and, after a kill, needs a pid
check to tell a dead owner from a live one; the WAL file alone cannot tell a
crashed writer from a running one; checking on every open reads the whole file.
Where ``fcntl`` is missing (Windows) the check is never run.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from partita.catalog.sqlite.failures import UnusableCatalogError, is_damage

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["OpenMarker", "check_integrity", "wal_has_frames"]

_REPORTED_PROBLEMS = 5


def wal_has_frames(path: Path) -> bool:
    """Whether the catalog ``path`` has a non-empty WAL file beside it."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


class OpenMarker:
    """This process's shared lock on ``<catalog>.lock``, held while its connection is open."""

    def __init__(self, catalog: Path) -> None:
        self.path = catalog.with_name(catalog.name + ".lock")
        self._fd: int | None = None

    def hold(self) -> bool:
        """Take the lock; return whether no other process had the catalog open.

        When it returns ``True`` the lock is exclusive until :meth:`share`, so
        other processes wait while this one checks the catalog.
        """
        if fcntl is None:
            return False
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._fd = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(fd, fcntl.LOCK_SH)
            return False
        return True

    def share(self) -> None:
        """Let other processes open the catalog too (exclusive to shared)."""
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Drop the lock (the connection is closed)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def check_integrity(conn: sqlite3.Connection, path: Path, *, why: str) -> None:
    """Run ``PRAGMA quick_check`` on ``conn``; raise :class:`UnusableCatalogError` on damage.

    ``why`` says in the message why the check ran (``after an unclean shutdown``).
    """
    try:
        rows = conn.execute(f"PRAGMA quick_check({_REPORTED_PROBLEMS})").fetchall()
    except sqlite3.DatabaseError as exc:  # damage so bad that the check itself stops
        if not is_damage(exc):
            raise
        rows = [(str(exc),)]
    problems = [str(row[0]) for row in rows]
    if problems == ["ok"]:
        return
    raise UnusableCatalogError(
        path, f"it failed its integrity check ({why}): " + "; ".join(problems)
    )
