"""The SQLite catalog: one file in WAL mode, safe for several processes at once.

:class:`SQLiteCatalog` implements :class:`~partita.records.Catalog` (the
reader and writer protocols) with the shared logic of
:mod:`partita.catalog.common`; its ``dynamic_partitions`` implement
:class:`~partita.partitions.DynamicPartitionsStore`. Every write is one
``BEGIN IMMEDIATE`` transaction, so a process killed at any point leaves
either all of a step's outcome or none of it. History is append-only; the
``latest_materialization`` pointer table is a derived index maintained in the
same transaction as each insert.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

from partita.catalog.common.catalog import SqlCatalog
from partita.catalog.common.runs import DEFAULT_HEARTBEAT_TIMEOUT
from partita.catalog.common.state_as_of import load_planner_state_as_of, recorded_after
from partita.catalog.sqlite.connection import DEFAULT_BUSY_TIMEOUT_S, ConnectionHolder
from partita.catalog.sqlite.lease_reader import SQLiteLeaseReader
from partita.catalog.sqlite.snapshot import StateBlocks, write_blocks
from partita.catalog.sqlite.state import (
    DEFAULT_REFRESH_ROWS,
    catalog_generation,
    load_state,
)
from partita.errors import CatalogError
from partita.records import PlannerState

__all__ = ["DEFAULT_CATALOG_PATH", "SQLiteCatalog"]

DEFAULT_CATALOG_PATH = Path(".partita") / "catalog.db"
"""Where a project keeps its catalog, relative to the project folder."""


class SQLiteCatalog(SqlCatalog):
    """The lineage catalog in one SQLite file (created with its folders if missing).

    Args:
        path: the catalog file, usually ``<project>/.partita/catalog.db``.
        busy_timeout_s: how long a write waits for another process's write.
        heartbeat_timeout: a running run silent for this long is ``crashed``.
        snapshot_refresh_rows: write new state blocks (the planner's state
            as Arrow columns inside the catalog, see
            :mod:`~partita.catalog.sqlite.snapshot`) once a state load or a
            bulk record had to read this many latest rows from SQLite.
        init: start a new empty catalog when the file at ``path`` is not a
            usable one (it is moved aside, see :attr:`moved_aside`) instead of
            refusing it with :class:`~partita.errors.CatalogError`; also run
            the integrity check. A missing file is always created.

    One object may be shared by the threads of a process; after ``fork`` the
    child opens its own connection on first use.
    """

    _db: ConnectionHolder

    def __init__(
        self,
        path: str | Path = DEFAULT_CATALOG_PATH,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        heartbeat_timeout: timedelta = DEFAULT_HEARTBEAT_TIMEOUT,
        snapshot_refresh_rows: int = DEFAULT_REFRESH_ROWS,
        init: bool = False,
    ) -> None:
        self.path = Path(path)
        self.heartbeat_timeout = heartbeat_timeout
        self.refresh_rows = snapshot_refresh_rows
        self._db = ConnectionHolder(self.path, busy_timeout_s=busy_timeout_s, init=init)
        self._db.connection()
        self._setup_records()

    @property
    def created(self) -> bool:
        """Whether opening this object created the catalog file."""
        return self._db.created

    @property
    def integrity_checked(self) -> bool:
        """Whether opening ran ``PRAGMA quick_check`` (after an unclean shutdown, or ``init``)."""
        return self._db.integrity_checked

    @property
    def moved_aside(self) -> Path | None:
        """Where ``init=True`` moved a refused file (``None``: none, or an empty one removed)."""
        return self._db.moved_aside

    @property
    def refused(self) -> str | None:
        """Why ``init=True`` replaced the file that was there, if it did."""
        return self._db.refused

    def close(self) -> None:
        """Close this process's connection."""
        self._db.close()

    def lease_reader_factory(self) -> Callable[[], SQLiteLeaseReader]:
        """A picklable function opening a :class:`~partita.records.LeaseReader` on this file
        (its connection opens on the first question, in the process that asks)."""
        return functools.partial(
            SQLiteLeaseReader, self.path, busy_timeout_s=self._db.busy_timeout_s
        )

    # ---------------------------------------------------------------- reads

    def planner_state(
        self, assets: Sequence[str], *, as_of: datetime | None = None
    ) -> PlannerState:
        """The bulk state of ``assets`` as Arrow tables, from one consistent point in time.

        Served from the state blocks inside the catalog plus what was
        recorded since (see :mod:`partita.catalog.sqlite.state`); the result
        is always exactly what the catalog holds. With ``as_of``, the state as
        it was then (see :mod:`partita.catalog.common.state_as_of`), through
        the blocks too when nothing was recorded after ``as_of``.
        """
        with self._db.read() as conn:
            if as_of is not None and recorded_after(conn, as_of):
                return load_planner_state_as_of(conn, assets, as_of)
            state, blocks = load_state(conn, assets, refresh_rows=self.refresh_rows)
        if blocks is not None:
            self._write_blocks(blocks)
        return state

    def _write_blocks(self, blocks: StateBlocks) -> None:
        """Write new state blocks; a catalog that cannot be written now (another process
        holds its write lock, a read-only file) keeps its old ones: never waited for."""
        with suppress(CatalogError), self._db.write(wait=False) as conn:
            write_blocks(conn, blocks, catalog_generation(conn))

    def _after_bulk_record(self) -> None:
        """Bring the state blocks up to date after a bulk record (see :meth:`_refresh_blocks`)."""
        self._refresh_blocks()

    def _refresh_blocks(self) -> None:
        """Bring the state blocks up to date when enough rows were recorded since."""
        with self._db.read() as conn:
            _, blocks = load_state(conn, [], refresh_rows=self.refresh_rows)
        if blocks is not None:
            self._write_blocks(blocks)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when healthy)."""
        with self._db.read() as conn:
            return "\n".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
