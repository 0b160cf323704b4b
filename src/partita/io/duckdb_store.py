"""DuckDBStore: one DuckDB table per asset, partition dimensions as columns.

Table: schema = the key's prefix joined by ``/`` (``main`` when unprefixed),
table = the key's last segment, both quoted identifiers built only from
validated key segments. Dimensions the data lacks are added as ``VARCHAR``
columns. Published partitions (even empty ones) are recorded in
``_partita.partitions``; the dimensions of each asset in ``_partita.assets``
(names and lookups: :mod:`partita.io.duckdb_tables`).

Overwrite = ``DELETE`` of the partition's rows + ``INSERT`` of the staged rows
in one transaction, with the partition values as bound parameters (never SQL
text). Schema evolution happens in the same transaction: new columns are
added, a column widens (``ALTER COLUMN ... SET DATA TYPE``) when the new data
needs a wider type (see :mod:`partita.io.schema`), data of a narrower type is
cast into the column's type; an incompatible type change is refused naming the
column and both types.

A schema named like the database's own catalog (the file name up to its first
dot: key ``warehouse/deals`` in ``warehouse.duckdb``) makes plain SQL such as
``SELECT * FROM warehouse.deals`` ambiguous in DuckDB, so ``stage`` refuses
such an asset (see :meth:`DuckDBStore.check_schema_name`).

Concurrency: DuckDB lets one process at a time open a database file for
writing, and Partita's runner writes from worker processes (DESIGN §3). So:

* ``stage`` needs no database at all: it streams the data to a Parquet file in
  ``<db>.staging/`` (computing the version), in parallel in every worker;
* ``publish``/``delete`` take an exclusive ``flock`` on ``<db>.lock``, open a
  connection, run one short transaction and close it; readers take the same
  lock shared and open the file read-only. Connections are never held between
  operations, so workers take turns for the short publish step only, a killed
  process releases its lock, and DuckDB's WAL rolls back its open transaction.
  The runner's committer publishes a batch's writes inside :meth:`publishing`
  (:class:`~partita.io.protocol.PublishSessionStore`): one lock and one
  connection for the batch (opening the file costs more than a publish), each
  write still its own transaction.

Test hook: ``PARTITA_TEST_PAUSE_IN_PUBLISH=<marker file>`` makes ``publish``
create the marker and sleep just before its ``COMMIT`` (crash tests kill the
process there); it is read once at import and costs nothing when unset.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds

from partita.errors import DefinitionError, SchemaChangeError, StorageError
from partita.io.arrow import load_as, resolve_type, to_arrow_reader
from partita.io.duckdb_tables import (
    META_DDL,
    META_SCHEMA,
    current_catalog,
    partition_filter,
    partition_key,
    quote_identifier,
    stored_partition_keys,
    table_columns,
)
from partita.io.locking import file_lock
from partita.io.paths import PartitionPath, partition_label, validate_partition
from partita.io.protocol import (
    PublishFence,
    StagedWrite,
    WriteResult,
    schema_json,
    write_partition,
)
from partita.io.schema import check_evolution, wipe_hint
from partita.io.staging import remove_stale_temps, temp_name, write_parquet
from partita.keys import AssetKey, AssetKeyLike
from partita.processes import remove_at_exit

if TYPE_CHECKING:
    import duckdb

__all__ = ["DuckDBStore", "META_SCHEMA", "quote_identifier"]

_STAGED = "staged.parquet"
_RENAMED_CATALOGS = {"main", "temp", "system"}
"""Database file names DuckDB does not use as catalog names (it appends ``_db``)."""
_PAUSE_IN_PUBLISH = os.environ.get("PARTITA_TEST_PAUSE_IN_PUBLISH", "")
"""Test hook (read once at import): when set to a file path, ``publish`` creates that
file inside its transaction, after the ``DELETE`` and ``INSERT`` and before the
``COMMIT``, then sleeps :data:`_PAUSE_SECONDS`, so a crash test can kill the
process exactly there. Unset (the normal case) it costs one string test."""
_PAUSE_SECONDS = 60.0


class DuckDBStore:
    """Partitions as rows of one table per asset in a DuckDB database file.

    Args:
        path: the database file (created on first write); a relative path is
            resolved against the current directory when the store is constructed.

    The store holds only paths, so it pickles to worker processes; each
    operation opens and closes its own connection under a file lock (or uses the
    one :meth:`publishing` keeps open for a batch of publishes).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()
        self._session_lock = threading.Lock()
        self._session: tuple[int, duckdb.DuckDBPyConnection] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}  # never an open session

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"DuckDBStore({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DuckDBStore):
            return NotImplemented
        return self.path == other.path

    def __hash__(self) -> int:
        return hash((DuckDBStore, self.path))

    def lineage_dataset(self, asset: AssetKeyLike) -> tuple[str, str]:
        """``("duckdb://<file>", "<db>.<schema>.<table>")``: the asset's table, as
        OpenLineage names it (:class:`~partita.io.protocol.LineageNamedStore`)."""
        key = AssetKey.parse(asset)
        schema = "/".join(key.prefix) or "main"
        return f"duckdb://{self.path}", f"{self.catalog_name}.{schema}.{key.name}"

    @property
    def lock_path(self) -> Path:
        """The lock file next to the database."""
        return self.path.with_name(self.path.name + ".lock")

    @property
    def staging_dir(self) -> Path:
        """Where staged partitions wait for publication."""
        return self.path.with_name(self.path.name + ".staging")

    @staticmethod
    def table_name(asset: AssetKeyLike, catalog: str | None = None) -> str:
        """The quoted ``"schema"."table"`` of an asset (``"catalog"."schema"."table"``
        when ``catalog`` is given, which avoids ambiguity when a schema and the
        database file share a name)."""
        key = AssetKey.parse(asset)
        schema = "/".join(key.prefix) or "main"
        if schema == META_SCHEMA:
            raise StorageError(f"asset key prefix {META_SCHEMA!r} is reserved by the store")
        if key.prefix == ("main",):
            raise StorageError(
                f"asset key {key}: the prefix 'main' is reserved by DuckDBStore "
                f"(unprefixed assets live in schema main, so {key} would share a table "
                f"with {key.name})",
                hint=f"use another prefix, or the unprefixed key {key.name!r}",
            )
        name = f"{quote_identifier(schema)}.{quote_identifier(key.name)}"
        return name if catalog is None else f"{quote_identifier(catalog)}.{name}"

    @property
    def catalog_name(self) -> str:
        """The name DuckDB gives the database's catalog: the file name up to its first
        dot (``warehouse`` for ``warehouse.duckdb``; ``main_db`` for ``main.duckdb``)."""
        base = self.path.name.split(".")[0]
        return f"{base}_db" if base.lower() in _RENAMED_CATALOGS else base

    def check_schema_name(self, asset: AssetKeyLike) -> None:
        """Refuse an asset whose schema has the database catalog's name.

        DuckDB resolves ``warehouse.deals`` to a catalog or a schema; when both
        are named ``warehouse`` (key ``warehouse/deals`` in ``warehouse.duckdb``)
        every plain query of the table fails as ambiguous.

        Raises:
            DefinitionError: the key's prefix is the database's catalog name.
        """
        key = AssetKey.parse(asset)
        schema = "/".join(key.prefix)
        catalog = self.catalog_name
        if schema and schema.casefold() == catalog.casefold():
            raise DefinitionError(
                f"asset {key}: its DuckDB schema {schema!r} has the name of the database "
                f"{self.path.name} (catalog {catalog!r}), so SQL such as "
                f"`SELECT * FROM {schema}.{key.name}` is ambiguous in DuckDB",
                hint=f"rename the database file (e.g. to {catalog}_db.duckdb) or give the "
                f"asset another key prefix than {schema!r}",
            )

    @contextlib.contextmanager
    def publishing(self) -> Iterator[None]:
        """Keep one write connection, and the database's exclusive lock, open for this
        thread's publishes until the context ends (each publish is still its own
        transaction). Within it, this thread's reads use that connection too.
        Inside another session (of any thread) it changes nothing."""
        if not self._session_lock.acquire(blocking=False):
            yield
            return
        try:
            with self._open(write=True) as connection:
                self._session = (threading.get_ident(), connection)
                try:
                    yield
                finally:
                    self._session = None
        finally:
            self._session_lock.release()

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        session = self._session
        if session is not None and session[0] == threading.get_ident():
            yield session[1]
            return
        with self._open(write=write) as connection:
            yield connection

    @contextlib.contextmanager
    def _open(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb  # noqa: PLC0415 - keep `import partita.io` light

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_path, exclusive=write):
            if not write and not self.path.exists():
                raise StorageError(f"{self.path}: the database does not exist yet")
            try:
                connection = duckdb.connect(str(self.path), read_only=not write)
            except duckdb.Error as exc:
                raise StorageError(f"cannot open {self.path}: {exc}") from exc
            try:
                yield connection
            finally:
                connection.close()

    # -- writing ---------------------------------------------------------------------------

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Stream ``data`` to a staged Parquet file (no database access, no lock).

        Raises:
            StorageError: no data, an invalid partition, or a partition column
                that disagrees with ``partition``.
            DefinitionError: the asset's schema has the database's name
                (:meth:`check_schema_name`).
        """
        key = AssetKey.parse(asset)
        table = self.table_name(key)
        self.check_schema_name(key)
        part = validate_partition(partition)
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError(f"{key}: no data to store (the asset returned None)")
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.staging_dir, _STAGED)
        temp = self.staging_dir / temp_name(_STAGED)
        staged = write_parquet(reader, temp, part, durable=False)
        result = WriteResult(
            data_version=staged.data_version,
            rows=staged.rows,
            bytes=staged.bytes,
            schema=schema_json(staged.schema),
            location=f"{self.path}::{table}",
        )
        return StagedWrite(str(key), part, str(temp), result, local_parquet=str(temp))

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Replace the partition's rows with the staged rows in one transaction.

        A ``fence`` is called holding the database's write lock, before the
        transaction begins.
        """
        key = AssetKey(staged.asset)
        part = staged.partition
        where = f"{key} [{partition_label(part)}]"
        if not Path(staged.handle).is_file():
            raise StorageError(f"{where}: the staged data is gone (discarded or cleaned up)")
        if staged.result.schema == schema_json(pa.schema([])):
            raise StorageError(
                f"{where}: the data has no columns, and a DuckDB table needs at least one",
                hint="return the frame with its columns even when it has no rows "
                "(pd.DataFrame(columns=[...]))",
            )
        import duckdb  # noqa: PLC0415

        with self._connect(write=True) as con:
            if fence is not None:
                try:
                    fence()
                except BaseException:
                    Path(staged.handle).unlink(missing_ok=True)
                    raise
            try:
                con.execute("BEGIN TRANSACTION")
                self._publish_in_transaction(con, key, part, staged.handle, where)
                if _PAUSE_IN_PUBLISH:
                    _pause_before_commit(_PAUSE_IN_PUBLISH)
                con.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise StorageError(f"{where}: {exc}") from exc
                raise
        Path(staged.handle).unlink(missing_ok=True)
        return staged.result

    def _publish_in_transaction(
        self,
        con: duckdb.DuckDBPyConnection,
        key: AssetKey,
        part: PartitionPath,
        path: str,
        where: str,
    ) -> None:
        con.execute(META_DDL)
        dims = [d for d, _ in part]
        found = con.execute(
            f"SELECT dimensions FROM {META_SCHEMA}.assets WHERE asset = ?", [str(key)]
        ).fetchall()
        recorded = found[0] if found else None
        if recorded is not None and json.loads(recorded[0]) != dims:
            raise SchemaChangeError(
                f"{where}: the asset is stored with partition dimensions "
                f"{json.loads(recorded[0])}, not {dims}",
                hint=wipe_hint(str(key)),
            )
        staged = con.read_parquet(path)
        new = {name: str(t) for name, t in zip(staged.columns, staged.types, strict=True)}
        for dim, _ in part:
            new.setdefault(dim, "VARCHAR")
        catalog = current_catalog(con)
        table = self.table_name(key, catalog)
        existing = table_columns(con, key)
        if not existing:
            schema = "/".join(key.prefix) or "main"
            qualified = f"{quote_identifier(catalog)}.{quote_identifier(schema)}"
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {qualified}")
            columns = ", ".join(f"{quote_identifier(n)} {t}" for n, t in new.items())
            con.execute(f"CREATE TABLE {table} ({columns})")
            existing = new
        else:
            evolution = check_evolution(existing, new, str(key), where)
            for name, wider in evolution.widened.items():
                column = quote_identifier(name)
                con.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DATA TYPE {wider}")
            for name, added_type in evolution.added.items():
                con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_identifier(name)} {added_type}")
            existing = {**existing, **evolution.widened}
        condition, values = partition_filter(existing, part)
        con.execute(f"DELETE FROM {table}{condition}", values)
        added = [(d, v) for d, v in part if d not in staged.columns]
        select = "".join(f", CAST(? AS VARCHAR) AS {quote_identifier(d)}" for d, _ in added)
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT *{select} FROM read_parquet(?)",
            [*(v for _, v in added), path],
        )
        con.execute(
            f"INSERT INTO {META_SCHEMA}.assets VALUES (?, ?) ON CONFLICT DO NOTHING",
            [str(key), json.dumps(dims)],
        )
        con.execute(
            f"INSERT INTO {META_SCHEMA}.partitions VALUES (?, ?) ON CONFLICT DO NOTHING",
            [str(key), partition_key(part)],
        )

    def discard(self, staged: StagedWrite) -> None:
        """Remove the staged file; the published rows are untouched."""
        Path(staged.handle).unlink(missing_ok=True)

    def write(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> WriteResult:
        """Replace one partition with ``data`` (:func:`~partita.io.protocol.write_partition`)."""
        return write_partition(self, asset, partition, data)

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Delete one partition's rows, or drop the asset's table when None."""
        key = AssetKey.parse(asset)
        if not self.path.exists():
            return
        self.table_name(key)  # validates the key before touching the database
        with self._connect(write=True) as con:
            table = self.table_name(key, current_catalog(con))
            con.execute("BEGIN TRANSACTION")
            con.execute(META_DDL)
            if partition is None:
                con.execute(f"DROP TABLE IF EXISTS {table}")
                con.execute(f"DELETE FROM {META_SCHEMA}.assets WHERE asset = ?", [str(key)])
                con.execute(f"DELETE FROM {META_SCHEMA}.partitions WHERE asset = ?", [str(key)])
            else:
                part = validate_partition(partition)
                columns = table_columns(con, key)
                if columns:
                    condition, values = partition_filter(columns, part)
                    con.execute(f"DELETE FROM {table}{condition}", values)
                con.execute(
                    f"DELETE FROM {META_SCHEMA}.partitions WHERE asset = ? AND partition_key = ?",
                    [str(key), partition_key(part)],
                )
            con.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every published partition of ``asset`` (including empty ones), sorted."""
        key = AssetKey.parse(asset)
        if not self.path.exists():
            return []
        with self._connect(write=False) as con:
            stored = stored_partition_keys(con, key)
        return sorted(tuple((d, v) for d, v in json.loads(text)) for text in stored)

    def read(
        self, asset: AssetKeyLike, partitions: Sequence[PartitionPath], as_type: Any = None
    ) -> Any:
        """The rows of ``partitions`` as ``as_type`` (pandas by default).

        A ``duckdb.DuckDBPyRelation`` is lazy and out of core: the rows are
        copied (streamed) to a private temporary Parquet file under the shared
        lock, and the relation scans that file, so it never holds the database
        open while writers wait. The file is removed when the process exits.

        Raises:
            StorageError: a requested partition is not stored.
        """
        key = AssetKey.parse(asset)
        parts = [validate_partition(p) for p in partitions]
        if not parts:
            raise StorageError(f"{key}: no partitions to read")
        kind = resolve_type(as_type)
        with self._connect(write=False) as con:
            wanted = {partition_key(p) for p in parts}
            missing = sorted(wanted - set(stored_partition_keys(con, key)))
            if missing:
                label = partition_label(tuple((d, v) for d, v in json.loads(missing[0])))
                raise StorageError(
                    f"{key}: partition {label} is not stored "
                    f"({len(missing)} of {len(wanted)} requested partitions missing)",
                    hint="materialize it first",
                )
            columns = table_columns(con, key)
            query, params = self._select(key, columns, parts, con)
            result = con.sql(query, params=params)
            if kind != "relation":
                return load_as(result.to_arrow_table(), as_type)
            folder = Path(tempfile.mkdtemp(prefix="partita-read-"))
            out = folder / "data.parquet"
            reader = result.to_arrow_reader(1 << 17)
            write_parquet(reader, out, (), durable=False)
        remove_at_exit(folder)
        return load_as(ds.dataset(str(out), format="parquet"), as_type)

    def _select(
        self,
        key: AssetKey,
        columns: dict[str, str],
        parts: list[PartitionPath],
        con: duckdb.DuckDBPyConnection,
    ) -> tuple[str, list[str]]:
        table = self.table_name(key, current_catalog(con))
        dims = [d for d, _ in parts[0]]
        if not dims:
            return f"SELECT * FROM {table}", []
        wanted = pa.table({d: [dict(p)[d] for p in parts] for d in dims})
        con.register("partita_wanted", wanted)
        joins = []
        for dim in dims:
            column = f"t.{quote_identifier(dim)}"
            if columns.get(dim) != "VARCHAR":
                column = f"CAST({column} AS VARCHAR)"
            joins.append(f"{column} = w.{quote_identifier(dim)}")
        on = " AND ".join(joins)
        # a join may reorder rows; rowid keeps each partition's rows as written, so a
        # read hashes to the recorded data version (``partita verify``)
        query = f"SELECT t.* FROM {table} AS t SEMI JOIN partita_wanted AS w ON {on}"
        return f"{query} ORDER BY t.rowid", []

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows (without added dimension columns), as ``as_type``."""
        return load_as(ds.dataset(staged.handle, format="parquet"), as_type)


def _pause_before_commit(marker: str) -> None:
    """The ``PARTITA_TEST_PAUSE_IN_PUBLISH`` hook: create ``marker``, then sleep."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(_PAUSE_SECONDS)
