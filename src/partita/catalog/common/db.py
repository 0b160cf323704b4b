"""The seam between the catalog's logic and a database: connections and transactions.

:class:`SqlConnection` is what the shared modules call (a ``sqlite3``
connection is one as it is; PostgreSQL's is an adapter translating the few
dialect differences); :class:`Database` hands out one transaction at a time.
Times are stored as epoch seconds (:func:`to_epoch`, :func:`from_epoch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = ["MICROS", "Database", "SqlConnection", "SqlCursor", "from_epoch", "to_epoch"]

MICROS = "CAST(round({} * 1000000) AS BIGINT)"
"""SQL turning epoch seconds (a float column) into whole microseconds; ``{}`` is the column."""


def to_epoch(moment: datetime) -> float:
    """Seconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    """An aware UTC datetime from seconds since the epoch."""
    return datetime.fromtimestamp(seconds, tz=UTC)


class SqlCursor(Protocol):
    """The result of one statement: rows (tuples) and the count of rows changed."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement (summed over ``executemany``)."""
        ...

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...

    def __iter__(self) -> Iterator[Any]: ...


class SqlConnection(Protocol):
    """A connection inside a transaction, taking the shared dialect (see the package)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> SqlCursor:
        """Run one statement."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> SqlCursor:
        """Run one statement once per parameter row."""
        ...


class Database(Protocol):
    """Hands out transactions on one catalog (each on this process's connection).

    ``pid_checks``: whether a coordinator recorded on this host with a pid
    that is gone counts as dead at once (see :mod:`.liveness`).
    """

    pid_checks: bool

    def write(self, *, wait: bool = True) -> AbstractContextManager[SqlConnection]:
        """A write transaction, serialized with every other writer of the catalog;
        committed on exit, rolled back on error. ``wait=False``: raise
        :class:`~partita.errors.CatalogError` at once when another writer holds it."""
        ...

    def read(self) -> AbstractContextManager[SqlConnection]:
        """A read transaction: one consistent point in the catalog's history."""
        ...
