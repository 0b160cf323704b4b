"""The publish fence's reader on a SQLite catalog file (see :mod:`..common.leases`)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from partita.catalog.common.leases import LeaseItem, held_by
from partita.errors import CatalogError

__all__ = ["SQLiteLeaseReader"]


class SQLiteLeaseReader:
    """A read-only connection to a catalog file that answers publish fences.

    Opened lazily on the first question; safe to share by the threads of a process.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise CatalogError(f"no catalog at {self.path} to check leases in")
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA query_only = 1")
            self._conn = conn
        return self._conn

    def lease_held(self, run_id: str, item: LeaseItem) -> str | None:
        """``None`` when run ``run_id`` still holds the lease of ``item``; else why not."""
        with self._lock:
            try:
                return held_by(self._connection(), run_id, item)
            except sqlite3.Error as exc:
                raise CatalogError(f"cannot read the leases in {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (a later question opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
