"""Opening a catalog file: pragmas, migrations, one connection per process.

Opening creates the file only where there is none (:mod:`.files`), refuses a
file that is not a usable catalog, and runs ``PRAGMA quick_check`` after an
unclean shutdown (:mod:`.integrity`); SQLite errors become
:class:`~partita.errors.CatalogError` in the user's terms (:mod:`.failures`).

SQLite connections must not cross a ``fork``: :class:`ConnectionHolder`
remembers the pid that opened its connection and opens a fresh one in a
child process, so a catalog object inherited across ``fork`` keeps working
(the parent's connection is left alone, never closed from the child).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from partita.catalog.common.db import from_epoch, to_epoch
from partita.catalog.sqlite.failures import UnusableCatalogError, catalog_error, is_damage
from partita.catalog.sqlite.files import (
    content_problem,
    create_atomically,
    file_problem,
    hold_file,
    move_aside,
    release_file,
)
from partita.catalog.sqlite.integrity import OpenMarker, check_integrity, wal_has_frames
from partita.catalog.sqlite.migrations import migrate
from partita.errors import CatalogError

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "MMAP_BYTES", "ConnectionHolder", "from_epoch", "to_epoch"]

DEFAULT_BUSY_TIMEOUT_S = 60.0
"""How long a writer waits for another process's write transaction."""

MMAP_BYTES = 1 << 30
"""How much of the catalog file SQLite reads through a memory map (``PRAGMA mmap_size``)."""


class ConnectionHolder:
    pid_checks = True
    """On one machine a gone pid of this host means a dead coordinator (see common.liveness)."""

    """The connection of this process to one catalog file, opened lazily.

    Args:
        path: the catalog file; created (atomically) when there is no file.
        busy_timeout_s: how long a writer waits for another process's write.
        init: when the file at ``path`` is not a usable catalog (empty, not
            SQLite, truncated, another program's database, damaged), move it
            aside and start a new empty catalog instead of refusing it; also
            run the integrity check on every open.

    After an open, ``created`` says whether this holder created the file,
    ``moved_aside`` where a refused file went (``None`` when none was, or an
    empty one was removed) and ``integrity_checked`` whether ``PRAGMA
    quick_check`` ran (after an unclean shutdown, or ``init``).
    """

    def __init__(
        self, path: Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, init: bool = False
    ) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.init = init
        self.created = False
        self.moved_aside: Path | None = None
        self.refused: str | None = None
        self.integrity_checked = False
        self._conn: sqlite3.Connection | None = None
        self._marker: OpenMarker | None = None
        self._held: tuple[int, int] | None = None
        self._pid = -1
        self._lock = threading.RLock()

    def connection(self) -> sqlite3.Connection:
        """This process's connection, opened (and the file migrated) on first use."""
        if self._conn is None or self._pid != os.getpid():
            self._marker = None  # a parent's lock, inherited across fork, stays the parent's
            self._held = None
            self._conn = self._open()
            self._pid = os.getpid()
            self._held = hold_file(self.path)
        return self._conn

    def _connect(self, path: Path, *, journal_mode: str = "WAL") -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = conn.execute(f"PRAGMA journal_mode = {journal_mode}").fetchone()[0]
            if str(mode).lower() != journal_mode.lower():
                raise CatalogError(f"cannot put the catalog {path} in {journal_mode} mode ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            # reads through a memory map: the state blocks' large blobs come
            # out of their overflow pages several times faster (writes still
            # go through write(), so durability is unchanged)
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _build(self, path: Path) -> None:
        """Make a new, migrated, closed catalog file at ``path``.

        The schema is written without a WAL (the journal in memory, no sync:
        the file is private until it is complete, synced and linked), so every
        migration is in the file itself and a full disk fails a write, never a
        checkpoint that a close would swallow; WAL mode is switched on last.
        """
        conn = self._connect(path, journal_mode="MEMORY")
        try:
            conn.execute("PRAGMA synchronous = OFF")
            migrate(conn)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise CatalogError(f"cannot put the catalog {path} in WAL mode ({mode})")
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        try:
            try:
                return self._open_existing_or_new()
            except UnusableCatalogError as exc:
                if not self.init:
                    raise
                self.refused = exc.reason
                self.moved_aside = move_aside(self.path)
                return self._open_existing_or_new()
        except (sqlite3.Error, OSError) as exc:
            raise catalog_error(
                self.path,
                "open",
                exc,
                hint="check that the folder is writable and the file is a Partita catalog",
            ) from exc

    def _open_existing_or_new(self) -> sqlite3.Connection:
        if not self.path.exists():
            self.created = create_atomically(self.path, self._build) or self.created
        problem = file_problem(self.path)
        if problem is not None:
            raise UnusableCatalogError(self.path, problem)
        marker = OpenMarker(self.path)
        alone = marker.hold()
        try:
            unclean = alone and wal_has_frames(self.path)
            conn = self._connect(self.path)
            try:
                self._check(conn, unclean=unclean)
                marker.share()
                migrate(conn)
            except BaseException:
                conn.close()
                raise
        except sqlite3.DatabaseError as exc:
            marker.release()
            if is_damage(exc):
                raise UnusableCatalogError(self.path, f"it is damaged ({exc})") from exc
            raise
        except BaseException:
            marker.release()
            raise
        self._marker = marker
        return conn

    def _check(self, conn: sqlite3.Connection, *, unclean: bool) -> None:
        """Refuse a database that is not a catalog; ``quick_check`` when there is a reason."""
        problem = content_problem(conn)
        if problem is not None:
            raise UnusableCatalogError(self.path, problem)
        if unclean or self.init:
            why = "after an unclean shutdown" if unclean else "asked for by init"
            check_integrity(conn, self.path, why=why)
            self.integrity_checked = True

    @contextmanager
    def write(self, *, wait: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on exit, rolled back on error.

        SQLite errors become :class:`~partita.errors.CatalogError` (a full disk
        says so, with the catalog's path). ``wait=False``: when another process
        holds the write lock, fail at once instead of waiting up to the busy
        timeout (for optional writes, such as a cache, that must never stall a reader).
        """
        with self._lock:
            conn = self.connection()
            try:
                if wait:
                    conn.execute("BEGIN IMMEDIATE")
                else:
                    conn.execute("PRAGMA busy_timeout = 0")
                    try:
                        conn.execute("BEGIN IMMEDIATE")
                    finally:
                        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            except sqlite3.Error as exc:
                raise catalog_error(self.path, "write", exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:  # in the block or at COMMIT
                _rollback(conn)
                raise catalog_error(
                    self.path,
                    "write",
                    exc,
                    hint="the write was rolled back: nothing of it was recorded",
                ) from exc
            except BaseException:
                _rollback(conn)
                raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent snapshot.

        SQLite errors become :class:`~partita.errors.CatalogError`.
        """
        with self._lock:
            conn = self.connection()
            try:
                conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise catalog_error(self.path, "read", exc) from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                raise catalog_error(self.path, "read", exc) from exc
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection (a later use opens a new one)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
                if self._marker is not None:
                    self._marker.release()
                if self._held is not None:
                    release_file(self._held)
            self._conn = None
            self._marker = None
            self._held = None


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does on a full disk)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")
