"""Opening a catalog file: pragmas, migrations, one connection per process.

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
from datetime import UTC, datetime
from pathlib import Path

from partita.catalog.sqlite.migrations import migrate
from partita.errors import CatalogError

__all__ = ["DEFAULT_BUSY_TIMEOUT_S", "ConnectionHolder", "from_epoch", "to_epoch"]

DEFAULT_BUSY_TIMEOUT_S = 60.0
"""How long a writer waits for another process's write transaction."""


def to_epoch(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    """An aware UTC datetime from seconds since the epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)


class ConnectionHolder:
    """The connection of this process to one catalog file, opened lazily."""

    def __init__(self, path: Path, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._lock = threading.RLock()

    def connection(self) -> sqlite3.Connection:
        """This process's connection, opened (and the file migrated) on first use."""
        if self._conn is None or self._pid != os.getpid():
            self._conn = self._open()
            self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise CatalogError(f"cannot put the catalog {self.path} in WAL mode ({mode})")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except sqlite3.Error as exc:
            raise CatalogError(
                f"cannot open the catalog {self.path}: {exc}",
                hint="check that the folder is writable and the file is a Partita catalog",
            ) from exc
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on exit, rolled back on error.

        SQLite errors become :class:`~partita.errors.CatalogError`.
        """
        with self._lock:
            conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise CatalogError(f"cannot write the catalog {self.path}: {exc}") from exc
            try:
                yield conn
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise CatalogError(
                    f"catalog write failed and was rolled back: {exc}",
                    hint="nothing of this write was recorded",
                ) from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent snapshot."""
        with self._lock:
            conn = self.connection()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close this process's connection (a later use opens a new one)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
