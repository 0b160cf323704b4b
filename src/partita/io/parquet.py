"""ParquetStore: one Parquet file per partition in a Hive-style folder layout.

Layout: ``<root>/<asset/key>/<dim>=<value>/.../data.parquet`` (dimensions nest
in declared order; an unpartitioned asset is ``<root>/<asset/key>/data.parquet``).
Values are percent-encoded (see :mod:`partita.io.paths`).

Publishing is ``os.replace`` of a fully written, fsynced temp file in the same
folder, then an fsync of the folder: readers see the old file or the new one,
never a mix, and a writer killed at any point leaves the previous version in
place (its hidden temp file is removed by the next write of that partition and
is never read). A partition folder the write creates is made durable too: its
parent folder is fsynced once, after the staged file's own fsync (on a
journaling filesystem that fsync has already committed the new folder, so the
parent's costs little).

Each write's schema is checked against a published file of the asset (see
:mod:`partita.io.schema`): a safe widening is accepted as it is (each file
keeps its own types; reading several partitions unifies them to the wider
type). The store remembers that file's schema per asset, with the file's
identity (device, inode, size, modification and change times): a later write
reuses it while the file is unchanged, and reads the folder again once another
writer (in any process) has replaced or removed that file.

Reading one partition as a pandas DataFrame or Arrow table reads its file
directly; several partitions (or a lazy type) are one ``pyarrow.dataset`` scan.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from partita.datatypes import canonical_type
from partita.errors import SchemaChangeError, StorageError
from partita.io.arrow import THREADED_ROWS, load_as, resolve_type, to_arrow_reader
from partita.io.locking import folder_lock
from partita.io.paths import (
    PartitionPath,
    asset_dir,
    decode_segment,
    partition_dir,
    partition_label,
    validate_partition,
)
from partita.io.protocol import (
    PublishFence,
    StagedWrite,
    WriteResult,
    schema_json,
    write_partition,
)
from partita.io.schema import check_evolution, wipe_hint
from partita.io.staging import fsync_path, remove_stale_temps, temp_name, write_parquet
from partita.keys import AssetKey, AssetKeyLike

__all__ = ["DATA_FILE", "ParquetStore"]

DATA_FILE = "data.parquet"


def _types(schema: pa.Schema) -> dict[str, str]:
    return {field.name: canonical_type(field.type) for field in schema}


def _fenced_replace(temp: Path, final: Path, fence: PublishFence) -> None:
    """Rename ``temp`` to ``final`` if ``fence()`` lets it, both under the folder's lock;
    a refused publish removes ``temp``."""
    with folder_lock(final.parent):
        try:
            fence()
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        temp.replace(final)


FileStamp = tuple[int, int, int, int, int]
"""``(device, inode, size, mtime_ns, ctime_ns)`` of a file: a new one on any replace."""


def _stamp(stat: os.stat_result) -> FileStamp:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass(frozen=True, slots=True)
class _KnownSchema:
    """The schema of one published file of an asset, as last read by this store."""

    path: Path
    partition: PartitionPath
    types: dict[str, str]
    stamp: FileStamp

    def still_valid(self) -> bool:
        """True while the file is the one that was read (not replaced, not removed)."""
        try:
            return _stamp(self.path.stat()) == self.stamp
        except FileNotFoundError:
            return False


def _read_file(path: Path) -> pa.Table:
    """The whole of one Parquet file, read directly (no dataset discovery)."""
    with pq.ParquetFile(path) as file:
        table: pa.Table = file.read(use_threads=file.metadata.num_rows >= THREADED_ROWS)
    return table


def _with_partition_columns(table: pa.Table, partition: PartitionPath) -> pa.Table:
    """Append each dimension as a string column, unless the data has one of that name."""
    for dim, value in partition:
        if dim not in table.schema.names:
            column = pa.repeat(pa.scalar(value, pa.string()), table.num_rows)
            table = table.append_column(pa.field(dim, pa.string()), column)
    return table


class ParquetStore:
    """Partitions as Parquet files under ``root`` (a local folder).

    Args:
        root: the store's folder; a relative path is resolved against the
            current directory when the store is constructed.
        durable: fsync files and folders on publish (on by default; turning it
            off keeps crash safety against killed processes but not against
            power loss).

    The store holds only a path and settings, so it pickles to worker processes.
    """

    def __init__(self, root: str | os.PathLike[str], *, durable: bool = True) -> None:
        self.root = Path(root).absolute()
        self.durable = durable
        self._known: dict[AssetKey, _KnownSchema] = {}

    def __getstate__(self) -> dict[str, object]:
        # the schema cache is per process: a worker starts with its own
        return {"root": self.root, "durable": self.durable}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.root = state["root"]
        self.durable = state["durable"]
        self._known = {}

    def __repr__(self) -> str:
        return f"ParquetStore({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParquetStore):
            return NotImplemented
        return (self.root, self.durable) == (other.root, other.durable)

    def __hash__(self) -> int:
        return hash((ParquetStore, self.root, self.durable))

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

    def _first_published(self, key: AssetKey) -> tuple[Path, PartitionPath] | None:
        """Any one published file of ``key`` (the first in name order) and its partition.

        Folders without a data file (left by a write that failed after creating
        its folder) are skipped, so they cannot switch the schema check off.
        """

        def walk(folder: Path, partition: PartitionPath) -> tuple[Path, PartitionPath] | None:
            if (folder / DATA_FILE).is_file():
                return folder / DATA_FILE, partition
            try:
                names = sorted(e.name for e in os.scandir(folder) if e.is_dir())
            except FileNotFoundError:
                return None
            for name in names:
                segment = decode_segment(name)
                if segment is not None:
                    found = walk(folder / name, (*partition, segment))
                    if found is not None:
                        return found
            return None

        return walk(asset_dir(self.root, key), ())

    def _known_schema(self, key: AssetKey) -> _KnownSchema | None:
        """The schema of a published file of ``key`` (cached while that file is unchanged)."""
        known = self._known.get(key)
        if known is not None and known.still_valid():
            return known
        self._known.pop(key, None)
        found = self._first_published(key)
        if found is None:
            return None
        path, partition = found
        try:
            with path.open("rb") as file:
                stamp = _stamp(os.fstat(file.fileno()))
                schema = pq.read_schema(file)
        except FileNotFoundError:  # removed meanwhile: nothing to compare with
            return None
        known = _KnownSchema(path, partition, _types(schema), stamp)
        self._known[key] = known
        return known

    def _check_against_published(
        self, key: AssetKey, partition: PartitionPath, schema: pa.Schema
    ) -> None:
        known = self._known_schema(key)
        if known is None:
            return
        existing = [d for d, _ in known.partition]
        where = f"{key} [{partition_label(partition)}]"
        if existing != [d for d, _ in partition]:
            raise SchemaChangeError(
                f"{where}: the asset is stored with partition dimensions "
                f"{existing}, not {[d for d, _ in partition]}",
                hint=wipe_hint(str(key)),
            )
        # a widened column needs nothing here: each file keeps its own types and
        # reads unify them (see dataset)
        check_evolution(known.types, _types(schema), str(key), where)

    def stage(self, asset: AssetKeyLike, partition: PartitionPath, data: object) -> StagedWrite:
        """Stream ``data`` to a hidden temp file next to the partition's file.

        Raises:
            StorageError: no data (``None``), an invalid partition, a partition
                column that disagrees with ``partition``, or an incompatible
                change of a column's type.
        """
        key = AssetKey.parse(asset)
        part = validate_partition(partition)
        reader = to_arrow_reader(data)
        if reader is None:
            raise StorageError(f"{key}: no data to store (the asset returned None)")
        folder = partition_dir(self.root, key, part)
        self._check_against_published(key, part, reader.schema)
        new_entries = self._make_dirs(folder)
        if not new_entries:  # a new folder holds no leftovers
            remove_stale_temps(folder, DATA_FILE)
        temp = folder / temp_name(DATA_FILE)
        staged = write_parquet(reader, temp, part, durable=self.durable)
        if self.durable:
            # after the file's fsync, which on ext4/xfs already committed the mkdir
            for parent in new_entries:
                fsync_path(parent)
        result = WriteResult(
            data_version=staged.data_version,
            rows=staged.rows,
            bytes=staged.bytes,
            schema=schema_json(staged.schema),
            location=str(folder / DATA_FILE),
        )
        return StagedWrite(str(key), part, str(temp), result, local_parquet=str(temp))

    def publish(self, staged: StagedWrite, fence: PublishFence | None = None) -> WriteResult:
        """Atomically replace the partition's file with the staged one.

        A ``fence`` is called holding a lock on the partition's folder, and the
        rename happens under the same lock.
        """
        temp, final = Path(staged.handle), Path(staged.result.location)
        try:
            if fence is None:
                temp.replace(final)
            else:
                _fenced_replace(temp, final, fence)
        except FileNotFoundError:
            raise StorageError(
                f"{staged.asset} [{partition_label(staged.partition)}]: the staged data is "
                "gone (discarded, or removed after its writer crashed)"
            ) from None
        if self.durable:
            fsync_path(final.parent)
        return staged.result

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
            files.append(str(partition_dir(self.root, key, part) / DATA_FILE))
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
            partition_base_dir=str(asset_dir(self.root, key)),
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
            path = partition_dir(self.root, key, part) / DATA_FILE
            try:
                table = _read_file(path)
            except FileNotFoundError:
                raise StorageError(
                    f"{key}: partition {partition_label(part)} is not stored "
                    "(1 of 1 requested partitions missing)",
                    hint="materialize it first",
                ) from None
            return load_as(_with_partition_columns(table, part), as_type)
        return load_as(self.dataset(asset, partitions), as_type)

    def read_staged(self, staged: StagedWrite, as_type: Any = None) -> Any:
        """The staged rows, as ``as_type`` (for checks before publishing)."""
        if resolve_type(as_type) in ("pandas", "table"):
            return load_as(_read_file(Path(staged.handle)), as_type)
        return load_as(ds.dataset(staged.handle, format="parquet"), as_type)

    def list_partitions(self, asset: AssetKeyLike) -> list[PartitionPath]:
        """Every published partition of ``asset``, sorted."""
        key = AssetKey.parse(asset)
        found: list[PartitionPath] = []

        def walk(folder: Path, partition: PartitionPath) -> None:
            if (folder / DATA_FILE).is_file():
                found.append(partition)
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                return
            for entry in entries:
                segment = decode_segment(entry.name)
                if segment is not None and entry.is_dir():
                    walk(Path(entry.path), (*partition, segment))

        walk(asset_dir(self.root, key), ())
        return sorted(found)

    def delete(self, asset: AssetKeyLike, partition: PartitionPath | None = None) -> None:
        """Remove one partition's file (and emptied folders), or all of ``asset``'s."""
        key = AssetKey.parse(asset)
        if partition is None:
            for part in self.list_partitions(key):
                self.delete(key, part)
            return
        folder = partition_dir(self.root, key, validate_partition(partition))
        (folder / DATA_FILE).unlink(missing_ok=True)
        remove_stale_temps(folder, DATA_FILE)
        top = asset_dir(self.root, key)
        while folder != top:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
        if self.durable and folder.exists():
            fsync_path(folder)
