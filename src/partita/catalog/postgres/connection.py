"""Connections to a PostgreSQL catalog: a pool per process, one transaction at a time.

:class:`PostgresDatabase` implements :class:`~partita.catalog.common.db.Database`.
Writes are serialized exactly as SQLite's ``BEGIN IMMEDIATE`` serializes them:
each write transaction first takes one transaction-scoped advisory lock
(:data:`WRITE_LOCK`), so the shared logic's read-then-write steps (leases,
pool slots, compare-and-set) behave the same on both databases, across
processes and machines. Reads run in a ``REPEATABLE READ READ ONLY``
transaction: one consistent snapshot.

Commits do not wait for the server's WAL flush (``synchronous_commit = off``),
the durability SQLite's catalog has in WAL mode with ``synchronous = NORMAL``:
a crash of the server's machine may lose the last moments of commits, never
consistency (a lost record means the partition is rebuilt). A URL with
``?options=-c%20synchronous_commit%3Don`` keeps the server's setting instead.
The shared SQL is translated by :mod:`.dialect`.

A pool does not survive ``fork``: a child process opens its own on first use.
Connection failures become one :class:`~partita.errors.CatalogError` naming
``host:port/database`` and what to check, never the password
(:func:`connect_error`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from partita.catalog.locations import describe_location
from partita.catalog.postgres.dialect import configure, translate
from partita.catalog.postgres.migrations import SCHEMA_VERSION, migrate
from partita.errors import CatalogError, CatalogUnreachableError

__all__ = [
    "WRITE_LOCK",
    "PgConnection",
    "PostgresDatabase",
    "connect_error",
]

WRITE_LOCK = 0x5041525449544132
"""The advisory-lock key every write transaction holds (``PARTITA2`` in ASCII)."""

CONNECT_TIMEOUT_S = 10
"""How long opening a connection waits for the server."""


def _without_secret(text: str, url: str) -> str:
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


def _reason(text: str) -> str:
    """What psycopg says went wrong, without the address (the message names it) or its
    own advice (the hint gives ours): ``connection to server at "h", port 1 failed:
    Connection refused`` -> ``Connection refused``."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0]
    reason = first.rsplit(" failed: ", 1)[-1] if " failed: " in first else first
    return " ".join(reason.removeprefix("FATAL:").split())


def connect_error(url: str, exc: BaseException) -> CatalogUnreachableError:
    """The error for a database that cannot be reached or refuses us (no password shown)."""
    reason = _without_secret(_reason(str(exc)), url)
    where = describe_location(url)
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        hint = (
            "check the user name and password in the catalog URL (or PARTITA_CATALOG_URL), "
            "and that pg_hba.conf lets this user in"
        )
    elif "does not exist" in lowered:
        hint = "create the database first (createdb), or fix its name in the catalog URL"
    else:
        hint = (
            "check that PostgreSQL is running there and accepts TCP connections "
            "(listen_addresses, port, firewall), and the host and port in the catalog URL"
        )
    return CatalogUnreachableError(
        f"cannot connect to the catalog database {where}: {reason}", hint=hint
    )


class _Cursor:
    """A finished statement's rows (a psycopg cursor, seen through the shared protocol)."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """A psycopg connection inside a transaction, taking the shared SQL dialect."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Cursor:
        """Run one statement of the shared dialect."""
        query, bound = translate(sql, parameters)
        return _Cursor(self.raw.execute(query.encode(), bound))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> _Cursor:
        """Run one statement once per parameter row (in one round trip per batch)."""
        rows = list(parameters)
        cursor = self.raw.cursor()
        if not rows:
            return _Cursor(cursor)
        query, _ = translate(sql, rows[0])
        cursor.executemany(query.encode(), [translate(sql, row)[1] for row in rows])
        return _Cursor(cursor)


class PostgresDatabase:
    """This process's connection pool to one catalog database, migrated on first use.

    Args:
        url: ``postgresql://user:password@host:port/database`` (libpq's URL form;
            ``?sslmode=...`` and other libpq parameters pass through).
        pool_size: the most connections this process keeps open.
    """

    pid_checks = False
    """Runs elsewhere share this catalog: a pid of this host proves nothing (heartbeats do)."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        self.where = describe_location(url)
        self.pool_size = pool_size
        self.created = False
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection of its own (autocommit), or one clear :class:`CatalogError`."""
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            raise connect_error(self.url, exc) from None
        self._configure(conn)
        return conn

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Set up each new connection: integers as ``bigint``, and commits that do not
        wait for the WAL to reach the disk unless the URL asks for it (see the module)."""
        configure(conn)
        if "synchronous_commit" not in self.url:
            conn.execute(b"SET synchronous_commit = off")

    def pool(self) -> ConnectionPool[psycopg.Connection[Any]]:
        """This process's pool, opened (and the database migrated) on first use."""
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                with self.connect() as conn:
                    try:
                        before = migrate(conn)
                    except psycopg.Error as exc:
                        raise CatalogError(
                            f"cannot create or migrate the catalog in {self.where}: "
                            f"{_without_secret(str(exc), self.url)}",
                            hint="the catalog's user needs CREATE on the database's schema",
                        ) from None
                    if before > SCHEMA_VERSION:
                        raise CatalogError(
                            f"the catalog in {self.where} has schema version {before}, newer "
                            f"than this Partita's {SCHEMA_VERSION}",
                            hint="upgrade Partita",
                        )
                    self.created = self.created or before == 0
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
                    configure=self._configure,
                    timeout=CONNECT_TIMEOUT_S * 3,
                    open=True,
                )
                self._pid = os.getpid()
            return self._pool

    @contextmanager
    def _transaction(self, begin: bytes, lock: bytes | None) -> Iterator[PgConnection]:
        try:
            with self.pool().connection() as raw:
                raw.execute(begin)  # (with the lock, when waiting for it: one round trip)
                try:
                    if lock is not None:
                        row = raw.execute(lock, (WRITE_LOCK,)).fetchone()
                        if row is not None and row[0] is False:
                            raise CatalogError(
                                f"the catalog in {self.where} is being written by another process"
                            )
                    yield PgConnection(raw)
                except BaseException:
                    raw.execute(b"ROLLBACK")
                    raise
                raw.execute(b"COMMIT")
        except PoolTimeout as exc:
            raise connect_error(self.url, exc) from None
        except psycopg.OperationalError as exc:
            raise CatalogError(
                f"the catalog database {self.where} failed: {_without_secret(str(exc), self.url)}",
                hint="check that the PostgreSQL server is up and reachable",
            ) from None
        except psycopg.Error as exc:
            raise CatalogError(
                f"the catalog database {self.where} refused a statement: "
                f"{_without_secret(str(exc), self.url)}"
            ) from exc

    def write(self, *, wait: bool = True) -> AbstractContextManager[PgConnection]:
        """A write transaction holding the catalog's write lock (see the module)."""
        begin = b"BEGIN ISOLATION LEVEL READ COMMITTED"
        if wait:
            locked = b"%s; SELECT pg_advisory_xact_lock(%d)" % (begin, WRITE_LOCK)
            return self._transaction(locked, None)
        return self._transaction(begin, b"SELECT pg_try_advisory_xact_lock(%s)")

    def read(self) -> AbstractContextManager[PgConnection]:
        """A read-only transaction on one snapshot."""
        return self._transaction(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", None)

    def read_at(self, snapshot: str) -> AbstractContextManager[PgConnection]:
        """A read-only transaction on the snapshot another open one exported
        (``SELECT pg_export_snapshot()``): both see exactly the same rows."""
        begin = sql.SQL(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}"
        ).format(sql.Literal(snapshot))
        return self._transaction(begin.as_bytes(), None)

    def close(self) -> None:
        """Close this process's pool (a pool inherited across fork is left to its parent)."""
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None
