"""DeltaStore: one Delta Lake table per asset (``pip install 'partita[delta]'``).

Layout: ``<root>/<asset/key>/`` is a Delta table (``_delta_log/`` and its
Parquet files), partitioned by the asset's partition dimensions (a dimension
the data lacks is added as a string column). ``root`` is a local folder or a
URL of object storage (``s3://bucket/prefix``; credentials as for
:mod:`partita.io.object_store`, read by ``deltalake`` itself).

- ``stage`` streams the rows to a hidden local Parquet file (computing the data
  version and row count), in ``<root>/.partita-staging/`` for a local root or
  the system's temp folder for a URL: the publisher must run on the machine
  that staged (true of the process and thread executors).
- ``publish`` checks the write against the table's schema (the rules of
  :mod:`partita.io.schema`), calls the fence, then writes **one Delta commit**:
  ``mode="overwrite"`` with a predicate on the partition (``replaceWhere``), so
  a reader sees the old partition or the new one, never both or neither. A
  new column is merged into the table schema in the same commit; a column
  that widens (``int32`` to ``int64``...) rewrites the whole table with the
  wider type in one commit (rare, and costs a read of the table).
- Every commit carries ``partita.partition`` and ``partita.data_version`` in
  its metadata, so :meth:`DeltaStore.table_versions` maps materializations to
  Delta versions (``partita history`` shows them: time travel with
  ``DeltaTable(uri, version=N)``).

Publishes of one table are serialized by a lock (a ``flock`` of
``<root>/.partita-staging/<table>.lock`` and a thread lock; for a URL, the
thread lock and Delta's own optimistic commit, which on S3 uses conditional
puts: ``conditional_put=etag``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from partita.datatypes import canonical_type
from partita.errors import StorageError
from partita.io.arrow import load_as, to_arrow_reader, with_partition_columns
from partita.io.asset_schema import AssetSchema
from partita.io.locking import file_lock
from partita.io.object_store import ObjectLocation, is_object_url
from partita.io.parquet import _PAUSE_IN_PUBLISH, _pause_before_rename
from partita.io.paths import PartitionPath, object_segments, partition_label, validate_partition
from partita.io.protocol import (
    PublishFence,
    StagedWrite,
    TableVersion,
    WriteResult,
    schema_json,
)
from partita.io.staging import remove_stale_temps, temp_name, write_parquet
from partita.keys import AssetKey, AssetKeyLike

__all__ = ["DeltaStore", "TableVersion"]

_STAGING = ".partita-staging"
_PARTITION_KEY = "partita.partition"
_VERSION_KEY = "partita.data_version"

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _types(schema: pa.Schema) -> dict[str, str]:
    return {field.name: canonical_type(field.type) for field in schema}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _predicate(partition: PartitionPath) -> str | None:
    """``"date" = '2025-03-01' AND ...`` (dimensions are identifiers; values quoted)."""
    if not partition:
        return None
    return " AND ".join(f'"{dim}" = {_quote(value)}' for dim, value in partition)


def _target_type(name: str, *candidates: pa.DataType) -> pa.DataType:
    """The Arrow type whose canonical name is ``name`` (one of ``candidates`` if any is)."""
    for candidate in candidates:
        if canonical_type(candidate) == name:
            return candidate
    return pa.type_for_alias(name)


def _conform(table: pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """``table`` with each column of ``types`` cast to that type (widening casts only)."""
    for i, field in enumerate(table.schema):
        wanted = types.get(field.name)
        if wanted is not None and wanted != field.type:
            table = table.set_column(i, pa.field(field.name, wanted), table.column(i).cast(wanted))
    return table


class DeltaStore:
    """Partitions as one Delta Lake table per asset under ``root``.

    Args:
        root: a local folder (relative: against the current directory) or a URL
            of object storage (``s3://bucket/prefix``).
        options: ``deltalake`` storage options for a URL (endpoint, region...),
            overriding the environment; kept on the store, so never secrets.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, options: dict[str, str] | None = None
    ) -> None:
        self.remote = is_object_url(root)
        self.root = str(root).rstrip("/") if self.remote else str(Path(root).absolute())
        self.options = dict(options or {})

    def __getstate__(self) -> dict[str, object]:
        return {"root": self.root, "remote": self.remote, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root, self.remote, self.options = state["root"], state["remote"], state["options"]

    def __repr__(self) -> str:
        return f"DeltaStore({self.root!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeltaStore):
            return NotImplemented
        return (self.root, self.options) == (other.root, other.options)

    def __hash__(self) -> int:
        return hash((DeltaStore, self.root))

    def lineage_dataset(self, asset: AssetKeyLike) -> tuple[str, str]:
        """The table's location, as OpenLineage names it (``file`` or ``s3://bucket``)."""
        uri = self.table_uri(asset)
        if not self.remote:
            return "file", uri
        scheme, rest = uri.split("://", 1)
        bucket, _, name = rest.partition("/")
        return f"{scheme}://{bucket}", name

    def check_access(self) -> None:
        """For a URL root, list its prefix once (see :mod:`partita.io.object_store`).

        Raises:
            StorageError: the endpoint, bucket or credentials cannot be used.
        """
        if self.remote:
            ObjectLocation(self.root, self._client_options()).client()

    # -- locations -------------------------------------------------------------------------

    def table_uri(self, asset: AssetKeyLike) -> str:
        """Where the asset's Delta table lives (a folder or a URL)."""
        return "/".join((self.root, *object_segments(AssetKey.parse(asset), ())))

    def _client_options(self) -> dict[str, str]:
        """The options :class:`ObjectLocation` shares with ``deltalake`` (same names)."""
        return {k: v for k, v in self.options.items() if k in ("endpoint", "region")}

    def _storage_options(self) -> dict[str, str] | None:
        if not self.remote:
            return None
        options = {"conditional_put": "etag"}
        endpoint = self.options.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint.startswith("http://"):
            options["allow_http"] = "true"
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            options["region"] = "us-east-1"
        return options | self.options

    def _staging_dir(self) -> Path:
        if self.remote:
            digest = hashlib.sha256(self.root.encode()).hexdigest()[:16]
            folder = Path(tempfile.gettempdir()) / f"partita-delta-{digest}"
        else:
            folder = Path(self.root) / _STAGING
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextlib.contextmanager
    def _lock(self, key: AssetKey) -> Iterator[None]:
        name = f"{self.root}/{key}"
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(name, threading.Lock())
        with lock:
            if self.remote:
                yield
                return
            lock_file = self._staging_dir() / f"{'.'.join(key.path)}.lock"
            with file_lock(lock_file, exclusive=True):
                yield

    def _table(self, key: AssetKey) -> Any:
        """The asset's ``DeltaTable``, ``None`` when there is none yet."""
        from deltalake import DeltaTable  # noqa: PLC0415 - optional dependency
        from deltalake.exceptions import TableNotFoundError  # noqa: PLC0415

        try:
            return DeltaTable(self.table_uri(key), storage_options=self._storage_options())
        except TableNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(
                f"{self.table_uri(key)}: cannot open the Delta table: {exc}",
                hint="check the store's root and, for a URL, the endpoint and credentials",
            ) from None

    @staticmethod
    def _arrow_schema(table: Any) -> pa.Schema:
        return pa.schema(table.schema().to_arrow())

    # -- writing ---------------------------------------------------------------------------

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Stream ``data`` to a hidden local Parquet file (see the module's text).

        Raises:
            StorageError: no data, an invalid partition, a partition column that
                disagrees with ``partition``, or an incompatible type change.
        """
        key = AssetKey.parse(asset)
        part = validate_partition(partition)
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError(f"{key}: no data to store (the asset returned None)")
        existing = self._table(key)
        if existing is not None:  # refuse an incompatible write before writing it
            self._evolve(key, part, existing, _types(reader.schema))
        folder = self._staging_dir()
        remove_stale_temps(folder, "delta")
        path = folder / temp_name("delta")
        staged = write_parquet(reader, path, part, durable=False)
        result = WriteResult(
            data_version=staged.data_version,
            rows=staged.rows,
            bytes=staged.bytes,
            schema=schema_json(staged.schema),
            location=self.table_uri(key),
        )
        return StagedWrite(str(key), part, str(path), result, local_parquet=str(path))

    def _evolve(
        self, key: AssetKey, part: PartitionPath, table: Any, columns: dict[str, str]
    ) -> tuple[AssetSchema, AssetSchema]:
        """The table's schema now and once a write of ``columns`` is published.

        Raises:
            SchemaChangeError: other dimensions, or no safe widening.
        """
        dims = tuple(table.metadata().partition_columns)
        current = AssetSchema(dims, _types(self._arrow_schema(table)))
        where = f"{key} [{partition_label(part)}]"
        with_dims = {**columns, **{d: "string" for d, _ in part if d not in columns}}
        return current, current.evolve([d for d, _ in part], with_dims, str(key), where)

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Replace the partition in one Delta commit (overwrite with a predicate on it).

        Raises:
            SchemaChangeError: the write no longer fits the table's schema.
            StorageError: the staged file is gone.
        """
        from deltalake import CommitProperties, write_deltalake  # noqa: PLC0415

        key = AssetKey.parse(staged.asset)
        part = staged.partition
        path = Path(staged.handle)
        with self._lock(key):
            try:
                data = with_partition_columns(pq.read_table(path), part)
            except FileNotFoundError:
                raise StorageError(
                    f"{staged.asset} [{partition_label(part)}]: the staged data is gone "
                    "(discarded, or removed after its writer crashed)"
                ) from None
            existing = self._table(key)
            dims = [d for d, _ in part]
            mode: dict[str, Any] = {"predicate": _predicate(part), "schema_mode": "merge"}
            if existing is not None:
                current, evolved = self._evolve(key, part, existing, _types(data.schema))
                stored = self._arrow_schema(existing)
                widened = {n for n, t in current.columns.items() if evolved.columns.get(n, t) != t}
                types = {
                    f.name: _target_type(
                        evolved.columns[f.name],
                        f.type,
                        *[d.type for d in data.schema if d.name == f.name],
                    )
                    for f in stored
                }
                data = _conform(data, types)
                if widened:  # one commit rewriting the table with the wider types
                    rest = existing.to_pyarrow_table()
                    if part:
                        rest = rest.filter(self._not_partition(rest, part))
                    rest = _conform(rest, types)
                    data = pa.concat_tables([rest, data], promote_options="permissive")
                    mode = {"predicate": None, "schema_mode": "overwrite"}
            if fence is not None:
                try:
                    fence()
                except BaseException:
                    path.unlink(missing_ok=True)
                    raise
            if _PAUSE_IN_PUBLISH:
                _pause_before_rename(_PAUSE_IN_PUBLISH)
            metadata = {
                _PARTITION_KEY: partition_label(part),
                _VERSION_KEY: staged.result.data_version,
            }
            try:
                write_deltalake(
                    self.table_uri(key),
                    data,
                    partition_by=dims or None,
                    mode="overwrite",
                    storage_options=self._storage_options(),
                    commit_properties=CommitProperties(custom_metadata=metadata),
                    **mode,
                )
            except (OSError, ValueError) as exc:
                raise StorageError(
                    f"{self.table_uri(key)}: the Delta commit failed: {exc}",
                    hint="check the store's root and, for a URL, the endpoint and credentials",
                ) from None
            path.unlink(missing_ok=True)
        return staged.result

    @staticmethod
    def _not_partition(table: pa.Table, part: PartitionPath) -> pa.Array:
        import pyarrow.compute as pc  # noqa: PLC0415

        same = None
        for dim, value in part:
            equal = pc.equal(pc.cast(table.column(dim), pa.string()), value)
            same = equal if same is None else pc.and_(same, equal)
        return pc.invert(pc.fill_null(same, False))

    def discard(self, staged: StagedWrite) -> None:
        """Remove the staged file; the table is untouched."""
        Path(staged.handle).unlink(missing_ok=True)

    def write(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> WriteResult:
        """Replace one partition with ``data`` (``stage`` + ``publish``)."""
        from partita.io.protocol import write_partition  # noqa: PLC0415

        return write_partition(self, asset, partition, data)

    # -- reading ---------------------------------------------------------------------------

    def read(
        self, asset: AssetKeyLike, partitions: Sequence[PartitionPath], as_type: Any = None
    ) -> Any:
        """The rows of ``partitions`` from the table's current version, as ``as_type``.

        Raises:
            StorageError: a partition is not stored, or partitions disagree on
                their dimensions.
        """
        key = AssetKey.parse(asset)
        parts = [validate_partition(p) for p in partitions]
        if not parts:
            raise StorageError(f"{key}: no partitions to read")
        if len({tuple(d for d, _ in p) for p in parts}) > 1:
            raise StorageError(f"{key}: partitions to read have different dimensions")
        table = self._table(key)
        stored = set(self._partitions_of(table)) if table is not None else set()
        missing = [p for p in parts if p not in stored]
        if missing:
            raise StorageError(
                f"{key}: partition {partition_label(missing[0])} is not stored "
                f"({len(missing)} of {len(parts)} requested partitions missing)",
                hint="materialize it first",
            )
        with warnings.catch_warnings():
            # ``partitions=`` compares partition values as text (``filters=`` would compare a
            # date column with a string and fail); it prunes files by the log's values
            warnings.simplefilter("ignore", DeprecationWarning)
            tables = [
                table.to_pyarrow_table(partitions=[(d, "=", v) for d, v in p] or None)
                for p in parts
            ]
        return load_as(pa.concat_tables(tables, promote_options="permissive"), as_type)

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows, exactly as staged."""
        try:
            return load_as(pq.read_table(staged.handle), as_type)
        except FileNotFoundError:
            raise StorageError(
                f"{staged.asset} [{partition_label(staged.partition)}]: the staged data is gone"
            ) from None

    @staticmethod
    def _partitions_of(table: Any) -> list[PartitionPath]:
        dims = list(table.metadata().partition_columns)
        if not dims:
            return [()] if table.count() > 0 or table.file_uris() else []
        found = {tuple((d, str(values[d])) for d in dims) for values in table.partitions()}
        return sorted(found)

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every partition of the table's current version, sorted."""
        table = self._table(AssetKey.parse(asset))
        return [] if table is None else self._partitions_of(table)

    def table_versions(self, asset: AssetKeyLike) -> list[TableVersion]:
        """Every commit of the asset's table that published a partition, newest first."""
        table = self._table(AssetKey.parse(asset))
        if table is None:
            return []
        found: list[TableVersion] = []
        for commit in table.history():
            if _PARTITION_KEY not in commit or "version" not in commit:
                continue
            at = datetime.fromtimestamp(int(commit.get("timestamp", 0)) / 1000, UTC)
            found.append(
                TableVersion(
                    int(commit["version"]),
                    str(commit[_PARTITION_KEY]),
                    str(commit.get(_VERSION_KEY, "")),
                    at,
                )
            )
        return sorted(found, key=lambda v: v.version, reverse=True)

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Delete one partition (a Delta delete commit), or the whole table with its history."""
        key = AssetKey.parse(asset)
        with self._lock(key):
            table = self._table(key)
            if table is None:
                return
            if partition is not None:
                part = validate_partition(partition)
                if part in self._partitions_of(table):
                    table.delete(_predicate(part))
                return
            if not self.remote:
                shutil.rmtree(self.table_uri(key), ignore_errors=True)
                return
            location = ObjectLocation(self.table_uri(key), self._client_options())
            location.delete([meta["path"] for meta in location.list_all(None)])
