"""ParquetStore: one Parquet file per partition in a Hive-style folder layout.

Layout: ``<root>/<asset/key>/<dim>=<value>/.../data.parquet`` (dimensions nest
in declared order; an unpartitioned asset is ``<root>/<asset/key>/data.parquet``).
Values are percent-encoded (see :mod:`partita.io.paths`).

Publishing is ``os.replace`` of a fully written, fsynced temp file in the same
folder, then an fsync of the folder (the runner does both for a batch of steps
at once: :class:`~partita.io.protocol.GroupCommitStore`): readers see the old
file or the new one, never a mix, and a writer killed at any point leaves the previous version in
place (its hidden temp file is removed by the next write of that partition and
is never read). A partition folder the write creates is made durable too: its
parent folder is fsynced once, after the staged file's own fsync (on a
journaling filesystem that fsync has already committed the new folder, so the
parent's costs little).

Each write is checked against the schema of the whole asset (every published
partition), recorded in the asset folder (see :mod:`partita.io.asset_schema`):
once when it is staged, and again under the asset's lock (a ``flock`` of its folder)
when it is published, where a schema the write changes is recorded before the
file is renamed into place. A safe widening is accepted as it is (each file
keeps its own types; reading several partitions unifies them to the wider type).

No operation follows a symbolic link out of the root (see
:mod:`partita.io.confinement`).

Reading one partition as a pandas DataFrame or Arrow table reads its file
directly; several partitions (or a lazy type) are one ``pyarrow.dataset`` scan.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from partita.datatypes import canonical_type
from partita.errors import SchemaChangeError, StorageError
from partita.io.arrow import (
    THREADED_ROWS,
    load_as,
    resolve_type,
    to_arrow_reader,
    with_partition_columns,
)
from partita.io.asset_schema import AssetSchema, SchemaRecords, unify_published
from partita.io.confinement import RootConfinement
from partita.io.locking import folder_lock
from partita.io.object_store import is_object_url
from partita.io.paths import PartitionPath, decode_segment, partition_label, validate_partition
from partita.io.protocol import (
    PublishFence,
    StagedWrite,
    WriteResult,
    schema_json,
    write_partition,
)
from partita.io.staging import (
    fsync_all,
    fsync_path,
    remove_stale_temps,
    temp_name,
    write_parquet,
)
from partita.keys import AssetKey, AssetKeyLike

__all__ = ["DATA_FILE", "ParquetStore"]

DATA_FILE = "data.parquet"


def _types(schema: pa.Schema) -> dict[str, str]:
    return {field.name: canonical_type(field.type) for field in schema}


_PAUSE_IN_PUBLISH = os.environ.get("PARTITA_TEST_PAUSE_IN_PUBLISH", "")
"""Test hook (read once at import): when set to a file path, ``publish`` creates that
file after recording the asset's schema and before renaming the data into place,
holding the asset's lock, then sleeps :data:`_PAUSE_SECONDS`, so a crash test can
kill the process exactly there. Unset (the normal case) it costs one string test."""
_PAUSE_SECONDS = 60.0


def _read_file(path: Path) -> pa.Table:
    """The whole of one Parquet file, read directly (no dataset discovery)."""
    with pq.ParquetFile(path) as file:
        table: pa.Table = file.read(use_threads=file.metadata.num_rows >= THREADED_ROWS)
    return table


class ParquetStore:
    """Partitions as Parquet files under ``root`` (a local folder, or object storage).

    Args:
        root: the store's folder; a relative path is resolved against the
            current directory when the store is constructed. A URL of object
            storage (``s3://bucket/prefix``, ``gs://``, ``az://``...) makes an
            :class:`~partita.io.object_parquet.ObjectParquetStore` (same
            protocol; it publishes with a conditionally put pointer).
        durable: fsync files and folders on publish (on by default; turning it
            off keeps crash safety against killed processes but not against
            power loss).
        options: for object storage only: client settings (``endpoint``,
            ``region``...) overriding the environment; never secrets.

    The store holds only a path and settings, so it pickles to worker processes.
    """

    def __new__(cls, root: object = None, *args: object, **kwargs: object) -> ParquetStore:
        if cls is ParquetStore and is_object_url(root):
            from partita.io.object_parquet import ObjectParquetStore  # noqa: PLC0415 - cycle

            return super().__new__(ObjectParquetStore)
        return super().__new__(cls)

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        durable: bool = True,
        options: Mapping[str, str] | None = None,
    ) -> None:
        if options:
            raise StorageError(
                f"{root}: options are for object storage, not a local folder",
                hint="name the store by its URL (s3://bucket/prefix) or drop options=",
            )
        self.root = Path(root).absolute()
        self.durable = durable
        self._confined = RootConfinement(self.root)
        self._records = SchemaRecords(durable=durable)

    def __getstate__(self) -> dict[str, object]:
        # what is remembered (checked folders, schema records) is per process
        return {"root": self.root, "durable": self.durable}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self.durable = state["durable"]
        self._confined = RootConfinement(self.root)
        self._records = SchemaRecords(durable=self.durable)

    def __repr__(self) -> str:
        return f"ParquetStore({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParquetStore):
            return NotImplemented
        return (self.root, self.durable) == (other.root, other.durable)

    def __hash__(self) -> int:
        return hash((ParquetStore, self.root, self.durable))

    def lineage_dataset(self, asset: AssetKeyLike) -> tuple[str, str]:
        """``("file", "<root>/<asset/key>")``: the asset's folder, as OpenLineage names it
        (:class:`~partita.io.protocol.LineageNamedStore`)."""
        return "file", str(self.root.joinpath(*AssetKey.parse(asset).path))

    # -- writing ---------------------------------------------------------------------------

    def _make_dirs(self, folder: Path) -> list[Path]:
        """Create ``folder`` and missing parents; return the folders that now
        hold a new entry (each created folder's parent), to fsync once."""
        missing: list[Path] = []
        parent = folder
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        folder.mkdir(parents=True, exist_ok=True)
        return [created.parent for created in reversed(missing)]

    def _data_file(self, key: AssetKey, partition: PartitionPath) -> Path:
        """The partition's data file; no link on the way leaves the root."""
        path = self._confined.partition_dir(key, partition) / DATA_FILE
        self._confined.check(path)
        return path

    def _asset_lock(self, folder: Path) -> AbstractContextManager[None]:
        """The asset's exclusive lock: a ``flock`` of its folder (which must exist)."""
        return folder_lock(folder)

    def _published_schema(self, key: AssetKey) -> AssetSchema | None:
        """The asset's schema read from the footers of all its published files."""
        files = [(part, self._data_file(key, part)) for part in self.list_partitions(key)]
        return unify_published(files, str(key))

    def _evolved(
        self, key: AssetKey, folder: Path, partition: PartitionPath, columns: dict[str, str]
    ) -> tuple[AssetSchema, AssetSchema | None]:
        """The asset's schema once a write of ``columns`` is published, and its record now.

        The record decides when it takes the write; when it refuses (or is
        missing), the published files do (see :mod:`partita.io.asset_schema`).

        Raises:
            SchemaChangeError: the write does not fit the published files.
        """
        where = f"{key} [{partition_label(partition)}]"
        dims = [d for d, _ in partition]
        recorded = self._records.read(folder)
        if recorded is not None:
            try:
                return recorded.evolve(dims, columns, str(key), where), recorded
            except SchemaChangeError:
                pass  # the record may be wider than the files: they decide
        published = self._published_schema(key)
        if published is None:
            return AssetSchema(tuple(dims), columns), recorded
        return published.evolve(dims, columns, str(key), where), recorded

    def _record_schema(
        self,
        key: AssetKey,
        partition: PartitionPath,
        columns: dict[str, str],
        *,
        sync_folder: bool = True,
    ) -> None:
        """Check a write of ``columns`` against the asset's schema; record the result if new.

        Called with the asset's lock held: when staging (if the write changes the
        schema) and again when publishing, before the data is renamed into place.
        ``sync_folder=False`` leaves the asset folder's fsync to the caller.
        """
        folder = self._confined.asset_dir(key)
        evolved, recorded = self._evolved(key, folder, partition, columns)
        if evolved != recorded:
            self._records.write(folder, evolved, sync_folder=sync_folder)

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Stream ``data`` to a hidden temp file next to the partition's file.

        Raises:
            StorageError: no data (``None``), an invalid partition, a partition
                column that disagrees with ``partition``, or an incompatible
                change of a column's type.
        """
        return self._stage(asset, partition, data, sync=self.durable)

    def stage_unsynced(
        self, asset: AssetKeyLike, partition: PartitionPath, data: object
    ) -> StagedWrite:
        """:meth:`stage` without any fsync: :meth:`sync_staged` makes the file and the
        folders it created durable later (group commit)."""
        return self._stage(asset, partition, data, sync=False)

    def _stage(
        self, asset: AssetKeyLike, partition: PartitionPath, data: object, *, sync: bool
    ) -> StagedWrite:
        key = AssetKey.parse(asset)
        part = validate_partition(partition)
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError(f"{key}: no data to store (the asset returned None)")
        data_file = self._data_file(key, part)
        folder, top = data_file.parent, self._confined.asset_dir(key)
        columns = _types(reader.schema)
        evolved, recorded = self._evolved(key, top, part, columns)
        new_entries = self._make_dirs(folder)
        if not new_entries:  # a new folder holds no leftovers
            remove_stale_temps(folder, DATA_FILE)
        if evolved != recorded:  # recorded now, so that a new folder's fsync covers it
            with self._asset_lock(top):
                sync_top = sync and top not in new_entries
                self._record_schema(key, part, columns, sync_folder=sync_top)
        temp = folder / temp_name(DATA_FILE)
        staged = write_parquet(reader, temp, part, durable=sync)
        if sync:
            # after the file's fsync, which on ext4/xfs already committed the mkdir
            for parent in new_entries:
                fsync_path(parent)
        result = WriteResult(
            data_version=staged.data_version,
            rows=staged.rows,
            bytes=staged.bytes,
            schema=schema_json(staged.schema),
            location=str(data_file),
        )
        return StagedWrite(str(key), part, str(temp), result, local_parquet=str(temp))

    def sync_staged(self, staged: Sequence[StagedWrite]) -> None:
        """fsync the staged files, then every folder above their partition folders up to
        the root's parent, each once, in parallel (nothing when not ``durable``).

        Whoever created a folder on the way (this write, or another one staged
        at the same time in another process), its entry is durable before the
        write is published; the asset's schema record too (its folder is among
        them). A folder with nothing new costs little to fsync.
        """
        if not self.durable:
            return
        fsync_all([Path(s.handle) for s in staged])
        folders: list[Path] = []
        for one in staged:
            folder = Path(one.result.location).parent
            while folder not in (self.root.parent, folder.parent):
                folder = folder.parent
                folders.append(folder)
        fsync_all(folders)

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Atomically replace the partition's file with the staged one.

        Under the asset's lock, the write is checked again against the asset's
        schema (another write may have been published since it was staged), and
        a schema it changes is recorded before the file is renamed into place.
        A ``fence`` is called under the same lock, just before the rename: when it
        raises, the staged file is removed and nothing is published.

        Raises:
            SchemaChangeError: the write no longer fits the asset's schema.
            StorageError: the staged file is gone.
        """
        result = self.publish_unsynced(staged, fence)
        if self.durable:
            fsync_path(Path(staged.result.location).parent)
        return result

    def publish_unsynced(
        self, staged: StagedWrite, fence: PublishFence | None = None
    ) -> WriteResult:
        """:meth:`publish` without the folder's fsync (:meth:`sync_published` does it)."""
        temp, final = Path(staged.handle), Path(staged.result.location)
        folder = self._confined.asset_dir(AssetKey.parse(staged.asset))
        try:
            with self._asset_lock(folder):
                columns = {f["name"]: f["type"] for f in staged.result.schema_fields()}
                self._record_schema(AssetKey.parse(staged.asset), staged.partition, columns)
                if _PAUSE_IN_PUBLISH:
                    _pause_before_rename(_PAUSE_IN_PUBLISH)
                if fence is not None:
                    try:
                        fence()
                    except BaseException:
                        temp.unlink(missing_ok=True)
                        raise
                temp.replace(final)
        except FileNotFoundError:
            raise StorageError(
                f"{staged.asset} [{partition_label(staged.partition)}]: the staged data is "
                "gone (discarded, or removed after its writer crashed)"
            ) from None
        return staged.result

    def sync_published(self, published: Sequence[StagedWrite]) -> None:
        """fsync each folder a file of ``published`` was renamed into, in parallel."""
        if self.durable:
            fsync_all([Path(s.result.location).parent for s in published])

    def discard(self, staged: StagedWrite) -> None:
        """Remove the staged file; the published partition is untouched."""
        Path(staged.handle).unlink(missing_ok=True)

    def write(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> WriteResult:
        """Replace one partition with ``data`` (:func:`~partita.io.protocol.write_partition`)."""
        return write_partition(self, asset, partition, data)

    # -- reading ---------------------------------------------------------------------------

    def dataset(self, asset: AssetKeyLike, partitions: Sequence[PartitionPath]) -> ds.Dataset:
        """One ``pyarrow.dataset`` over the files of ``partitions`` (lazy).

        Dimensions become string columns (e.g. ``date``) unless the data has a
        column of that name. Schemas of the files are unified: a column added
        later reads as nulls in older partitions.

        Raises:
            StorageError: a partition is not stored, or partitions disagree on
                their dimensions or a column's type.
        """
        key = AssetKey.parse(asset)
        parts = [validate_partition(p) for p in partitions]
        if not parts:
            raise StorageError(f"{key}: no partitions to read")
        dims = [d for d, _ in parts[0]]
        files: list[str] = []
        for part in parts:
            if [d for d, _ in part] != dims:
                raise StorageError(f"{key}: partitions to read have different dimensions")
            files.append(str(self._data_file(key, part)))
        try:
            schemas = [pq.read_schema(f) for f in files]
        except FileNotFoundError as exc:
            missing = [p for p, f in zip(parts, files, strict=True) if not Path(f).is_file()]
            raise StorageError(
                f"{key}: partition {partition_label(missing[0]) if missing else '?'} is not "
                f"stored ({len(missing)} of {len(files)} requested partitions missing)",
                hint="materialize it first",
            ) from exc
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive")
        except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
            raise StorageError(f"{key}: partitions have incompatible schemas: {exc}") from exc
        added = [d for d in dims if d not in schema.names]
        partitioning = None
        if added:
            fields = pa.schema([(d, pa.string()) for d in added])
            partitioning = ds.partitioning(fields, flavor="hive")
            schema = pa.unify_schemas([schema, fields])
        return ds.dataset(
            files,
            schema=schema,
            format="parquet",
            partitioning=partitioning,
            partition_base_dir=str(self._confined.asset_dir(key)),
        )

    def read(
        self, asset: AssetKeyLike, partitions: Sequence[PartitionPath], as_type: Any = None
    ) -> Any:
        """The rows of ``partitions`` in one scan, as ``as_type`` (pandas by default).

        A ``duckdb.DuckDBPyRelation`` is lazy: DuckDB scans the files when the
        relation is queried. One partition read as pandas or Arrow reads its
        file directly, with the same result as the scan.

        Raises:
            StorageError: as :meth:`dataset`.
        """
        if len(partitions) == 1 and resolve_type(as_type) in ("pandas", "table"):
            key = AssetKey.parse(asset)
            part = validate_partition(partitions[0])
            path = self._data_file(key, part)
            try:
                table = _read_file(path)
            except FileNotFoundError:
                raise StorageError(
                    f"{key}: partition {partition_label(part)} is not stored "
                    "(1 of 1 requested partitions missing)",
                    hint="materialize it first",
                ) from None
            return load_as(with_partition_columns(table, part), as_type)
        return load_as(self.dataset(asset, partitions), as_type)

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows, as ``as_type`` (for checks before publishing)."""
        if resolve_type(as_type) in ("pandas", "table"):
            return load_as(_read_file(Path(staged.handle)), as_type)
        return load_as(ds.dataset(staged.handle, format="parquet"), as_type)

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every published partition of ``asset``, sorted.

        Raises:
            StorageError: a folder or data file of the asset is a link out of the root.
        """
        key = AssetKey.parse(asset)
        found: list[PartitionPath] = []

        def walk(folder: Path, partition: PartitionPath) -> None:
            data = folder / DATA_FILE
            self._confined.check(data)
            if data.is_file():
                found.append(partition)
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                return
            for entry in entries:
                segment = decode_segment(entry.name)
                if segment is None:
                    continue
                if entry.is_symlink():
                    self._confined.check(Path(entry.path))
                if entry.is_dir():
                    walk(Path(entry.path), (*partition, segment))

        walk(self._confined.asset_dir(key), ())
        return sorted(found)

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Remove one partition's file (and emptied folders), or all of ``asset``'s.

        Deleting the whole asset also removes its schema record (holding the
        asset's lock), so the next write starts afresh; deleting a partition
        keeps the record, which then may be wider than the files left (the next
        write it refuses is checked against the files themselves).

        Raises:
            StorageError: a folder or data file of the asset is a link out of the root.
        """
        key = AssetKey.parse(asset)
        if partition is not None:
            self._delete_partition(key, validate_partition(partition))
            return
        top = self._confined.asset_dir(key)
        if not top.is_dir():
            return
        with self._asset_lock(top):
            for part in self.list_partitions(key):
                self._delete_partition(key, part)
            self._records.remove(top)

    def _delete_partition(self, key: AssetKey, partition: PartitionPath) -> None:
        data = self._data_file(key, partition)
        folder = data.parent
        data.unlink(missing_ok=True)
        remove_stale_temps(folder, DATA_FILE)
        top = self._confined.asset_dir(key)
        while folder != top:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
        if self.durable and folder.exists():
            fsync_path(folder)


def _pause_before_rename(marker: str) -> None:
    """The ``PARTITA_TEST_PAUSE_IN_PUBLISH`` hook: create ``marker``, then sleep."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(_PAUSE_SECONDS)
