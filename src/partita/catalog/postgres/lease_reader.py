"""The publish fence's reader on a PostgreSQL catalog (see :mod:`..common.leases`)."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from partita.catalog.common.leases import LeaseItem, held_by
from partita.catalog.locations import describe_location
from partita.catalog.postgres.connection import PgConnection, connect_error
from partita.catalog.postgres.dialect import configure
from partita.errors import CatalogError

__all__ = ["PostgresLeaseReader"]


class PostgresLeaseReader:
    """One connection of its own (autocommit, each question one indexed read).

    Opened lazily on the first question, in the process that asks; safe to
    share by the threads of a process. A pid recorded with a run proves
    nothing here (see :mod:`partita.catalog.common.liveness`).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                configure(self._conn)
            except psycopg.Error as exc:
                raise connect_error(self.url, exc) from None
        return self._conn

    def lease_held(self, run_id: str, item: LeaseItem) -> str | None:
        """``None`` when run ``run_id`` still holds the lease of ``item``; else why not."""
        with self._lock:
            try:
                return held_by(PgConnection(self._connection()), run_id, item, by_pid=False)
            except psycopg.Error as exc:
                self._conn = None
                raise CatalogError(
                    f"cannot read the leases in {describe_location(self.url)}: {type(exc).__name__}"
                ) from None

    def close(self) -> None:
        """Close the connection (a later question opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
