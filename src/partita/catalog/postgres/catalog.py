"""The PostgreSQL catalog: one database shared by runs on several machines.

:class:`PostgresCatalog` is the shared :class:`~partita.catalog.common.catalog.SqlCatalog`
on a :class:`~partita.catalog.postgres.connection.PostgresDatabase`: the same
logic and the same SQL as the SQLite catalog, translated by
:mod:`~partita.catalog.postgres.dialect`. What differs: writers are serialized
by an advisory lock instead of ``BEGIN IMMEDIATE``; a dead run is found by
its heartbeat's age alone (a pid means nothing on another machine); the
planner's state is packed into columns by the server (:mod:`.state`) instead of SQLite's
state blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from partita.catalog.common.catalog import SqlCatalog
from partita.catalog.common.runs import DEFAULT_HEARTBEAT_TIMEOUT
from partita.catalog.common.state_as_of import load_planner_state_as_of, recorded_after
from partita.catalog.locations import describe_location
from partita.catalog.postgres.connection import PostgresDatabase
from partita.catalog.postgres.lease_reader import PostgresLeaseReader
from partita.catalog.postgres.state import load_planner_state
from partita.records import PlannerState

__all__ = ["PostgresCatalog"]


class PostgresCatalog(SqlCatalog):
    """The lineage catalog in a PostgreSQL database (its tables created on first use).

    Args:
        url: ``postgresql://user:password@host:port/database``.
        heartbeat_timeout: a running run silent for this long is ``crashed``.
        pool_size: the most connections this process keeps open.

    Opening connects and migrates at once, so a wrong URL or password fails
    here with one :class:`~partita.errors.CatalogError` (no password shown).
    One object may be shared by the threads of a process; after ``fork`` the
    child opens its own pool on first use.
    """

    _db: PostgresDatabase

    def __init__(
        self,
        url: str,
        *,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
        pool_size: int = 4,
    ) -> None:
        self.url = url
        self.heartbeat_timeout = heartbeat_timeout
        self._db = PostgresDatabase(url, pool_size=pool_size)
        self._db.pool()
        self._setup_records()

    @property
    def where(self) -> str:
        """``user@host:port/database`` (never the password)."""
        return describe_location(self.url)

    @property
    def created(self) -> bool:
        """Whether opening this object created the catalog's tables."""
        return self._db.created

    def close(self) -> None:
        """Close this process's connection pool."""
        self._db.close()

    def lease_reader_factory(self) -> Callable[[], PostgresLeaseReader]:
        """A picklable function opening a :class:`~partita.records.LeaseReader` on this
        database (its connection opens on the first question, in the process that asks)."""
        return functools.partial(PostgresLeaseReader, self.url)

    def planner_state(
        self, assets: Sequence[str], *, as_of: datetime | None = None
    ) -> PlannerState:
        """The bulk state of ``assets`` from one snapshot (see :mod:`.state`); with
        ``as_of``, as the catalog held it then (:mod:`partita.catalog.common.state_as_of`)."""
        with self._db.read() as conn:
            if as_of is not None and recorded_after(conn, as_of):
                return load_planner_state_as_of(conn, assets, as_of)
            row = conn.execute("SELECT pg_export_snapshot()").fetchone()
            snapshot = str(row[0])
            return load_planner_state(
                conn, assets, other=functools.partial(self._db.read_at, snapshot)
            )
